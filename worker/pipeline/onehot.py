"""Categorical imputation and one-hot encoding of one column, fitted on the training rows.

A categorical column arrives as integer codes into its own ``categories`` (-1 = missing), so the
same fitted encoder applies to a stored dataset's column and to a request's strings alike: the
codes are mapped through a lookup built from the column's categories, never cell by cell.

Fitting (training rows only)::

    imputed:  a missing cell becomes ``fill``: the most frequent training category (ties: the
              first in sorted order) for ``most_frequent``, the category ``"missing"`` for
              ``constant`` (and for a column with no observed training cell)
    kept:     the distinct training categories after imputation, sorted; when there are more
              than ``max_categories``, the ``max_categories - 1`` most frequent are kept (ties:
              sorted order) and the rest (``grouped``) share one last column, ``"other"``

Transform, for the column's ``w = len(kept) (+ 1 with "other")`` output columns::

    e_ic = 1.0 if cell i (after imputation) is kept category c, or is grouped and c = "other"
    e_i  = all zeros if cell i is a category unseen in training and ``unknown`` = "ignore"
    ``UnknownCategory`` naming the row and value if ``unknown`` = "error"

ONNX (``onnx_nodes``), on the column as strings ``[N, 1]`` (``""`` = missing), with the
``ai.onnx.ml`` operators skl2onnx uses for ``OneHotEncoder``::

    LabelEncoder   category → its output column j (int64): each kept category its own, each
                   grouped one the "other" column, ``""`` the fill's column, anything else -1
    OneHotEncoder  cats_int64s = 0..w-1 → [N, 1, w] float; -1 is all zeros (``zeros`` = 1) for
                   ``unknown`` = "ignore", a runtime error (``zeros`` = 0) for "error"
    Reshape [N, w], Cast to double
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .onnx import ML_DOMAIN, ONNX_DOUBLE, Node

CATEGORICAL_STRATEGIES = ("most_frequent", "constant")
UNKNOWN = ("ignore", "error")
MISSING_CATEGORY = "missing"
OTHER_CATEGORY = "other"


class UnknownCategory(ValueError):
    """A category the encoder never saw in training (``unknown`` = "error")."""

    def __init__(self, row: int, value: str) -> None:
        self.row, self.value = row, value
        super().__init__(f"row {row}: category {value!r} was not seen in training")


@dataclass(frozen=True, eq=False)
class OneHot:
    """One column's fitted encoding: ``kept`` categories (one output column each), ``grouped``
    ones (sharing the ``"other"`` column, last), the ``fill`` for missing cells, ``unknown``."""

    kept: tuple[str, ...]
    grouped: tuple[str, ...]
    fill: str
    unknown: str = "ignore"

    @classmethod
    def fit(cls, codes: np.ndarray, categories: Sequence[str], *,
            strategy: str = "most_frequent", max_categories: int | None = None,
            unknown: str = "ignore") -> OneHot:
        """From a training column: ``codes`` ``(n,)`` into ``categories`` (-1 = missing)."""
        if strategy not in CATEGORICAL_STRATEGIES:
            raise ValueError(f"categorical imputation: unknown strategy {strategy!r}")
        if unknown not in UNKNOWN:
            raise ValueError(f"one-hot: unknown must be 'ignore' or 'error', not {unknown!r}")
        codes = np.asarray(codes).reshape(-1)
        counts = np.bincount(codes[codes >= 0], minlength=len(categories))
        names = [str(c) for c in categories]
        tally = {name: int(n) for name, n in zip(names, counts.tolist(), strict=True) if n}
        n_missing = int(np.count_nonzero(codes < 0))
        fill = MISSING_CATEGORY
        if strategy == "most_frequent" and tally:
            fill = min(tally, key=lambda name: (-tally[name], name))
        if n_missing:
            tally[fill] = tally.get(fill, 0) + n_missing
        kept, grouped = sorted(tally), []
        if max_categories is not None and len(kept) > max_categories:
            ranked = sorted(tally, key=lambda name: (-tally[name], name))
            top = max_categories - 1
            kept, grouped = sorted(ranked[:top]), sorted(ranked[top:])
        return cls(tuple(kept), tuple(grouped), fill, unknown)

    @property
    def width(self) -> int:
        return len(self.kept) + (1 if self.grouped else 0)

    def lookup(self, categories: Sequence[str]) -> np.ndarray:
        """``(len(categories) + 1,)`` int64: each category's output column (-1 unseen); the
        last entry is the missing cell's (code -1 indexes it)."""
        column = {name: j for j, name in enumerate(self.kept)}
        if self.grouped:
            column.update({name: len(self.kept) for name in self.grouped})
        names = [*map(str, categories), self.fill]
        return np.fromiter((column.get(name, -1) for name in names), np.int64, len(names))

    def transform(self, codes: np.ndarray, categories: Sequence[str]) -> np.ndarray:
        """``(n, width)`` float64 one-hot rows for ``codes`` ``(n,)`` into ``categories``."""
        codes = np.asarray(codes).reshape(-1)
        target = self.lookup(categories)[codes]  # code -1 → the last entry: the fill's column
        unseen = target < 0
        if unseen.any() and self.unknown == "error":
            row = int(np.flatnonzero(unseen)[0])
            raise UnknownCategory(row, str(categories[codes[row]]) if codes[row] >= 0
                                  else self.fill)
        out = np.zeros((codes.shape[0], self.width), np.float64)
        rows = np.flatnonzero(~unseen)
        out[rows, target[rows]] = 1.0
        return out

    def onnx_nodes(self, column: str, prefix: str
                   ) -> tuple[list[Node], dict[str, np.ndarray], str]:
        """``(nodes, initializers, output)``: the string column ``[N, 1]`` → ``[N, width]``
        double one-hot rows, as ``transform`` gives them (see the module docstring)."""
        names = [*self.kept, *self.grouped]
        columns = self.lookup(names).tolist()  # each name's output column, then the fill's
        keys, values, fill_column = names, columns[:-1], columns[-1]
        if fill_column >= 0 and "" not in names:
            keys, values = [*names, ""], [*values, fill_column]
        index, hot, flat = (f"{prefix}_index", f"{prefix}_onehot3d", f"{prefix}_onehot_float")
        nodes = [
            Node("LabelEncoder", [column], index, {"keys_strings": keys, "values_int64s": values,
                                                   "default_int64": -1}, ML_DOMAIN),
            Node("OneHotEncoder", [index], hot, {"cats_int64s": list(range(self.width)),
                                                 "zeros": int(self.unknown == "ignore")},
                 ML_DOMAIN),
            Node("Reshape", [hot, f"{prefix}_shape"], flat),
            Node("Cast", [flat], f"{prefix}_onehot", {"to": ONNX_DOUBLE}),
        ]
        return nodes, {f"{prefix}_shape": np.array([-1, self.width], np.int64)}, nodes[-1].output

    def to_dict(self) -> dict[str, object]:
        return {"kept": list(self.kept), "grouped": list(self.grouped), "fill": self.fill,
                "unknown": self.unknown}

    @classmethod
    def from_dict(cls, state: dict[str, object]) -> OneHot:
        kept, grouped = state["kept"], state["grouped"]
        assert isinstance(kept, list) and isinstance(grouped, list)
        unknown = str(state.get("unknown", "ignore"))
        if unknown not in UNKNOWN:
            raise ValueError(f"one-hot: unknown must be 'ignore' or 'error', not {unknown!r}")
        return cls(tuple(map(str, kept)), tuple(map(str, grouped)), str(state["fill"]), unknown)
