"""`descent sweeps create|list|show|trials|cancel|watch`: hyperparameter sweeps."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..api import Client
from ..sweeps import Sweep
from .jobs import add_spec_options, build_spec
from .output import UsageError, emit_json, fields, first, number, page_size, say, table, when

DISTRIBUTIONS = ("uniform", "log_uniform", "int", "choice")


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("sweeps", help="search hyperparameters: many jobs, the best one")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", parents=[common], help="start a sweep; the job options "
                                "give the base spec every trial starts from")
    add_spec_options(create)
    create.add_argument("--param", action="append", default=[], metavar="PATH=DIST",
                        help="a dimension, e.g. training.optimizer.learning_rate=log_uniform:"
                        "1e-4:1e-1, network.hidden_layers.0.units=choice:16,32,64, "
                        "training.batch_size=int:16:128 (repeat for more)")
    create.add_argument("--space", metavar="JSON", help="the whole space as JSON (docs/api.md)")
    create.add_argument("--method", choices=("random", "tpe", "grid"), default="random")
    create.add_argument("--metric", default="val_loss", help="default val_loss")
    create.add_argument("--goal", choices=("minimize", "maximize"),
                        help="default: minimize for a loss, else maximize")
    create.add_argument("--max-trials", type=int, default=20, help="default 20")
    create.add_argument("--parallelism", type=int, default=2, help="default 2")
    create.add_argument("--prune", choices=("median", "hyperband"),
                        help="stop hopeless trials early")
    create.add_argument("--sweep-seed", type=int, default=0, help="the sampler's seed")
    create.add_argument("--wait", action="store_true", help="follow it to the end")
    create.set_defaults(handler=create_sweep)

    listing = actions.add_parser("list", parents=[common], help="list sweeps, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=list_sweeps)
    for name, handler, text in (("show", show_sweep, "a sweep's status, counts and best trial"),
                                ("watch", watch_sweep, "follow a sweep to its end"),
                                ("cancel", cancel_sweep, "cancel a sweep's queued and running "
                                 "trials; sample no more")):
        action = actions.add_parser(name, parents=[common], help=text)
        action.add_argument("id")
        action.set_defaults(handler=handler)
    trials = actions.add_parser("trials", parents=[common], help="a sweep's trials")
    trials.add_argument("id")
    trials.add_argument("--sort", choices=("number", "value"), default="number",
                        help="value: best first")
    trials.set_defaults(handler=show_trials)


def parse_param(text: str) -> tuple[str, dict[str, Any]]:
    """``"a.b=log_uniform:1e-4:1e-1"`` → ``("a.b", {"log_uniform": [1e-4, 0.1]})``."""
    path, eq, dist = text.partition("=")
    kind, _, rest = dist.partition(":")
    if not (path and eq and kind in DISTRIBUTIONS and rest):
        raise UsageError(f"--param: {text!r} is not PATH=DIST, DIST one of "
                         "uniform:LOW:HIGH, log_uniform:LOW:HIGH, int:LOW:HIGH, choice:A,B,…")
    if kind == "choice":
        return path, {"choice": [_value(v) for v in rest.split(",")]}
    low, _, high = rest.partition(":")
    try:
        cast = int if kind == "int" else float
        return path, {kind: [cast(low), cast(high)]}
    except ValueError:
        raise UsageError(f"--param {path}: {rest!r} is not LOW:HIGH") from None


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # a name: relu, adam


def sweep_body(args: argparse.Namespace) -> dict[str, Any]:
    base = build_spec(args)
    dataset_id = base.pop("dataset_id")
    space: dict[str, Any] = {}
    if args.space:
        try:
            space = json.loads(args.space)
        except ValueError as exc:
            raise UsageError(f"--space: not valid JSON ({exc})") from None
    space.update(parse_param(p) for p in args.param)
    if not space:
        raise UsageError("what to search? give --param PATH=DIST (or --space JSON)")
    goal = args.goal or ("minimize" if args.metric.endswith("loss") else "maximize")
    return {"dataset_id": dataset_id, "base": base, "space": space, "method": args.method,
            "metric": {"name": args.metric, "goal": goal}, "max_trials": args.max_trials,
            "parallelism": args.parallelism, "seed": args.sweep_seed,
            "early_termination": {"type": args.prune} if args.prune else None}


def create_sweep(args: argparse.Namespace, client: Client) -> int:
    body = sweep_body(args)
    sweep = client.create_sweep(**body)
    if not args.wait:
        if args.json:
            emit_json(sweep.to_dict())
        else:
            print(sweep.id)
            say(f"started {sweep.id}; follow it with `descent sweeps watch {sweep.id}`")
        return 0
    say(f"started {sweep.id}")
    return follow(client, sweep.id, args.json)


def progress_line(sweep: Sweep) -> str:
    c = sweep.counts
    best = sweep.best
    best_text = "-" if best is None else f"{number(best.value)} (trial {best.number})"
    return (f"{sweep.id} {sweep.status}: {sweep.finished_trials}/{sweep.max_trials} trials done"
            f" ({c.get('running', 0)} running, {c.get('pruned', 0)} pruned, "
            f"{c.get('failed', 0)} failed); best {sweep.metric.get('name')} {best_text}")


def follow(client: Client, sweep_id: str, as_json: bool) -> int:
    """A progress line per change; Ctrl-C detaches (the sweep goes on)."""
    tty = sys.stderr.isatty()

    def show(sweep: Sweep) -> None:
        print(("\r" if tty else "") + progress_line(sweep), end="" if tty else "\n",
              file=sys.stderr, flush=True)

    try:
        sweep = client.wait_sweep(sweep_id, show, poll_interval=1.0)
    except KeyboardInterrupt:
        say(f"\ndetached from {sweep_id}; it keeps running (`descent sweeps cancel {sweep_id}`"
            " stops it)")
        return 130
    if tty:
        say("")
    if as_json:
        emit_json(sweep.to_dict())
    else:
        print_sweep(sweep)
    return 0 if sweep.status == "succeeded" else 1


def watch_sweep(args: argparse.Namespace, client: Client) -> int:
    return follow(client, args.id, args.json)


def print_sweep(sweep: Sweep) -> None:
    best = sweep.best
    fields([("id", sweep.id), ("status", sweep.status), ("method", sweep.method),
            ("metric", f"{sweep.metric.get('name')} ({sweep.metric.get('goal')})"),
            ("trials", f"{sweep.trials_sampled} sampled of {sweep.max_trials}, "
                       f"{sweep.parallelism} at once"),
            ("counts", ", ".join(f"{k} {v}" for k, v in sweep.counts.items() if v) or "-"),
            ("epochs trained", sweep.epochs_trained),
            ("best", None if best is None else f"trial {best.number}: {number(best.value)}"),
            ("best model", sweep.model_id),
            ("best params", None if best is None else best.params),
            ("created", when(sweep.created_at)), ("finished", when(sweep.finished_at))])


def show_sweep(args: argparse.Namespace, client: Client) -> int:
    sweep = client.get_sweep(args.id)
    if args.json:
        emit_json(sweep.to_dict())
    else:
        print_sweep(sweep)
    return 0


def list_sweeps(args: argparse.Namespace, client: Client) -> int:
    sweeps = first(client.list_sweeps(page_size=page_size(args.limit)), args.limit)
    if args.json:
        emit_json([s.to_dict() for s in sweeps])
        return 0
    table(["ID", "STATUS", "METHOD", "TRIALS", "BEST", "CREATED"],
          [[s.id, s.status, s.method, f"{s.finished_trials}/{s.max_trials}",
            number(s.best.value if s.best else None), when(s.created_at)] for s in sweeps])
    return 0


def show_trials(args: argparse.Namespace, client: Client) -> int:
    trials = client.sweep_trials(args.id, sort=args.sort)
    if args.json:
        emit_json([t.to_dict() for t in trials])
        return 0
    paths = list(trials[0].params) if trials else []
    table(["#", "STATUS", "VALUE", "EPOCHS", *paths, "MODEL"],
          [[t.number, t.status, number(t.value), t.epochs,
            *(number(t.params.get(p)) for p in paths), t.model_id or "-"] for t in trials])
    return 0


def cancel_sweep(args: argparse.Namespace, client: Client) -> int:
    sweep = client.cancel_sweep(args.id)
    if args.json:
        emit_json(sweep.to_dict())
    else:
        print(progress_line(sweep))
    return 0
