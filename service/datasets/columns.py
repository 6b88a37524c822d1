"""Column-level rules every upload format shares: kinds overridden by ``column_kinds``, the
limits on categories and encoded width, and categorical columns built from their cells."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from service.errors import InvalidInput, field_error
from worker.pipeline import Column, Table
from worker.pipeline.preprocess import encoded_width
from worker.pipeline.schema import as_kind

KINDS = ("numeric", "categorical")


class Limits(NamedTuple):
    """What one upload's columns may hold (settings; None = unbounded)."""

    max_categories: int | None = None  # distinct categories per column
    max_width: int | None = None  # input columns once encoded (default preprocessing)


def with_kinds(table: Table, kinds: dict[str, str]) -> Table:
    """Numeric columns that ``kinds`` makes categorical, converted (by their numbers' text)."""
    if not any(kinds.get(c.name) == "categorical" and c.kind == "numeric"
               for c in table.columns):
        return table
    return Table(tuple(as_kind(c, "categorical") if kinds.get(c.name) == "categorical" else c
                       for c in table.columns))


def check_limits(table: Table, limits: Limits, loc: list[str | int], first_row: int = 0) -> None:
    """Categories per column and the encoded width within ``limits``, or a 422 naming the
    column (and the row where its category over the limit first appears)."""
    for column in table.columns:
        count = len(column.categories or ())
        if limits.max_categories is not None and count > limits.max_categories:
            firsts = np.unique(column.values[column.values >= 0], return_index=True)[1]
            row = int(np.sort(firsts)[limits.max_categories]) + first_row
            raise invalid(loc, (
                f"row {row}, column {column.name!r}: the column has {count:,} distinct "
                f"categories; the limit is {limits.max_categories:,} "
                "(DESCENT_MAX_COLUMN_CATEGORIES): is it an identifier or free text? drop it"))
    width = encoded_width(table.schema())
    if limits.max_width is not None and width > limits.max_width:
        widest = max(table.columns, key=lambda c: len(c.categories or ()))
        raise invalid(loc, (
            f"the columns encode to {width:,} inputs (one per category; column "
            f"{widest.name!r} has {len(widest.categories or ()):,}); the limit is "
            f"{limits.max_width:,} (DESCENT_MAX_ENCODED_WIDTH)"))


def categorical_column(name: str, cells: Sequence[str | None]) -> Column:
    """A categorical column from its cells (None = missing): codes into sorted categories."""
    index: dict[str, int] = {}
    codes = np.fromiter((-1 if c is None else index.setdefault(c, len(index)) for c in cells),
                        np.int32, len(cells))
    return sorted_categories(name, codes, list(index))


def sorted_categories(name: str, codes: np.ndarray, categories: list[str]) -> Column:
    """The column with its categories sorted and its codes remapped (-1 stays -1)."""
    order = sorted(range(len(categories)), key=categories.__getitem__)
    remap = np.empty(len(categories) + 1, np.int32)
    remap[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
    remap[-1] = -1
    values = remap[codes]
    return Column(name, "categorical", values, tuple(categories[i] for i in order))


def column_kinds(value: object, loc: list[str | int]) -> dict[str, str]:
    """The ``column_kinds`` field: a JSON object (or, in a form, its text) naming columns and
    their kinds, ``"numeric"`` or ``"categorical"``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid(loc, "column_kinds must be a JSON object such as "
                               '{"zip": "categorical"}') from None
    if not isinstance(value, dict):
        raise invalid(loc, 'column_kinds must be an object such as {"zip": "categorical"}')
    for name, kind in value.items():
        if kind not in KINDS:
            raise invalid([*loc, name], f"column_kinds[{name!r}] is {kind!r}; a kind is "
                                        "'numeric' or 'categorical'")
    return dict(value)


def check_kind_names(kinds: dict[str, str], names: Sequence[str]) -> None:
    """Every column ``column_kinds`` names is a feature column."""
    known = set(names)
    for name in kinds:
        if name not in known:
            shown = ", ".join(repr(n) for n in list(names)[:20])
            raise invalid(["body", "column_kinds", name], (
                f"column_kinds names {name!r}, which is not a feature column ({shown})"))


def invalid(loc: list[str | int], msg: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(loc, msg)])
