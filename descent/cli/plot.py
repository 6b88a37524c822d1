"""`descent plot JOB -o loss.png`: training and validation loss per epoch (matplotlib, Agg)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..api import Client
from .output import UsageError, emit_json, say


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("plot", parents=[common], help="plot a job's loss curves")
    parser.add_argument("job", help="job id (job_…)")
    parser.add_argument("-o", "--output", type=Path, default=Path("loss.png"),
                        help="image file to write (default loss.png; .png, .svg or .pdf)")
    parser.add_argument("--log", action="store_true", help="logarithmic loss axis")
    parser.set_defaults(handler=plot_job)


def plot_job(args: argparse.Namespace, client: Client) -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed, works on servers and in CI
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plotting needs matplotlib, which Descent's `plot` extra installs: "
                         "pip install -e '.[plot]' in Descent's checkout (or pip install "
                         "matplotlib)") from None
    job = client.get_job(args.job)
    rows = client.history(job.id)
    if not rows:
        raise UsageError(f"{job.id} has no finished epoch yet (status {job.status})")
    epochs = [r.epoch for r in rows]
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=110)
    loss = [r.loss if r.loss is not None else float("nan") for r in rows]
    axes.plot(epochs, loss, label="training loss", color="#2563eb")
    val = [(r.epoch, r.val_loss) for r in rows if r.val_loss is not None]
    if val:
        axes.plot(*zip(*val, strict=True), label="validation loss", color="#ea580c")
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"loss ({job.spec.get('network', {}).get('loss', 'loss')})")
    if args.log:
        axes.set_yscale("log")
    axes.set_title(f"{job.id} — {job.status}, {len(rows)} epochs")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.output)
    plt.close(figure)
    if args.json:
        emit_json({"job_id": job.id, "path": str(args.output), "epochs": len(rows)})
    else:
        say(f"wrote {args.output} ({len(rows)} epochs)")
    return 0
