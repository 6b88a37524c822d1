"""`descent predict`'s inputs: a CSV file as records by column name, or rows by position.

A model with named columns gets records ``{column: value}`` built from the CSV header, so the
CSV's column order does not matter: a numeric column's cell is sent as a number, a categorical
one's as its text, an empty cell as ``null`` (missing), and a column the model does not take as
it is (the server ignores it and names it in ``ignored_columns``). A column the model needs but
the CSV lacks is the server's 422, naming it. Models without named columns — trained before
columns had kinds, or on a dataset without names (``x0, x1, …``) — take rows by position.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

from ..types import Model
from .output import UsageError

DEFAULT_NAME = re.compile(r"x\d+")


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """The header (names stripped) and the non-blank rows, each as long as the header."""
    try:
        # utf-8-sig: a spreadsheet's CSV starts with a BOM, which would glue itself to the
        # first column's name (the server's upload strips it the same way).
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            body = [(line, row) for line, row in enumerate(reader, start=2)
                    if any(cell.strip() for cell in row)]
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: not a readable CSV file ({exc})") from exc
    for line, row in body:
        if len(row) != len(header):
            raise UsageError(f"{path}, line {line}: {len(row)} cells, the header has {len(header)}")
    if not body:
        raise UsageError(f"{path}: no rows to predict")
    return header, [row for _, row in body]


def read_inputs(path: Path, model: Model) -> tuple[list[Any], bool]:
    """``(inputs, by_name)``: the CSV's rows as records (``by_name``) or positional rows."""
    header, rows = read_csv(path)
    columns = model.columns
    if columns and not _by_position(columns, header):
        return _records(path, header, rows, columns), True
    if columns:
        kinds = [c["kind"] for c in columns]
    else:  # a model from before columns had kinds: numbers only
        kinds = ["numeric"] * model.n_features
    if len(header) != len(kinds):
        raise UsageError(f"{path}: {len(header)} columns ({', '.join(header)}) but model "
                         f"{model.id} takes {len(kinds)} features; give exactly its "
                         f"feature columns, in training order")
    return [[_cell(path, line, name, kind, cell)
             for name, kind, cell in zip(header, kinds, row, strict=True)]
            for line, row in enumerate(rows, start=2)], False


def _by_position(columns: list[dict[str, Any]], header: list[str]) -> bool:
    """A model trained without column names (``x0, x1, …``) takes a CSV whose header names
    other columns by position."""
    names = [c["name"] for c in columns]
    unnamed = all(name == f"x{i}" for i, name in enumerate(names))
    return unnamed and not set(names) <= set(header)


def _records(path: Path, header: list[str], rows: list[list[str]],
             columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            raise UsageError(f"{path}: column {index} of the header has no name; name every column")
        if name in seen:
            raise UsageError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    kinds = {c["name"]: c["kind"] for c in columns}
    return [{name: _cell(path, line, name, kinds.get(name), cell)
             for name, cell in zip(header, row, strict=True)}
            for line, row in enumerate(rows, start=2)]


def _cell(path: Path, line: int, name: str, kind: str | None, cell: str) -> Any:
    """A number for a numeric column, text for a categorical (or unknown) one, None if empty."""
    text = cell.strip()
    if not text:
        return None
    if kind != "numeric":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise UsageError(f"{path}, line {line}, column {name!r}: {text!r} is not a number "
                         "(the model's column is numeric; leave the cell empty if missing)")
    return value
