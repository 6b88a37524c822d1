"""JSON uploads as records: ``{"name", "records": [{"col": value, …}, …], "target": "col" |
["col", …], "target_kind", "column_kinds"}``.

Every record has the same keys (the first record's, in any order); the ``target`` columns are
the targets (a single one follows the JSON inference: strings and integers are labels, any
float makes values; several are values), every other column is a feature. A feature column
whose non-null values are all numbers is numeric, any other is categorical (strings as they
are, numbers by their text, ``true``/``false``), unless ``column_kinds`` says which. ``null``,
and ``""`` in a categorical column, is a missing cell. Records are numbered from 0.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from worker.pipeline import Column, Table
from worker.pipeline.schema import number_text

from ..errors import InvalidInput
from .canonical import ParsedDataset, build, check_name, check_target_kind, invalid, text_problem
from .columns import Limits, categorical_column, column_kinds
from .label_sets import label_set_values

KNOWN_FIELDS = ("name", "records", "target", "target_kind", "column_kinds")
_LOC: list[str | int] = ["body", "records"]


def parse_records(body: dict[str, Any], *, max_columns: int | None = None,
                  limits: Limits | None = None) -> ParsedDataset:
    from .from_json import _flat_targets, _names

    for key in body:
        if key not in KNOWN_FIELDS:
            shown = key if text_problem(key) is None else ascii(key)
            raise invalid(["body", shown], f"unknown field {key!r} beside records; the fields "
                                           f"are {', '.join(KNOWN_FIELDS)}")
    target_kind = body.get("target_kind")
    check_target_kind(target_kind, ["body", "target_kind"])
    check_name(body.get("name"), ["body", "name"])
    records: list[dict[str, Any]] = body["records"]
    names = _columns(records)
    if max_columns is not None and len(names) > max_columns:
        raise invalid(_LOC, f"the records have {len(names):,} columns; the limit is "
                            f"{max_columns:,} (DESCENT_MAX_DATASET_COLUMNS)")
    if "" in names:
        raise invalid([*_LOC, 0, ""], "record 0 has a column with an empty name; name every "
                                      "column")
    _names(names, len(names), "records", "records")  # text
    targets = _targets(body.get("target"), names)
    features = [name for name in names if name not in targets]
    if not features:
        raise invalid(["body", "target"], "every column is a target; at least 1 feature "
                                          "column is needed")
    kinds = column_kinds(body.get("column_kinds"), ["body", "column_kinds"])
    for name in kinds:
        if name not in features:
            raise invalid(["body", "column_kinds", name],
                          f"column_kinds names {name!r}, which is not a feature column")
    table = Table(tuple(_column(records, name, kinds.get(name)) for name in features))
    common: dict[str, Any] = {"feature_names": features, "loc": _LOC, "limits": limits}
    if not targets:
        return build(table, **common)
    if len(targets) == 1:
        cells = [record[targets[0]] for record in records]
        _no_null(cells, targets[0])
        if any(type(cell) is list for cell in cells):
            return _label_sets(table, cells, targets[0], target_kind, common)
        try:
            labels, values = _flat_targets(cells, target_kind)
        except InvalidInput as exc:
            raise _as_records(exc, targets[0]) from None
        return build(table, labels=labels, values=values, target_names=targets, **common)
    if target_kind == "labels":
        raise invalid(["body", "target_kind"],
                      f"labels need exactly 1 target column, not {len(targets)}")
    return build(table, values=_target_values(records, targets), target_names=targets, **common)


def _columns(records: Any) -> list[str]:
    """The columns: the first record's keys; every record must have exactly those."""
    if not isinstance(records, list) or not records:
        raise invalid(_LOC, "records must be a non-empty list of objects")
    first = records[0]
    if not isinstance(first, dict) or not first:
        raise invalid([*_LOC, 0], "records[0] must be an object of column: value")
    keys = first.keys()
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise invalid([*_LOC, i], f"records[{i}] must be an object of column: value")
        if record.keys() != keys:
            lacking = [k for k in first if k not in record]
            if lacking:
                raise invalid([*_LOC, i, lacking[0]], (
                    f"record {i} has no {lacking[0]!r}; every record needs every column "
                    "(null for a missing cell)"))
            extra = next(k for k in record if k not in first)
            raise invalid([*_LOC, i, extra], f"record {i} has {extra!r}, which record 0 does "
                                             "not; every record needs the same columns")
    return list(first)


def _targets(target: Any, names: list[str]) -> list[str]:
    wanted = [target] if isinstance(target, str) else target
    if wanted is None:
        return []
    if not isinstance(wanted, list) or not all(isinstance(t, str) for t in wanted):
        raise invalid(["body", "target"], "target must be a column name or a list of them")
    for name in wanted:
        if name not in names:
            raise invalid(["body", "target"], f"target column {name!r} is not in the records")
    if len(set(wanted)) != len(wanted):
        raise invalid(["body", "target"], "target names a column twice")
    return wanted


def _as_records(exc: InvalidInput, name: str) -> InvalidInput:
    """A refusal of the flat targets list (``targets[i]``), said of the records it came from:
    ``targets`` is not a field of a records upload."""
    detail = re.sub(r"targets\[(\d+)\]", lambda m: f"record {m[1]}'s {name!r}", exc.detail)
    loc = exc.errors[0]["loc"] if exc.errors else []
    index = loc[2:3] if len(loc) > 2 and isinstance(loc[2], int) else []
    return invalid([*_LOC, *index, name], detail)


def _no_null(cells: list[Any], name: str) -> None:
    for i, cell in enumerate(cells):
        if cell is None:
            raise invalid([*_LOC, i, name], f"record {i}, column {name!r}: the target is null")


def _column(records: list[dict[str, Any]], name: str, kind: str | None) -> Column:
    cells = [record[name] for record in records]
    numbers = all(c is None or (type(c) in (int, float)) for c in cells)
    if kind == "numeric" or (kind is None and numbers):
        return Column(name, "numeric", _numbers(cells, name))
    texts: list[str | None] = []
    for i, cell in enumerate(cells):
        if isinstance(cell, str):  # read as a CSV cell is: " paris " is "paris", "  " missing
            cell = cell.strip()
        if cell is None or cell == "":
            texts.append(None)
        elif isinstance(cell, str):
            problem = text_problem(cell, control=True)
            if problem is not None:
                raise invalid([*_LOC, i, name], f"record {i}, column {name!r}: {problem}")
            texts.append(cell)
        elif isinstance(cell, bool):
            texts.append("true" if cell else "false")
        elif isinstance(cell, int | float):
            texts.append(number_text(float(cell)) if isinstance(cell, float) else str(cell))
        else:
            raise invalid([*_LOC, i, name], f"record {i}, column {name!r}: a cell is a "
                                            "number, a string or null, not a list or object")
    return categorical_column(name, texts)


def _numbers(cells: list[Any], name: str) -> np.ndarray:
    values = np.empty(len(cells), np.float64)
    for i, cell in enumerate(cells):
        try:
            values[i] = np.nan if cell is None else _number(cell)
        except (TypeError, ValueError, OverflowError):
            values[i] = np.inf
        if cell is not None and not np.isfinite(values[i]):
            shown = repr(cell) if len(repr(cell)) <= 40 else repr(cell)[:37] + "..."
            raise invalid([*_LOC, i, name], f"record {i}, column {name!r}: {shown} is not a "
                                            "finite number (column_kinds makes it numeric)"
                          if isinstance(cell, str) else
                          f"record {i}, column {name!r}: {shown} is not a finite number")
    return values


def _number(cell: Any) -> float:
    if isinstance(cell, bool) or not isinstance(cell, int | float | str):
        raise TypeError
    return float(cell)


def _label_sets(table: Table, cells: list[Any], name: str, target_kind: str | None,
                common: dict[str, Any]) -> ParsedDataset:
    """A target column whose cells are label sets: one 0/1 target column per label."""
    bad = next((i for i, cell in enumerate(cells) if type(cell) is not list), None)
    if bad is not None:
        raise invalid([*_LOC, bad, name], f"record {bad}, column {name!r}: some targets are "
                                          "label sets (lists), so every one must be a list")
    values, labels = label_set_values(cells, _LOC, target_kind, name)
    return build(table, values=values, target_names=labels, task="multilabel",
                 **common)


def _target_values(records: list[dict[str, Any]], targets: list[str]) -> np.ndarray:
    values = np.empty((len(records), len(targets)), np.float64)
    for j, name in enumerate(targets):
        cells = [record[name] for record in records]
        _no_null(cells, name)
        for i, cell in enumerate(cells):
            if isinstance(cell, bool) or not isinstance(cell, int | float):
                raise invalid([*_LOC, i, name], f"record {i}, column {name!r}: several targets "
                                                "are values, and this one is not a number")
        values[:, j] = _numbers(cells, name)
    return values
