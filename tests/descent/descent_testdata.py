"""Small, learnable datasets for the system tests (deterministic, no downloads)."""

from __future__ import annotations

import numpy as np


def blobs(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three separable classes in 4 features: ``X`` (n, 4), labels ``y`` (n,) in {0, 1, 2}."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[0, 0, 0, 0], [3, 3, 0, 0], [0, 3, 3, 3]], dtype=float)
    return centers[y] + rng.normal(scale=0.5, size=(n, 4)), y


def linear(n: int = 120, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A noisy linear regression in 3 features with an offset scale: ``X`` (n, 3), ``y`` (n,)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=5.0, scale=2.0, size=(n, 3))
    return X, X @ np.array([1.5, -2.0, 0.5]) + 3.0 + rng.normal(scale=0.1, size=n)
