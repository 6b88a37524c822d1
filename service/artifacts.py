"""Byte formats shared by the API and the worker: stored datasets and model weights.

A dataset is stored as a compressed ``.npz`` with ``X`` (float64, n × d) and, when it has
targets, ``y``: class indices (int64, n) into the dataset's sorted ``classes`` for labels, or
float64 (n × k) for values.

A model's weights are the ``.npz`` that ``GET /v1/models/{id}/weights`` serves: ``W0, b0, W1,
b1, …`` (W of shape fan_in × fan_out, in the dtype it was trained in) plus ``mean`` and ``scale``
when inputs were standardized. ``weights_sha256`` is the SHA-256 of the raw bytes of ``W0, b0,
W1, b1, …`` concatenated in that order (API.md).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import numpy as np


def encode_dataset(X: np.ndarray, y: np.ndarray | None) -> bytes:
    buffer = io.BytesIO()
    arrays = {"X": np.ascontiguousarray(X, dtype=np.float64)}
    if y is not None:
        arrays["y"] = np.ascontiguousarray(y)
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def decode_dataset(content: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X, y)``; ``y`` is None for a dataset without targets."""
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        X = npz["X"]
        y = npz["y"] if "y" in npz.files else None
    return X, y


def weights_sha256(params: Sequence[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for array in params:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def encode_weights(
    params: Sequence[np.ndarray], standardization: tuple[np.ndarray, np.ndarray] | None
) -> tuple[bytes, str]:
    """The weights ``.npz`` and its ``weights_sha256``; ``params`` is ``[W0, b0, W1, b1, …]``."""
    arrays: dict[str, np.ndarray] = {}
    for i in range(0, len(params), 2):
        arrays[f"W{i // 2}"] = np.ascontiguousarray(params[i])
        arrays[f"b{i // 2}"] = np.ascontiguousarray(params[i + 1])
    if standardization is not None:
        arrays["mean"], arrays["scale"] = standardization
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue(), weights_sha256(list(params))


def decode_weights(
    content: bytes,
) -> tuple[list[np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """``([W0, b0, W1, b1, …], (mean, scale) | None)`` from a weights ``.npz``."""
    with np.load(io.BytesIO(content), allow_pickle=False) as npz:
        n_layers = sum(1 for name in npz.files if name.startswith("W"))
        params: list[np.ndarray] = []
        for i in range(n_layers):
            params += [npz[f"W{i}"], npz[f"b{i}"]]
        standardization = (npz["mean"], npz["scale"]) if "mean" in npz.files else None
    return params, standardization
