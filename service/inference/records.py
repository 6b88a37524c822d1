"""Predict inputs by column name (records) and positional rows holding categories.

``read_inputs`` turns a request's ``inputs`` into what the model's pipeline takes:

- records, ``[{"col": value, …}, …]`` (keys in any order): each of the model's columns by name;
  a record lacking one is a 422 naming the record and the column; other keys are ignored and
  listed (``ignored_columns`` in the answer);
- rows, ``[[value, …], …]``: by position, as before; for a model with categorical columns a row
  holds strings (or numbers, read by their text) in those places.

``null`` is a missing cell (and ``""`` in a categorical column); the model's preprocessing
fills it. A model trained before columns had names takes rows of numbers only
(``inputs.validate_inputs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from service.datasets.columns import categorical_column
from service.errors import InvalidInput, field_error
from service.inference.inputs import validate_inputs
from worker.pipeline import Column, Table
from worker.pipeline.schema import number_text

_LOC: list[str | int] = ["body", "inputs"]


def read_inputs(loaded: Any, inputs: Any, *, plain: bool = False
                ) -> tuple[np.ndarray | Table, list[str] | None]:
    """``(X, ignored_columns)``: ``X`` an array (numeric rows) or a ``Table`` of the model's
    columns; ``ignored_columns`` is None unless the inputs are records. ``plain``: the body
    holds only numbers (`inputs.numbers_only`)."""
    columns: list[tuple[str, str]] | None = loaded.columns
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        if columns is None:
            raise _invalid(_LOC, "this model takes rows of numbers by position (it was trained "
                                 "before columns had names); send inputs as [[...], ...]")
        return _records(inputs, columns)
    if columns is None or all(kind == "numeric" for _, kind in columns):
        return validate_inputs(loaded, inputs, plain=plain), None
    return _rows(inputs, columns), None


def _records(inputs: list[Any], columns: list[tuple[str, str]]) -> tuple[Table, list[str]]:
    wanted = {name for name, _ in columns}
    ignored: dict[str, None] = {}
    for i, record in enumerate(inputs):
        if not isinstance(record, dict):
            raise _invalid([*_LOC, i], f"inputs[{i}] must be an object of column: value like "
                                       "inputs[0]")
        if len(record) != len(wanted) or record.keys() != wanted:
            for name, _ in columns:
                if name not in record:
                    raise _invalid([*_LOC, i, name], (
                        f"record {i} has no column {name!r}; the model takes "
                        f"{_names(columns)} (null for a missing cell)"))
            ignored.update((key, None) for key in record if key not in wanted)
    table = Table(tuple(column_from_cells(name, kind, [record[name] for record in inputs], name)
                        for name, kind in columns))
    return table, list(ignored)


def _rows(inputs: Any, columns: list[tuple[str, str]]) -> Table:
    if not isinstance(inputs, list) or not inputs:
        raise _invalid(_LOC, "inputs must be a non-empty list of rows or of records")
    for i, row in enumerate(inputs):
        if not isinstance(row, list):
            raise _invalid([*_LOC, i], f"row {i} must be a list of values, or every input a "
                                       "record {column: value}")
        if len(row) != len(columns):
            raise _invalid([*_LOC, i], f"row {i} has {len(row)} values; this model takes "
                                       f"{len(columns)} columns: {_names(columns)}")
    return Table(tuple(column_from_cells(name, kind, [row[j] for row in inputs], j)
                       for j, (name, kind) in enumerate(columns)))


def column_from_cells(name: str, kind: str, cells: Sequence[Any], key: str | int, *,
                      loc: list[str | int] = _LOC) -> Column:
    """A column of the model's ``kind`` from request cells; ``loc + [row, key]`` locates a bad
    cell (JSON inputs, and the Arrow body's categorical columns)."""
    if kind == "numeric":
        values = np.empty(len(cells), np.float64)
        for i, cell in enumerate(cells):
            if cell is None:
                values[i] = np.nan
            elif isinstance(cell, bool) or not isinstance(cell, int | float):
                raise _invalid([*loc, i, key], f"row {i}, column {name!r}: {_shown(cell)} is "
                                                "not a number (null for a missing cell)")
            else:
                values[i] = _float(cell)
                if not np.isfinite(values[i]):
                    raise _invalid([*loc, i, key], f"row {i}, column {name!r}: "
                                                    f"{_shown(cell)} is not a finite number")
        return Column(name, "numeric", values)
    texts: list[str | None] = []
    for i, cell in enumerate(cells):
        if isinstance(cell, str):  # read as a CSV cell is: " paris " is "paris", "  " missing
            cell = cell.strip()
        if cell is None or cell == "":
            texts.append(None)
        elif isinstance(cell, str):
            texts.append(cell)
        elif isinstance(cell, bool):
            texts.append("true" if cell else "false")
        elif isinstance(cell, int | float):
            texts.append(str(cell) if isinstance(cell, int) else number_text(cell))
        else:
            raise _invalid([*loc, i, key], f"row {i}, column {name!r}: a category is a "
                                            "string, a number or null, not a list or object")
    return categorical_column(name, texts)


def _float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf")


def _shown(value: Any) -> str:
    text = "null" if value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _names(columns: list[tuple[str, str]]) -> str:
    shown = ", ".join(repr(name) for name, _ in columns[:20])
    return shown + (", …" if len(columns) > 20 else "")


def _invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(loc, msg)])
