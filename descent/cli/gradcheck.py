"""`descent jobs gradcheck SPEC.json`: backprop against central differences, per layer."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..api import Client
from .output import emit_json, fields, table


def add_parser(actions: Any, common: argparse.ArgumentParser,
               add_spec_options: Callable[[argparse.ArgumentParser], None]) -> None:
    check = actions.add_parser("gradcheck", parents=[common], help="check the network's "
                               "gradients on a sample of its data (exit 1 if a layer fails)")
    add_spec_options(check)
    check.add_argument("--rows", type=int, help="training rows sampled (server default 64)")
    check.add_argument("--parameters", type=int, help="weights, and as many biases, sampled "
                       "per layer (server default 10)")
    check.set_defaults(handler=gradcheck_job)


def gradcheck_job(args: argparse.Namespace, client: Client) -> int:
    from .jobs import build_spec

    report = client.gradcheck(build_spec(args), rows=args.rows, parameters=args.parameters)
    if args.json:
        emit_json(report)
    else:
        table(["layer", "shape", "activation", "checked", "max rel. error", "passed"], [
            (layer["layer"], "×".join(map(str, layer["shape"])), layer["activation"],
             layer["checked"], _error(layer["max_relative_error"]),
             "yes" if layer["passed"] else "NO") for layer in report["layers"]])
        fields([("rows", report["rows"]), ("tolerance", report["tolerance"]),
                ("passed", "yes" if report["passed"] else "no")])
    return 0 if report["passed"] else 1


def _error(value: float | None) -> str:
    return "n/a (not finite)" if value is None else f"{value:.2e}"
