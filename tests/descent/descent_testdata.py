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


def churn_records(n: int = 240, seed: int = 3) -> list[dict[str, object]]:
    """A small table as records: churn follows ``plan`` (text) and ``age``; ``city`` is noise;
    ``age`` and ``city`` have blanks (``None``). ``churned`` is "yes" or "no"."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["free", "pro", "team"], size=n)
    age = rng.uniform(18, 70, size=n).round(0)
    city = rng.choice(["paris", "lyon", "nice"], size=n)
    income = rng.normal(50_000, 9_000, size=n).round(0)
    no_age, no_city = rng.random(n) < 0.08, rng.random(n) < 0.1
    return [{"age": None if no_age[i] else float(age[i]),
             "city": None if no_city[i] else str(city[i]), "plan": str(plan[i]),
             "income": float(income[i]),
             "churned": "yes" if (plan[i] == "free") ^ (age[i] > 50) else "no"}
            for i in range(n)]
