"""The fitted column steps: a ``Table`` of raw columns → one float64 matrix of encoded columns.

Fitted on the training rows only (``Preprocessor.fit``) from the job spec's ``preprocessing``
object (``worker.spec.PREPROCESSING``). For a table with ``d`` numeric and ``c`` categorical
columns the output is, left to right::

    [ numeric columns, imputed (d) | missing indicators (k) | one-hot of each categorical column ]
      (n, d)                         (n, k) 0/1                (n, Σ_j w_j) 0/1

``numeric_width`` = d: the block ``training.standardize`` scales (``Pipeline``); indicators and
one-hot columns are left as 0/1. Each step's formulas are in ``impute`` and ``onehot``.

Stored without pickle (``to_arrays``): ``pre_meta`` (UTF-8 JSON as uint8: the columns' names and
kinds, the config, each categorical column's encoding), ``pre_fill`` ``(d,)`` float64 and
``pre_indicated`` ``(k,)`` int64.

ONNX (``onnx_graph``): one input per raw column, named as the column, ``[N, 1]``: double for a
numeric column (NaN = missing), string for a categorical one (``""`` = missing). The numeric
inputs are concatenated in column order and imputed (``impute``), each categorical input is
one-hot encoded (``onehot``), and ``Concat`` puts the blocks in the order above: ``[N, width]``
double, the same matrix ``transform`` gives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .impute import NumericImputer
from .onehot import OneHot
from .onehot import UnknownCategory as _Unseen
from .onnx import ONNX_DOUBLE, ONNX_STRING, Graph, Input, Node
from .table import Column, Table

DEFAULTS: dict[str, Any] = {
    "numeric_imputation": "mean", "fill_value": 0.0, "categorical_imputation": "most_frequent",
    "missing_indicators": True, "unknown": "ignore", "max_categories": None,
}
META_VERSION = 1


@dataclass(frozen=True, eq=False)
class Preprocessor:
    """``columns``: ``(name, kind)`` of each raw column in order; ``imputer`` for the numeric
    ones (in order), ``encoders`` for the categorical ones (in order)."""

    columns: tuple[tuple[str, str], ...]
    imputer: NumericImputer
    encoders: tuple[OneHot, ...]
    config: Mapping[str, Any]

    @classmethod
    def fit(cls, table: Table, config: Mapping[str, Any] | None = None) -> Preprocessor:
        """From the training rows' ``table``; ``config`` is the filled ``preprocessing``."""
        config = {**DEFAULTS, **(config or {})}
        numeric = [c for c in table.columns if c.kind == "numeric"]
        imputer = NumericImputer.fit(
            _numeric_block(table, numeric), strategy=config["numeric_imputation"],
            fill_value=config["fill_value"], indicators=config["missing_indicators"])
        encoders = tuple(
            OneHot.fit(c.values, c.categories or (), strategy=config["categorical_imputation"],
                       max_categories=config["max_categories"], unknown=config["unknown"])
            for c in table.columns if c.kind == "categorical")
        return cls(tuple((c.name, c.kind) for c in table.columns), imputer, encoders, config)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def numeric_width(self) -> int:
        return int(self.imputer.fill.shape[0])

    @property
    def width(self) -> int:
        """Columns out: ``d + k + Σ w_j``."""
        return self.imputer.width + sum(e.width for e in self.encoders)

    @property
    def plain(self) -> bool:
        """All columns numeric and no indicator: the output is the imputed input, same width."""
        return not self.encoders and self.imputer.indicated.size == 0

    def transform(self, table: Table) -> np.ndarray:
        """``(n, width)`` float64 (the numeric block itself when nothing is added to it: callers
        never write into it). ``table`` has this preprocessor's columns, in its order and
        kinds (``schema.conform`` makes it so); an ``onehot.UnknownCategory`` is re-raised as
        ``UnknownCategory`` with the column's name."""
        if [(c.name, c.kind) for c in table.columns] != list(self.columns):
            raise ValueError("the table's columns differ from the model's: conform it first")
        numeric = [c for c in table.columns if c.kind == "numeric"]
        filled, indicators = self.imputer.transform(_numeric_block(table, numeric))
        blocks = [filled, indicators]
        categorical = [c for c in table.columns if c.kind == "categorical"]
        for column, encoder in zip(categorical, self.encoders, strict=True):
            try:
                blocks.append(encoder.transform(column.values, column.categories or ()))
            except _Unseen as exc:
                raise UnknownCategory(exc.row, column.name, exc.value) from None
        blocks = [block for block in blocks if block.shape[1]]
        if len(blocks) == 1:  # numbers only, nothing to add: no copy
            return blocks[0]
        return np.ascontiguousarray(np.concatenate(blocks, axis=1))

    def onnx_graph(self, matrix: str | None = None) -> Graph:
        """The column steps as ONNX nodes, output ``[N, width]`` double. With ``matrix``, the
        numeric columns come as that one ``[N, d]`` double input instead (a ``plain``
        preprocessor: imputation only)."""
        graph = Graph(inputs=[
            Input(name, ONNX_STRING if kind == "categorical" else ONNX_DOUBLE, 1, f"column{j}")
            for j, (name, kind) in enumerate(self.columns)])
        refs = {i.alias: kind for i, (_, kind) in zip(graph.inputs, self.columns, strict=True)}
        numeric = [ref for ref, kind in refs.items() if kind == "numeric"]
        blocks: list[str] = []
        if matrix is not None:
            graph.inputs = [Input(matrix, ONNX_DOUBLE, len(numeric))]
        elif len(numeric) > 1:
            graph.nodes.append(Node("Concat", numeric, "numeric_columns", {"axis": 1}))
            matrix = "numeric_columns"
        elif numeric:
            matrix = numeric[0]
        if matrix is not None:
            nodes, initializers, filled, indicators = self.imputer.onnx_nodes(matrix)
            graph.add(nodes, initializers)
            blocks += [filled] + ([indicators] if indicators else [])
        categorical = [ref for ref, kind in refs.items() if kind == "categorical"]
        for j, (ref, encoder) in enumerate(zip(categorical, self.encoders, strict=True)):
            nodes, initializers, out = encoder.onnx_nodes(ref, f"onehot{j}")
            graph.add(nodes, initializers)
            blocks.append(out)
        graph.output = blocks[0]
        if len(blocks) > 1:
            graph.nodes.append(Node("Concat", blocks, "encoded", {"axis": 1}))
            graph.output = "encoded"
        return graph

    def numeric(self, table: Table) -> np.ndarray:
        """The imputed numeric block ``(n, d)`` alone (``table`` as for ``transform``)."""
        numeric = [c for c in table.columns if c.kind == "numeric"]
        return self.imputer.transform(_numeric_block(table, numeric))[0]

    def to_arrays(self) -> dict[str, np.ndarray]:
        meta = {"version": META_VERSION, "columns": [list(c) for c in self.columns],
                "config": dict(self.config), "encoders": [e.to_dict() for e in self.encoders]}
        return {"pre_meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                "pre_fill": self.imputer.fill.copy(),
                "pre_indicated": self.imputer.indicated.copy()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Preprocessor:
        meta = json.loads(np.asarray(arrays["pre_meta"], dtype=np.uint8).tobytes().decode())
        if meta.get("version") != META_VERSION:
            raise ValueError(f"preprocessing state version {meta.get('version')!r} is unknown")
        columns = tuple((str(name), str(kind)) for name, kind in meta["columns"])
        imputer = NumericImputer.of(arrays["pre_fill"], arrays["pre_indicated"])
        encoders = tuple(OneHot.from_dict(e) for e in meta["encoders"])
        if imputer.fill.shape[0] + len(encoders) != len(columns):
            raise ValueError("preprocessing state: columns and steps disagree")
        return cls(columns, imputer, encoders, {**DEFAULTS, **meta["config"]})


class UnknownCategory(ValueError):
    """A category unseen in training in a column whose encoding has ``unknown`` = "error"."""

    def __init__(self, row: int, column: str, value: str) -> None:
        self.row, self.column, self.value = row, column, value
        super().__init__(f"row {row}, column {column!r}: category {value!r} was not seen in "
                         "training (preprocessing.unknown is 'error')")


def _numeric_block(table: Table, numeric: list[Column]) -> np.ndarray:
    if table.block is not None and len(numeric) == len(table.columns):
        return table.block
    X = np.empty((table.n_rows, len(numeric)), np.float64)
    for j, column in enumerate(numeric):
        X[:, j] = column.values
    return X


def encoded_width(schema: list[dict[str, Any]], config: Mapping[str, Any] | None = None) -> int:
    """The network's input width a dataset's column ``schema`` (``Column.describe`` entries:
    kind, missing count, category count) gives under ``config``: an upper bound, since the
    training rows may hold fewer categories or missing cells than the whole dataset."""
    config = {**DEFAULTS, **(config or {})}
    width = 0
    for column in schema:
        missing = bool(column.get("missing"))
        if column["kind"] == "numeric":
            width += 1 + int(missing and bool(config["missing_indicators"]))
            continue
        count = int(column.get("categories") or 0)
        count += int(missing and config["categorical_imputation"] == "constant") or int(count == 0)
        limit = config["max_categories"]
        width += count if limit is None else min(count, int(limit))
    return width
