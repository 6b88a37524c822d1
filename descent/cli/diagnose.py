"""`descent jobs diagnose JOB`: the per-layer diagnostics of every epoch as a table, then the
job's warnings (docs/api.md "Diagnostics")."""

from __future__ import annotations

import argparse

from ..api import Client
from .output import emit_json, number, table

HEADERS = ["EPOCH", "LAYER", "ACTIVATION", "GRAD_NORM", "WEIGHT_NORM", "UPDATE_RATIO", "DEAD",
           "SATURATED"]


def diagnose_job(args: argparse.Namespace, client: Client) -> int:
    rows = client.history(args.id, diagnostics=True)
    warnings = list(client.get_job(args.id).raw.get("warnings") or [])
    blocks = [(r.epoch, r.raw.get("diagnostics")) for r in rows]
    if args.json:
        emit_json({"epochs": [{"epoch": e, **(b or {})} for e, b in blocks],
                   "warnings": warnings})
        return 0
    if not any(b for _, b in blocks):
        print("no diagnostics (the job has no finished epoch yet, or it ran with "
              "training.diagnostics false)")
    else:
        table(HEADERS, [
            [epoch, layer["layer"], layer["activation"], number(layer["grad_norm"]),
             number(layer["weight_norm"]), number(layer["update_ratio"]),
             _fraction(layer["dead"]), _fraction(layer["saturated"])]
            for epoch, block in blocks if block for layer in block["layers"]])
    print("warnings: none" if not warnings else "warnings:")
    for warning in warnings:
        print(f"  - {warning}")
    return 0


def _fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
