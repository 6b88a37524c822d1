"""Matching a table's columns to a model's by name: what batch predict and predict by name share.

``conform(table, columns)`` gives the model's columns, in the model's order, taken from
``table`` by name (any order there); columns the model does not take are listed as ignored. A
column stored with another kind than the model's is converted: numbers become categories by
their text (``number_text``: ``12345.0`` → ``"12345"``), categories become numbers when every
one of them reads as a number, and otherwise ``KindMismatch`` names the row and column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .table import Column, Table


class MissingColumn(ValueError):
    def __init__(self, name: str, available: Sequence[str]) -> None:
        self.name = name
        shown = ", ".join(repr(n) for n in list(available)[:20])
        super().__init__(f"column {name!r} is missing; the model takes it (found: {shown})")


class KindMismatch(ValueError):
    def __init__(self, row: int, column: str, value: str) -> None:
        self.row, self.column, self.value = row, column, value
        super().__init__(f"row {row}, column {column!r}: {value!r} is not a number; the model "
                         "takes this column as numeric")


def number_text(value: float) -> str:
    """A number as a category: whole numbers without ``.0`` (``12345``), others by ``repr``."""
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value))


def as_kind(column: Column, kind: str) -> Column:
    """``column`` as ``kind`` (see the module docstring)."""
    if column.kind == kind:
        return column
    if kind == "categorical":
        missing = np.isnan(column.values)
        distinct, codes = np.unique(column.values[~missing], return_inverse=True)
        texts = [number_text(v) for v in distinct.tolist()]
        categories = sorted(set(texts))
        remap = np.array([categories.index(t) for t in texts], dtype=np.int32)
        values = np.full(column.values.shape[0], -1, np.int32)
        values[~missing] = remap[codes] if remap.size else codes
        return Column(column.name, "categorical", values, tuple(categories))
    numbers = np.full(len(column.categories or ()), np.nan)
    for j, text in enumerate(column.categories or ()):
        try:
            numbers[j] = float(text)
        except ValueError:
            numbers[j] = np.nan
    codes = np.asarray(column.values)
    bad = (codes >= 0) & np.isnan(numbers[np.maximum(codes, 0)]) if numbers.size else codes >= 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise KindMismatch(row, column.name, str((column.categories or ())[codes[row]]))
    values = np.where(codes >= 0, numbers[np.maximum(codes, 0)] if numbers.size else 0.0, np.nan)
    return Column(column.name, "numeric", values.astype(np.float64))


def conform(table: Table, columns: Sequence[tuple[str, str]]) -> tuple[Table, list[str]]:
    """``(the model's columns from table, the names of table's columns it ignores)``;
    ``MissingColumn`` for the first model column ``table`` lacks."""
    by_name = {c.name: c for c in table.columns}
    wanted = [name for name, _ in columns]
    for name in wanted:
        if name not in by_name:
            raise MissingColumn(name, table.names)
    ignored = [name for name in table.names if name not in set(wanted)]
    if not ignored and table.names == wanted and all(
            c.kind == k for c, (_, k) in zip(table.columns, columns, strict=True)):
        return table, []
    picked = tuple(as_kind(by_name[name], kind) for name, kind in columns)
    return Table(picked), ignored
