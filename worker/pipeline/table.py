"""A dataset's feature columns as they came: what a pipeline is fitted on and applied to.

Each column keeps its name, its kind and its raw values: a ``numeric`` column its numbers (float64,
NaN where a cell is missing; an upload being checked and stored may keep the dtype it came in,
``uint8``, ``float32``, …, which readers turn into float64); a ``categorical`` column integer codes
into its ``categories`` (-1 where a cell is missing). ``missing`` is the column's boolean mask of
missing cells. A ``Table`` is those columns over the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("numeric", "categorical")


@dataclass(frozen=True, eq=False)
class Column:
    """One feature column: ``values`` ``(n,)``; ``categories`` for a categorical one."""

    name: str
    kind: str
    values: np.ndarray
    categories: tuple[str, ...] | None = None

    @property
    def missing(self) -> np.ndarray:
        """``(n,)`` bool: which cells are missing."""
        if self.kind == "categorical":
            return np.asarray(self.values < 0)
        if self.values.dtype.kind in "biu":  # an integer column (as uploaded) has no NaN
            return np.zeros(self.values.shape[0], bool)
        return np.isnan(self.values)

    def describe(self) -> dict[str, Any]:
        """The column's schema entry: ``{"name", "kind", "missing", "categories"}``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "missing": int(np.count_nonzero(self.missing)),
            "categories": None if self.categories is None else len(self.categories),
        }

    def take(self, rows: Any) -> Column:
        return Column(self.name, self.kind, self.values[rows], self.categories)


@dataclass(frozen=True, eq=False)
class Table:
    """Columns over the same rows. ``block``, when set, is the numeric columns' values side by
    side, ``(n, d)`` float64, in column order (a table read from a matrix keeps it, so that
    ``matrix`` need not copy)."""

    columns: tuple[Column, ...]
    block: np.ndarray | None = None

    @classmethod
    def from_matrix(cls, X: np.ndarray, names: Sequence[str] | None = None,
                    dtype: Any = np.float64) -> Table:
        """Numeric columns from a matrix ``(n, d)`` (named ``x0, x1, …`` by default), as
        ``dtype`` (None: in the matrix's own)."""
        X = np.asarray(X, dtype=dtype)
        names = list(names) if names else [f"x{j}" for j in range(X.shape[1])]
        return cls(tuple(Column(name, "numeric", X[:, j]) for j, name in enumerate(names)), X)

    @property
    def n_rows(self) -> int:
        return int(self.columns[0].values.shape[0]) if self.columns else 0

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def numeric(self) -> bool:
        return all(column.kind == "numeric" for column in self.columns)

    def matrix(self) -> np.ndarray:
        """The numeric columns side by side, ``(n, d)`` (all columns numeric): float64, or
        the dtype a table being uploaded kept."""
        if not self.numeric:
            raise ValueError("the table has categorical columns: encode them with a Pipeline")
        if self.block is not None:
            return self.block
        X = np.empty((self.n_rows, len(self.columns)), np.float64)
        for j, column in enumerate(self.columns):
            X[:, j] = column.values
        return X

    def take(self, rows: Any) -> Table:
        if self.block is not None:
            return Table.from_matrix(self.block[rows], self.names)
        return Table(tuple(column.take(rows) for column in self.columns))

    def schema(self) -> list[dict[str, Any]]:
        """Each column's ``describe()``; a float block's missing cells are counted a slice of
        rows at a time (one pass over it, not a strided pass per column)."""
        block = self.block
        if block is None or block.dtype.kind != "f":
            return [column.describe() for column in self.columns]
        missing = np.zeros(block.shape[1], np.int64)
        rows = max(1, (4 << 20) // max(1, block.shape[1] * block.itemsize))
        for start in range(0, block.shape[0], rows):
            missing += np.isnan(block[start : start + rows]).sum(axis=0)
        return [{"name": c.name, "kind": "numeric", "missing": int(m), "categories": None}
                for c, m in zip(self.columns, missing, strict=True)]
