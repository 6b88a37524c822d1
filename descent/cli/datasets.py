"""`descent datasets upload|list|show|delete`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..api import Client
from ..types import Dataset
from .output import UsageError, emit_json, fields, first, number, page_size, say, table, when
from .upload_progress import UploadProgress


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("datasets", help="upload and list datasets")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    upload = actions.add_parser(
        "upload", parents=[common], help="upload a CSV, .npz or .npy file",
        description="Upload a CSV, an .npz or an .npy. Files over 32 MiB go in parts with a "
                    "progress line (bytes, rate); if interrupted, run the same command again "
                    "to resume.")
    upload.add_argument("file", type=Path, help="a CSV with a header row, an .npz with X and y, "
                        "or an .npy")
    upload.add_argument("--target", action="extend", nargs="+", metavar="COL", default=None,
                        help="target column(s) of a CSV or .npy (none: a dataset for "
                             "predictions only; several 0/1 columns, one per label: train "
                             "with --task multilabel)")
    upload.add_argument("--target-kind", choices=("labels", "values"), default=None,
                        help="what the targets are (default: guessed; whole numbers and "
                             "strings are labels)")
    upload.add_argument("--name", help="a name to recognise it by")
    upload.add_argument("--column-kind", action="append", metavar="NAME=KIND", default=None,
                        help="read column NAME as KIND, numeric or categorical (e.g. "
                             "zip=categorical); repeat for several columns. Default: a CSV "
                             "column of numbers is numeric, any other categorical")
    upload.add_argument("--chunked", action="store_true", default=None,
                        help="send in resumable parts whatever the size (default: above 32 MiB)")
    upload.set_defaults(handler=upload_dataset)

    listing = actions.add_parser("list", parents=[common], help="list datasets, newest first")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.set_defaults(handler=list_datasets)

    show = actions.add_parser("show", parents=[common], help="show one dataset")
    show.add_argument("id")
    show.set_defaults(handler=show_dataset)

    delete = actions.add_parser("delete", parents=[common], help="delete a dataset")
    delete.add_argument("id")
    delete.set_defaults(handler=delete_dataset)


def upload_dataset(args: argparse.Namespace, client: Client) -> int:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if path.suffix.lower() not in (".csv", ".npz", ".npy"):
        raise UsageError(f"{path}: expected a .csv, .npz or .npy file")
    if args.target and path.suffix.lower() == ".npz":
        raise UsageError("--target names CSV columns; an .npz holds its targets as y")
    dataset = client.upload_dataset(path, name=args.name, target=args.target,
                                    target_kind=args.target_kind,
                                    column_kinds=column_kinds(args.column_kind),
                                    on_progress=UploadProgress(path.name), chunked=args.chunked)
    if dataset.deduplicated:
        say(dataset.message or f"the same content was uploaded before as {dataset.id}")
    if dataset.hint and not args.json:  # with --json the answer carries it
        say(f"note: {dataset.hint}")
    if args.json:
        emit_json(dataset.to_dict())
    else:
        print_dataset(dataset)
    return 0


def column_kinds(options: list[str] | None) -> dict[str, str] | None:
    """``["zip=categorical", …]`` (from ``--column-kind``) as ``{"zip": "categorical"}``."""
    kinds: dict[str, str] = {}
    for option in options or []:
        name, sep, kind = option.rpartition("=")
        name, kind = name.strip(), kind.strip().lower()
        if not sep or not name or kind not in ("numeric", "categorical"):
            raise UsageError(f"--column-kind {option!r}: expected NAME=numeric or "
                             "NAME=categorical")
        kinds[name] = kind
    return kinds or None


def list_datasets(args: argparse.Namespace, client: Client) -> int:
    found = first(client.list_datasets(page_size=page_size(args.limit)), args.limit)
    if args.json:
        emit_json({"data": [d.to_dict() for d in found]})
        return 0
    table(
        ["ID", "NAME", "ROWS", "FEATURES", "TARGETS", "KIND", "CREATED"],
        [[d.id, d.name or "-", d.n_rows, d.n_features, d.n_targets, d.target_kind or "-",
          when(d.created_at)] for d in found],
    )
    return 0


def show_dataset(args: argparse.Namespace, client: Client) -> int:
    dataset = client.get_dataset(args.id)
    if args.json:
        emit_json(dataset.to_dict())
    else:
        print_dataset(dataset)
    return 0


def delete_dataset(args: argparse.Namespace, client: Client) -> int:
    client.delete_dataset(args.id)
    if args.json:
        emit_json({"id": args.id, "deleted": True})
    else:
        print(f"deleted {args.id}")
    return 0


def print_dataset(d: Dataset) -> None:
    classes = d.classes
    if classes is not None and len(classes) > 12:
        classes = [*classes[:12], "…"]
    fields([
        ("id", d.id), ("name", d.name), ("rows", d.n_rows), ("features", d.n_features),
        ("targets", d.n_targets), ("target kind", d.target_kind),
        ("classes", None if classes is None else ", ".join(map(str, classes))),
        ("sha256", d.sha256), ("bytes", number(d.bytes)), ("created", when(d.created_at)),
    ])
    if d.columns:
        print()
        shown = d.columns[:50]
        table(["COLUMN", "KIND", "MISSING", "CATEGORIES"],
              [[c["name"], c["kind"], c["missing"], "-" if c.get("categories") is None
                else c["categories"]] for c in shown])
        if len(d.columns) > len(shown):
            print(f"… and {len(d.columns) - len(shown)} more (--json lists every column)")
