"""Multilabel targets given as a label set per row: ``[["a", "b"], [], ["b"], …]``.

They are stored as ``k`` target columns of 0/1 values (``target_kind`` "values"), one per
distinct label in sorted order, named by the label: ``Y[i, j] = 1`` when row ``i``'s set holds
label ``j``. So a label-set upload and a several-0/1-columns upload are the same dataset, and a
job with ``task: "multilabel"`` reads either (``worker.pipeline.as_multilabel``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .canonical import check_texts, invalid


def are_label_sets(rows: list[Any]) -> bool:
    """Whether a list of per-row targets is label sets: every row a list, and some row holding
    a string (rows of numbers only are target columns)."""
    return all(type(row) is list for row in rows) and any(
        isinstance(v, str) for row in rows for v in row)


def label_set_values(rows: list[list[Any]], loc: list[str | int], target_kind: str | None,
                     column: str | None = None) -> tuple[np.ndarray, list[str]]:
    """``(values (n, k) float64 of 0/1, labels)`` from label sets; ``InvalidInput`` at
    ``loc + [i, column, j]`` for an item that is not a string (no ``column`` for the features
    form), at ``target_kind`` for 'labels'."""
    if target_kind == "labels":
        raise invalid(["body", "target_kind"], "label sets (a list of labels per row) are "
                                               "stored as one 0/1 column per label: omit "
                                               "target_kind, or give 'values'")
    for i, row in enumerate(rows):
        at = [*loc, i] if column is None else [*loc, i, column]
        for j, label in enumerate(row):
            if not isinstance(label, str) or not label:
                raise invalid([*at, j], f"row {i}, item {j}: a label set holds non-empty "
                                        f"strings, not {label!r}")
        check_texts(row, at, f"row {i}")
    labels = sorted({label for row in rows for label in row})
    index = {label: j for j, label in enumerate(labels)}
    values = np.zeros((len(rows), len(labels)), np.float64)
    for i, row in enumerate(rows):
        values[i, [index[label] for label in row]] = 1.0
    return values, labels
