"""A small table for the ONNX acceptance tests: its rows as records, as CSV, and as the raw
columns an ONNX graph takes."""

from __future__ import annotations

from typing import Any

import numpy as np

CITIES = ["paris", "oslo", "lima"]


def rows(n: int, seed: int, categorical: bool) -> list[dict[str, Any]]:
    """``size``/``weight`` numeric (blanks), ``city``/``shape`` categorical (``city`` blanks);
    targets ``label`` (text) and ``value`` (a number)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        size, weight, city = rng.normal(), rng.normal(), CITIES[i % 3]
        row: dict[str, Any] = {"size": None if i % 7 == 0 else round(size, 4),
                               "weight": None if i % 9 == 0 else round(weight, 4)}
        score = size + 0.5 * weight
        if categorical:
            row |= {"city": None if i % 11 == 0 else city, "shape": ["round", "square"][i % 2]}
            score += 1.5 if city == "paris" else -0.5
        row |= {"label": "big" if score > 0 else "small", "value": round(3 * score + 10, 4)}
        out.append(row)
    return out


def csv_bytes(table: list[dict[str, Any]], target: str) -> bytes:
    names = [k for k in table[0] if k not in ("label", "value")] + [target]
    lines = [",".join(names)]
    lines += [",".join("" if r[k] is None else str(r[k]) for k in names) for r in table]
    return ("\n".join(lines) + "\n").encode()


def feeds(records: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, np.ndarray]:
    return {name: (np.array([[np.nan if r[name] is None else r[name]] for r in records])
                   if kind == "numeric" else
                   np.array([["" if r[name] is None else r[name]] for r in records], object))
            for name, kind in kinds.items()}
