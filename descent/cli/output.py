"""What the command line prints: tables and key/value blocks for people, one JSON document for
scripts (``--json``), and messages on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any, TypeVar

T = TypeVar("T")


class UsageError(Exception):
    """The command was given something it cannot use (exit code 2)."""


def first(items: Iterable[T], limit: int) -> list[T]:
    """The first ``limit`` items of a (cursor-following) listing."""
    return list(islice(items, max(limit, 0)))


def page_size(limit: int) -> int:
    """A page size that fetches ``limit`` items in as few requests as the API allows (≤ 500)."""
    return min(max(limit, 1), 500)


def number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def when(timestamp: str | None) -> str:
    """``2024-05-01T12:00:03.123+00:00`` → ``2024-05-01 12:00:03``."""
    if not timestamp:
        return "-"
    return timestamp.replace("T", " ")[:19]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    for row in [list(headers), *cells]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not cells:
        print("(none)")


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    items = list(pairs)
    width = max((len(k) for k, _ in items), default=0)
    for key, value in items:
        if isinstance(value, list):
            value = ", ".join(map(str, value)) if len(value) <= 20 else json.dumps(value)
        elif isinstance(value, dict):
            value = json.dumps(value, indent=2).replace("\n", "\n" + " " * (width + 2))
        print(f"{key.ljust(width)}  {'-' if value is None else value}")


def emit_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def say(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays data)."""
    print(message, file=sys.stderr, flush=True)
