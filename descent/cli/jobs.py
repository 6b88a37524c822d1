"""`descent jobs submit|watch|list|show|history|diagnose|cancel|estimate|gradcheck`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from worker.spec import OPTIMIZER, spec_defaults

from ..api import Client
from ..types import Job
from . import gradcheck
from .diagnose import diagnose_job
from .output import UsageError, emit_json, fields, first, number, page_size, say, table, when
from .progress import Progress

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def _defaults() -> dict[str, Any]:
    """What the server fills in for an option left out (the spec's one declaration)."""
    filled = spec_defaults()
    training = filled["training"]
    rates = ", ".join(f"{name} {variant.fields['learning_rate'].default}"
                      for name, variant in OPTIMIZER.variants.items())
    return {"hidden": filled["network"]["hidden_layers"], "epochs": training["epochs"],
            "batch_size": training["batch_size"], "seed": training["seed"],
            "optimizer": training["optimizer"]["name"], "lr": rates,
            "patience": training["early_stopping"]["patience"]}


DEFAULTS = _defaults()


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("jobs", help="submit, watch, list, show and cancel jobs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    submit = actions.add_parser("submit", parents=[common], help="queue a training job")
    add_spec_options(submit)
    submit.add_argument("--idempotency-key", help="resubmitting with this key returns the job")
    submit.add_argument("--wait", action="store_true", help="follow it to the end (exit 1 if it "
                        "fails or is cancelled)")
    submit.set_defaults(handler=submit_job)

    estimate = actions.add_parser("estimate", parents=[common], help="cost of a job, unqueued")
    add_spec_options(estimate)
    estimate.set_defaults(handler=estimate_job)
    gradcheck.add_parser(actions, common, add_spec_options)

    watch = actions.add_parser("watch", parents=[common], help="follow a job live (Ctrl-C "
                               "detaches, the job keeps running)")
    watch.add_argument("id")
    watch.set_defaults(handler=watch_job)

    listing = actions.add_parser("list", parents=[common], help="list jobs, newest first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    listing.set_defaults(handler=list_jobs)

    for name, about, handler in (("show", "show one job", show_job),
                                 ("history", "its loss per epoch", show_history),
                                 ("diagnose", "per-layer gradient norms, dead and saturated "
                                  "units per epoch, and warnings", diagnose_job),
                                 ("cancel", "cancel a queued or running job", cancel_job)):
        action = actions.add_parser(name, parents=[common], help=about)
        action.add_argument("id")
        action.set_defaults(handler=handler)


def add_spec_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", type=Path, help="a job spec JSON file (docs/api.md); "
                        "the options below override its fields")
    parser.add_argument("--dataset", help="dataset id (ds_…)")
    parser.add_argument("--task", choices=("classification", "regression", "multilabel"))
    hidden = ",".join(f"{layer['units']}:{layer['activation']}" for layer in DEFAULTS["hidden"])
    parser.add_argument("--hidden", help=f"hidden layers, e.g. 64:relu,32:tanh ('' for none; "
                        f"default {hidden}); 64:relu:0.2 adds dropout 0.2")
    parser.add_argument("--epochs", type=int, help=f"default {DEFAULTS['epochs']}")
    parser.add_argument("--batch-size", type=int, help=f"default {DEFAULTS['batch_size']}")
    parser.add_argument("--lr", type=float, help="learning rate (default: the optimizer's, "
                        f"{DEFAULTS['lr']})")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZER.variants),
                        help=f"default {DEFAULTS['optimizer']}")
    parser.add_argument("--seed", type=int, help=f"default {DEFAULTS['seed']}")
    parser.add_argument("--init-from", metavar="MODEL", help=(
        "fine-tune: start from this model's weights and keep its preprocessing "
        "(training.init_from_model; its network is taken unless --hidden gives the same)"))
    parser.add_argument("--lr-schedule", metavar="JSON", help="learning-rate schedule, e.g. "
                        "'{\"name\": \"step\", \"step_size\": 10}' (docs/api.md)")
    parser.add_argument("--warmup-epochs", type=int, metavar="W", help="lr0·(e+1)/W for e < W")
    parser.add_argument("--clip-grad-norm", type=float, metavar="C", help="clip the gradient's "
                        "norm to C")
    parser.add_argument("--class-weight", metavar="balanced|JSON", help="'balanced' or "
                        "'{\"label\": weight}'")
    stopping = parser.add_mutually_exclusive_group()
    stopping.add_argument("--patience", type=int, metavar="N",
                          help="early stopping: stop after N epochs without a better validation "
                          f"loss (default {DEFAULTS['patience']})")
    stopping.add_argument("--no-early-stopping", action="store_true",
                          help="train every epoch (training.early_stopping = null)")


def parse_hidden(text: str) -> list[dict[str, Any]]:
    """``"64:relu:0.2,32:tanh"`` → ``[{"units": 64, "activation": "relu", "dropout": 0.2},
    …]``; ``""`` → ``[]``."""
    layers: list[dict[str, Any]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        units, _, rest = part.partition(":")
        activation, _, dropout = rest.partition(":")
        layer: dict[str, Any] = {"units": int(units)} if units.isdigit() else {}
        try:
            layer.update({"dropout": float(dropout)} if dropout else {})
        except ValueError:
            layer = {}
        if not layer:
            raise UsageError(f"--hidden: {part!r} is not UNITS[:ACTIVATION[:DROPOUT]], e.g. "
                             "64:relu or 64:relu:0.2")
        layers.append({**layer, **({"activation": activation} if activation else {})})
    return layers


def training_controls(args: argparse.Namespace, training: dict[str, Any]) -> None:
    """``--lr-schedule``, ``--warmup-epochs``, ``--clip-grad-norm``, ``--class-weight``."""
    if args.lr_schedule is not None:
        training["lr_schedule"] = _json_option("--lr-schedule", args.lr_schedule)
    if args.warmup_epochs is not None:
        training["warmup_epochs"] = args.warmup_epochs
    if args.clip_grad_norm is not None:
        training["clip_grad_norm"] = args.clip_grad_norm
    if args.class_weight is not None:
        training["class_weight"] = (args.class_weight if args.class_weight == "balanced"
                                    else _json_option("--class-weight", args.class_weight))


def _json_option(flag: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: not valid JSON ({exc})") from exc


def build_spec(args: argparse.Namespace) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if args.spec is not None:
        try:
            spec = json.loads(args.spec.read_text())
        except OSError as exc:
            raise UsageError(f"{args.spec}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise UsageError(f"{args.spec}: not valid JSON ({exc})") from exc
        if not isinstance(spec, dict):
            raise UsageError(f"{args.spec}: expected a JSON object (a job spec)")
    if args.dataset:
        spec["dataset_id"] = args.dataset
    if args.task:
        spec["task"] = args.task
    if args.hidden is not None:
        spec.setdefault("network", {})["hidden_layers"] = parse_hidden(args.hidden)
    training = spec.setdefault("training", {})
    for key in ("epochs", "batch_size", "seed"):
        if getattr(args, key) is not None:
            training[key] = getattr(args, key)
    if getattr(args, "init_from", None):
        training["init_from_model"] = args.init_from
    if args.optimizer or args.lr is not None:
        optimizer = training.get("optimizer") or {}
        optimizer = {"name": optimizer} if isinstance(optimizer, str) else dict(optimizer)
        if args.optimizer:
            optimizer["name"] = args.optimizer
        if args.lr is not None:
            optimizer["learning_rate"] = args.lr
        training["optimizer"] = optimizer
    early_stopping(args, training)
    training_controls(args, training)
    if not training:
        del spec["training"]
    if "dataset_id" not in spec:
        raise UsageError("which dataset? give --dataset ds_… or a spec file with dataset_id")
    return spec


def early_stopping(args: argparse.Namespace, training: dict[str, Any]) -> None:
    """``--no-early-stopping`` → ``early_stopping: null``; ``--patience N`` sets its patience,
    keeping the spec file's other early-stopping fields (and turning it back on if null)."""
    if args.no_early_stopping:
        training["early_stopping"] = None
    elif args.patience is not None:
        if args.patience < 1:
            raise UsageError(f"--patience: expected at least 1 epoch, not {args.patience}")
        training["early_stopping"] = {**(training.get("early_stopping") or {}),
                                      "patience": args.patience}


def submit_job(args: argparse.Namespace, client: Client) -> int:
    job = client.submit_job(build_spec(args), idempotency_key=args.idempotency_key)
    if not args.wait:
        if args.json:
            emit_json(job.to_dict())
        else:
            print(job.id)
            say(f"queued {job.id}; follow it with `descent jobs watch {job.id}`")
        return 0
    if not args.json:
        say(f"submitted {job.id}")
    return follow(client, job.id, args.json)


def estimate_job(args: argparse.Namespace, client: Client) -> int:
    estimate = client.estimate(build_spec(args))
    if args.json:
        emit_json(estimate.to_dict())
    else:
        fields([("parameters", estimate.parameters),
                ("flops/epoch", number(estimate.flops_per_epoch)),
                ("memory bytes", number(estimate.memory_bytes)),
                ("seconds", number(estimate.estimated_seconds, 3))])
    return 0


def watch_job(args: argparse.Namespace, client: Client) -> int:
    return follow(client, args.id, args.json)


def follow(client: Client, job_id: str, as_json: bool) -> int:
    """Follow a job with a progress line; Ctrl-C detaches and leaves it running."""
    try:
        job = client.wait(job_id, on_event=Progress(job_id))
    except KeyboardInterrupt:
        say(f"\ndetached from {job_id}; it keeps running on the server (not cancelled). "
            f"Follow it again with `descent jobs watch {job_id}`, stop it with "
            f"`descent jobs cancel {job_id}`.")
        return 130
    if as_json:
        emit_json(job.to_dict())
    else:
        print_summary(job)
    return 0 if job.status == "succeeded" else 1


def print_summary(job: Job) -> None:
    if job.status == "succeeded":
        print(f"{job.id} succeeded: model {job.model_id or job.prediction_id}")
    elif job.status == "failed":
        error = job.error or {}
        print(f"{job.id} failed: {error.get('code', '?')}: {error.get('message', '')}")
    else:
        print(f"{job.id} {job.status}")


def list_jobs(args: argparse.Namespace, client: Client) -> int:
    found = first(client.list_jobs(args.status, page_size=page_size(args.limit)), args.limit)
    if args.json:
        emit_json({"data": [j.to_dict() for j in found]})
        return 0
    table(["ID", "KIND", "STATUS", "EPOCH", "LOSS", "VAL_LOSS", "RESULT", "CREATED"], [
        [j.id, j.kind, j.status, f"{j.epoch}/{j.epochs or '?'}", number((j.metrics or {}).get(
            "loss")), number((j.metrics or {}).get("val_loss")),
         j.model_id or j.prediction_id or "-", when(j.created_at)] for j in found])
    return 0


def show_job(args: argparse.Namespace, client: Client) -> int:
    job = client.get_job(args.id)
    if args.json:
        emit_json(job.to_dict())
        return 0
    fields([("id", job.id), ("kind", job.kind), ("status", job.status),
            ("progress", f"epoch {job.epoch}/{job.epochs or '?'}"),
            ("metrics", job.metrics), ("model", job.model_id),
            ("attempts", f"{job.attempts}/{job.max_attempts}"), ("error", job.error),
            ("created", when(job.created_at)), ("started", when(job.started_at)),
            ("finished", when(job.finished_at)), ("spec", job.spec)])
    return 0


def show_history(args: argparse.Namespace, client: Client) -> int:
    rows = client.history(args.id)
    if args.json:
        emit_json({"data": [r.to_dict() for r in rows]})
        return 0
    names = sorted({k for r in rows for k in r.metrics} - {"loss", "val_loss", "seconds"})
    table(["EPOCH", "LOSS", "VAL_LOSS", *(n.upper() for n in names), "SECONDS"],
          [[r.epoch, number(r.loss), number(r.val_loss),
            *(number(r.metrics.get(n)) for n in names), number(r.seconds, 3)] for r in rows])
    return 0


def cancel_job(args: argparse.Namespace, client: Client) -> int:
    job = client.cancel_job(args.id)
    if args.json:
        emit_json(job.to_dict())
    else:
        print(f"{job.id}: {job.status}" + (" (stopping)" if job.status == "running" else ""))
    return 0
