"""The train/validation split: which rows the pipeline and the network may learn from.

Validation rows are the END of a seeded permutation, ``floor(n * fraction)`` of them, drawn once
from the run's ``split`` random stream (``worker.nn.random.RandomStreams``), so a resumed run
sees the same split without storing it. Everything fitted — standardization, imputation,
encodings, the network — is fitted on the training rows only.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def split_rows(n: int, fraction: float | None, rng: np.random.Generator) -> tuple[Any, Any]:
    """Training and validation row indices (each sorted), or ``(None, None)`` when no row is
    held out (no ``fraction``, or too few rows for one)."""
    n_val = int(np.floor(n * fraction)) if fraction else 0
    if n_val == 0:
        return None, None
    perm = rng.permutation(n)
    return np.sort(perm[: n - n_val]), np.sort(perm[n - n_val :])
