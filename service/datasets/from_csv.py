"""CSV uploads: a header row, then one row per example; ``targets`` names the target columns.

Rows are numbered from 1 (the first data row) and messages also give the line of the file.

Feature columns: a column whose non-empty cells are all numbers is numeric, any other is
categorical, unless ``column_kinds`` says which; an empty cell is missing (``csv_features``).

Memory stays near the size of the result: the file is read as a stream of rows, ``BLOCK_ROWS``
at a time; each block's numeric cells are converted at C speed (``np.array(…, float64)``) into a
matrix allocated once for an upper bound of the rows (the file's line count), categorical ones
into integer codes, so nothing holds a Python object per cell. Inference for one target
column: any cell that is not a number makes labels (strings); all integer literals (``3``,
``-1``; no ``.`` or exponent) make labels (ints); otherwise values. Several target columns are
values and must be numeric. ``true`` / ``false`` are not numbers.
"""

from __future__ import annotations

import dataclasses
import io
import re
from array import array
from itertools import islice
from operator import itemgetter
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from worker.pipeline import Table

from .canonical import (
    ParsedDataset,
    build,
    check_target_kind,
    first_non_finite,
    invalid,
    text_problem,
)
from .columns import Limits, check_kind_names
from .csv_features import (
    FeatureCells,
    Recategorize,
    is_number,
    numbers_read_as_categories,
    short,
)
from .csv_stream import Rows, is_blank, line_bound

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_LOC: list[str | int] = ["body", "file"]
# Rows converted per NumPy call: small enough that one call holds the GIL ~3 ms on 20 columns
# (the event loop waits for it in another thread).
BLOCK_ROWS = 512


def parse_csv(
    data: bytes | BinaryIO, *, targets: list[str], target_kind: str | None = None,
    max_columns: int | None = None, column_kinds: dict[str, str] | None = None,
    limits: Limits | None = None,
) -> ParsedDataset:
    """``data``: the file's bytes, or a seekable binary file (an upload spooled to disk);
    ``warnings`` name the columns of numbers that a few text cells made categorical."""
    check_target_kind(target_kind, ["body", "target_kind"])
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    if is_blank(source):
        raise invalid(_LOC, "the file is empty")
    bound = line_bound(source)
    rows = Rows(source)
    header = rows.header()
    if not header or not any(cell.strip() for cell in header):
        raise invalid(_LOC, "the CSV has no header row; the first line must name the columns")
    header = [cell.strip() for cell in header]
    if max_columns is not None and len(header) > max_columns:
        raise invalid(_LOC, f"the CSV has {len(header):,} columns; the limit is "
                            f"{max_columns:,} (DESCENT_MAX_DATASET_COLUMNS)")
    _check_header(header)
    target_idx = _target_columns(header, targets)
    feature_idx = [i for i in range(len(header)) if i not in target_idx]
    if not feature_idx:
        raise invalid(
            ["body", "target"], "every column is a target; at least 1 feature column is needed"
        )
    feature_names = [header[i] for i in feature_idx]
    kinds = column_kinds or {}
    check_kind_names(kinds, feature_names)
    limits = limits or Limits()
    X, read, why = _read_all(source, rows, header, feature_idx, target_idx, bound, kinds,
                             limits)
    parsed = _targets(X, read, header, target_idx, target_kind, feature_names, limits)
    warnings = numbers_read_as_categories(X, why)
    return dataclasses.replace(parsed, warnings=tuple(warnings)) if warnings else parsed


def _targets(X: Table, read: Targets, header: list[str], target_idx: list[int],
             target_kind: str | None, feature_names: list[str], limits: Limits
             ) -> ParsedDataset:
    """The dataset of the feature columns ``X`` and the target cells ``read``."""
    target_names = [header[i] for i in target_idx]
    common: dict[str, Any] = {"feature_names": feature_names, "loc": _LOC, "limits": limits,
                              "first_row": 1}
    if not target_idx:
        return build(X, **common)
    if len(target_idx) > 1:
        if target_kind == "labels":
            raise invalid(["body", "target_kind"],
                          f"labels need exactly 1 target column, not {len(target_idx)}")
        return build(X, values=_values(read, target_idx, header), target_names=target_names,
                     **common)
    column = [cells[0].strip() for cells in read.cells]
    labels, numbers = _one_target(column, target_kind, header[target_idx[0]], read.lines)
    return build(X, labels=labels, values=numbers, target_names=target_names, **common)


def _read_all(
    source: BinaryIO, rows: Rows, header: list[str], feature_idx: list[int],
    target_idx: list[int], bound: int, kinds: dict[str, str], limits: Limits,
) -> tuple[Table, Targets, dict[int, str]]:
    """Read the rows, again with more columns categorical each time a block finds text in a
    column read as numbers (see ``csv_features``); also the columns so turned, each with the
    first text cell found in it."""
    names = [header[i] for i in feature_idx]
    current = [kinds.get(name, "numeric") for name in names]
    forced = [name in kinds for name in names]
    why: dict[int, str] = {}
    while True:
        cells = FeatureCells(header, feature_idx, current, forced, bound, limits.max_categories)
        cells.why = why
        try:
            read = _read(rows, cells, target_idx)
            return cells.table(), read, why
        except Recategorize as found:
            current = ["categorical" if j in found.columns else kind
                       for j, kind in enumerate(current)]
            why.update(found.why)
            rows.detach()  # the next reader's wrapper takes the file over
            source.seek(0)
            rows = Rows(source)
            rows.header()


def _read(rows: Rows, cells: FeatureCells, target_idx: list[int]) -> Targets:
    """The feature cells into ``cells`` and the target cells with their lines (equal cells
    share one tuple: a label column costs a pointer and a line number a row)."""
    width = len(cells.header)
    pick_targets = itemgetter(*target_idx) if target_idx else None
    targets = Targets([], array("q"))
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    stream = iter(rows)
    while block := list(islice(stream, BLOCK_ROWS)):
        for i, (row, line) in enumerate(block):
            if len(row) != width:
                raise invalid(_LOC, f"row {cells.n + i + 1} (line {line}) has {len(row)} "
                                    f"values, expected {width} like the header")
        cells.add(block)
        if pick_targets is not None:
            for row, _ in block:
                picked = _as_tuple(pick_targets(row))
                targets.cells.append(shared.setdefault(picked, picked))
            targets.lines.extend(line for _, line in block)
    if cells.n == 0:
        raise invalid(_LOC, "the CSV has a header but no data rows")
    return targets


class Targets(NamedTuple):
    cells: list[tuple[str, ...]]  # each row's target cells
    lines: array[int]  # each row's line in the file


def _as_tuple(picked: Any) -> tuple[str, ...]:
    return picked if isinstance(picked, tuple) else (picked,)


def _values(targets: Targets, target_idx: list[int], header: list[str]) -> np.ndarray:
    try:
        values = np.array(targets.cells, dtype=np.float64)
    except ValueError:
        block = [(list(c), line) for c, line in zip(targets.cells, targets.lines, strict=True)]
        _raise_first_non_number(block, 0, list(range(len(target_idx))),
                                [header[i] for i in target_idx], "target")
    bad = first_non_finite(values)
    if bad is not None:
        i, j = bad
        raise invalid(_LOC, f"row {i + 1} (line {targets.lines[i]}), column "
                            f"{header[target_idx[j]]!r}: {targets.cells[i][j].strip()!r} is not "
                            "a finite number")
    return values


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


def _raise_first_non_number(
    block: list[tuple[list[str], int]], offset: int, columns: list[int], header: list[str],
    what: str,
) -> None:
    for i, (row, line) in enumerate(block):
        for j, c in enumerate(columns):
            if not is_number(row[c]):
                cell = row[c].strip()
                problem = "is empty" if not cell else f"{short(cell)!r} is not a number"
                name = header[c] if what == "feature" else header[j]
                raise invalid(_LOC, f"row {offset + i + 1} (line {line}), column {name!r}: "
                                    f"{problem}; every {what} cell must be a number")
    raise AssertionError("unreachable: a cell failed to convert")


def _one_target(
    column: list[str], target_kind: str | None, name: str, lines: array[int]
) -> tuple[list[Any] | None, np.ndarray | None]:
    empty = next((i for i, cell in enumerate(column) if not cell), None)
    if empty is not None:
        raise invalid(_LOC, f"row {empty + 1} (line {lines[empty]}), column {name!r}: the "
                            "target is empty")
    try:
        numbers = np.fromiter(map(float, column), dtype=np.float64, count=len(column))
    except ValueError:
        if target_kind == "values":
            i = next(i for i, cell in enumerate(column) if not is_number(cell))
            raise invalid(_LOC, f"row {i + 1} (line {lines[i]}), column {name!r}: "
                                f"{short(column[i])!r} is not a number (target_kind is "
                                "'values')") from None
        nul = next((i for i, cell in enumerate(column) if "\0" in cell), None)
        if nul is not None:
            raise invalid(_LOC, f"row {nul + 1} (line {lines[nul]}), column {name!r}: the "
                                "label holds a NUL character ('\\x00')") from None
        return column, None  # string labels
    bad = first_non_finite(numbers.reshape(-1, 1))
    if bad is not None:
        i = bad[0]
        raise invalid(_LOC, f"row {i + 1} (line {lines[i]}), column {name!r}: {column[i]!r} "
                            "is not a finite number")
    integers = all(_INTEGER.fullmatch(cell) for cell in column)
    if target_kind == "labels" or (target_kind is None and integers):
        return ([int(cell) for cell in column] if integers else numbers.tolist()), None
    return None, numbers.reshape(-1, 1)
