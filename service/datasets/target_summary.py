"""What a dataset's targets look like, for the dashboard's dataset page: per target column, its
class balance (labels: the count of each class) or a histogram (values: ``BINS`` equal-width bins
between its min and max).

Reads only ``y`` from the stored content (an ``.npz`` member is decompressed on its own), never
``X``: the answer costs one pass over n × k numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BINS = 20


def summarize(y: np.ndarray | None, target_kind: str | None, classes: list[Any] | None,
              target_names: list[str] | None) -> list[dict[str, Any]]:
    """One entry per target column: ``{"name", "kind": "labels", "classes", "counts"}`` or
    ``{"name", "kind": "values", "edges" (BINS + 1), "counts" (BINS), "min", "max", "mean"}``."""
    if y is None or target_kind is None:
        return []
    if target_kind == "labels":
        # y holds class indices into the sorted classes (service.datasets.canonical).
        counts = np.bincount(np.asarray(y, np.int64).ravel(), minlength=len(classes or []))
        name = target_names[0] if target_names else "y"
        return [{"name": name, "kind": "labels", "classes": list(classes or []),
                 "counts": [int(c) for c in counts]}]
    values = np.asarray(y, np.float64).reshape(len(y), -1)
    names = target_names or [f"y{j}" for j in range(values.shape[1])]
    return [_histogram(names[j], values[:, j]) for j in range(values.shape[1])]


def _histogram(name: str, column: np.ndarray) -> dict[str, Any]:
    finite = column[np.isfinite(column)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    # A constant column still gets one visible bar: widen its range by one half each side.
    span = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
    counts, edges = np.histogram(finite, bins=BINS, range=span)
    return {"name": name, "kind": "values", "edges": [float(e) for e in edges],
            "counts": [int(c) for c in counts], "min": lo, "max": hi,
            "mean": float(finite.mean()) if finite.size else None}
