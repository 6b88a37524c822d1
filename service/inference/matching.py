"""Batch predictions: a stored dataset's columns matched to a model's, by name.

A model with named columns takes the dataset's columns of the same names, in any order (others
are ignored; kinds converted as ``worker.pipeline.schema.conform`` does); a dataset whose
columns have no names of their own (a ``features`` matrix without ``feature_names``, an
``.npz``) is matched by position. A model trained before columns had names takes the dataset's
numeric columns by position, as it always did.
"""

from __future__ import annotations

from typing import Any

from worker.pipeline import Column, Table, conform


def unnamed(dataset: Any) -> bool:
    """The dataset's columns carry only default names (``x0, x1, …``)."""
    return not dataset.feature_names


def problem(model_columns: list[dict[str, Any]] | None, n_features: int,
            dataset: Any) -> str | None:
    """Why ``dataset`` cannot be predicted by the model (checked at submit), or None."""
    schema = dataset.columns or [{"name": n, "kind": "numeric"} for n in
                                 (dataset.feature_names or
                                  [f"x{j}" for j in range(dataset.n_features)])]
    if model_columns is None or unnamed(dataset):
        if dataset.n_features != n_features:
            return (f"dataset {dataset.id} has {dataset.n_features} features; the model "
                    f"expects {n_features}")
        if model_columns is None and any(c["kind"] != "numeric" for c in schema):
            return (f"dataset {dataset.id} has categorical columns; this model (trained before "
                    "columns had kinds) takes numbers only")
        return None
    names = {c["name"] for c in schema}
    for column in model_columns:
        if column["name"] not in names:
            shown = ", ".join(repr(c["name"]) for c in schema[:20])
            return (f"dataset {dataset.id} has no column {column['name']!r}, which the model "
                    f"takes (its columns: {shown})")
    return None


def ignored(model_columns: list[dict[str, Any]] | None, dataset: Any) -> list[str] | None:
    """The dataset's columns the model does not take, in the dataset's order, when they are
    matched by name (as /predict's ``ignored_columns``); None when matched by position."""
    if model_columns is None or unnamed(dataset):
        return None
    taken = {c["name"] for c in model_columns}
    names = [c["name"] for c in dataset.columns] if dataset.columns else dataset.feature_names
    return [name for name in names if name not in taken]


def model_table(columns: list[tuple[str, str]], table: Table, *, by_position: bool) -> Table:
    """The model's columns from a dataset's ``table`` (``MissingColumn`` / ``KindMismatch``
    from ``conform`` when they do not fit)."""
    if by_position and len(table.columns) == len(columns):
        table = Table(tuple(Column(name, c.kind, c.values, c.categories)
                            for (name, _), c in zip(columns, table.columns, strict=True)))
    return conform(table, columns)[0]
