"""CSV uploads: a header row, then one row per example; ``targets`` names the target columns.

Rows are numbered from 1 (the first data row) and messages also give the line of the file. The
happy path converts whole columns at C speed; only when that fails are cells visited one by one
to name the first bad one. Inference for one target column: any cell that is not a number makes
labels (strings); all integer literals (``3``, ``-1``; no ``.`` or exponent) make labels
(ints); otherwise values. Several target columns are values and must be numeric. ``true`` /
``false`` are not numbers.
"""

from __future__ import annotations

import csv
import io
import re
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np

from .canonical import (
    ParsedDataset,
    build,
    check_target_kind,
    first_non_finite,
    invalid,
    text_problem,
)

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_LOC: list[str | int] = ["body", "file"]


def parse_csv(data: bytes, *, targets: list[str], target_kind: str | None = None) -> ParsedDataset:
    check_target_kind(target_kind, ["body", "target_kind"])
    text = _decode(data)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = next(reader, None)
        rows = [row for row in reader if row]
    except csv.Error as exc:
        raise invalid(_LOC, f"the CSV cannot be read: {exc}") from None
    if not header or not any(cell.strip() for cell in header):
        raise invalid(_LOC, "the CSV has no header row; the first line must name the columns")
    header = [cell.strip() for cell in header]
    _check_header(header)
    target_idx = _target_columns(header, targets)
    feature_idx = [i for i in range(len(header)) if i not in target_idx]
    if not feature_idx:
        raise invalid(
            ["body", "target"], "every column is a target; at least 1 feature column is needed"
        )
    if not rows:
        raise invalid(_LOC, "the CSV has a header but no data rows")
    width = len(header)
    if any(len(row) != width for row in rows):
        i = next(i for i, row in enumerate(rows) if len(row) != width)
        raise invalid(
            _LOC,
            f"row {i + 1} ({_line(text, i)}) has {len(rows[i])} values, expected"
            f" {width} like the header",
        )
    X = _numbers(rows, feature_idx, header, text, "feature")
    feature_names = [header[i] for i in feature_idx]
    target_names = [header[i] for i in target_idx]
    if not target_idx:
        return build(X, feature_names=feature_names, loc=_LOC)
    if len(target_idx) > 1:
        if target_kind == "labels":
            raise invalid(
                ["body", "target_kind"],
                f"labels need exactly 1 target column, not {len(target_idx)}",
            )
        values = _numbers(rows, target_idx, header, text, "target")
        return build(
            X, values=values, feature_names=feature_names, target_names=target_names, loc=_LOC
        )
    column = [row[target_idx[0]].strip() for row in rows]
    labels, numbers = _one_target(column, target_kind, header[target_idx[0]], text)
    return build(
        X,
        labels=labels,
        values=numbers,
        feature_names=feature_names,
        target_names=target_names,
        loc=_LOC,
    )


def _decode(data: bytes) -> str:
    if not data.strip():
        raise invalid(_LOC, "the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid(
            _LOC,
            f"the file is not UTF-8 text (bad byte at offset {exc.start}); save the CSV as UTF-8",
        ) from None


def _check_header(header: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise invalid(_LOC, f"column {i + 1} of the header has no name; name every column")
        if name in seen:
            raise invalid(_LOC, f"the header names column {name!r} more than once")
        problem = text_problem(name, control=True)
        if problem is not None:
            raise invalid(_LOC, f"column {i + 1} of the header cannot be a name: {problem}")
        seen.add(name)


def _target_columns(header: list[str], targets: list[str]) -> list[int]:
    positions = {name: i for i, name in enumerate(header)}
    found: list[int] = []
    for name in targets:
        name = name.strip()
        if name not in positions:
            shown = ", ".join(repr(h) for h in header[:20]) + (", …" if len(header) > 20 else "")
            raise invalid(
                ["body", "target"], f"target column {name!r} is not in the CSV header: {shown}"
            )
        if positions[name] in found:
            raise invalid(["body", "target"], f"target column {name!r} is given twice")
        found.append(positions[name])
    return found


def _numbers(
    rows: list[list[str]], columns: list[int], header: list[str], text: str, what: str
) -> np.ndarray:
    """Finite float64 (n × len(columns)); names the first bad cell otherwise."""
    pick = itemgetter(*columns)
    picked = map(pick, rows) if len(columns) > 1 else ((pick(row),) for row in rows)
    try:
        flat = np.fromiter(
            map(float, chain.from_iterable(picked)),
            dtype=np.float64,
            count=len(rows) * len(columns),
        )
    except ValueError:
        _raise_first_non_number(rows, columns, header, text, what)
    array = flat.reshape(len(rows), len(columns))
    bad = first_non_finite(array)
    if bad is not None:
        i, j = bad
        raise invalid(
            _LOC,
            f"row {i + 1} ({_line(text, i)}), column {header[columns[j]]!r}: "
            f"{rows[i][columns[j]].strip()!r} is not a finite number",
        )
    return array


def _raise_first_non_number(
    rows: list[list[str]], columns: list[int], header: list[str], text: str, what: str
) -> None:
    for i, row in enumerate(rows):
        for c in columns:
            try:
                float(row[c])
            except ValueError:
                cell = row[c].strip()
                problem = "is empty" if not cell else f"{_short(cell)!r} is not a number"
                raise invalid(
                    _LOC,
                    f"row {i + 1} ({_line(text, i)}), column {header[c]!r}: "
                    f"{problem}; every {what} cell must be a number",
                ) from None
    raise AssertionError("unreachable: a cell failed to convert")


def _one_target(
    column: list[str], target_kind: str | None, name: str, text: str
) -> tuple[list[Any] | None, np.ndarray | None]:
    empty = next((i for i, cell in enumerate(column) if not cell), None)
    if empty is not None:
        raise invalid(
            _LOC, f"row {empty + 1} ({_line(text, empty)}), column {name!r}: the target is empty"
        )
    try:
        numbers = np.fromiter(map(float, column), dtype=np.float64, count=len(column))
    except ValueError:
        if target_kind == "values":
            i = next(i for i, cell in enumerate(column) if not _is_float(cell))
            raise invalid(
                _LOC,
                f"row {i + 1} ({_line(text, i)}), column {name!r}: "
                f"{_short(column[i])!r} is not a number (target_kind is 'values')",
            ) from None
        nul = next((i for i, cell in enumerate(column) if "\0" in cell), None)
        if nul is not None:
            raise invalid(
                _LOC,
                f"row {nul + 1} ({_line(text, nul)}), column {name!r}: the label holds a NUL"
                " character ('\\x00')",
            ) from None
        return column, None  # string labels
    bad = first_non_finite(numbers.reshape(-1, 1))
    if bad is not None:
        i = bad[0]
        raise invalid(
            _LOC,
            f"row {i + 1} ({_line(text, i)}), column {name!r}: {column[i]!r} is"
            " not a finite number",
        )
    integers = all(_INTEGER.fullmatch(cell) for cell in column)
    if target_kind == "labels" or (target_kind is None and integers):
        return ([int(cell) for cell in column] if integers else numbers.tolist()), None
    return None, numbers.reshape(-1, 1)


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _line(text: str, data_row: int) -> str:
    """ "line N" of the file holding data row ``data_row`` (0-based); slow, for messages only."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    seen = -1
    for row in reader:
        if row:
            seen += 1
            if seen == data_row:
                return f"line {reader.line_num}"
    return "line ?"


def _short(cell: str) -> str:
    return cell if len(cell) <= 40 else cell[:37] + "..."
