"""Retry backoff: exponential with jitter, capped.

``BACKOFF_BASE_SECONDS`` is read at call time: tests make retries quick by setting
``service.queue.backoff.BACKOFF_BASE_SECONDS`` (monkeypatch), or pass ``base=``.
"""

from __future__ import annotations

import random
from typing import Protocol

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
BACKOFF_JITTER = 0.25  # ±25 %, so jobs failed together don't retry together


class Uniform(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def backoff_seconds(
    attempts: int,
    *,
    rng: Uniform = random,
    base: float | None = None,
    cap: float | None = None,
) -> float:
    """Seconds to wait before retrying a job that has run ``attempts`` times:
    ``min(base * 2**(attempts-1), cap)`` times a uniform factor in [0.75, 1.25]."""
    base = BACKOFF_BASE_SECONDS if base is None else base
    cap = BACKOFF_CAP_SECONDS if cap is None else cap
    delay = min(base * 2.0 ** (max(attempts, 1) - 1), cap)
    return delay * rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)


def steps(*, rng: Uniform = random) -> list[float]:
    """``backoff_seconds(n)`` for n = 0, 1, … up to the first capped one (one jitter draw), for
    a SQL ``CASE attempts`` (the last entry also serves every larger count)."""
    factor = rng.uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    base, cap = BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS
    delays = [min(base, cap)]
    while delays[-1] < cap and len(delays) < 64:
        delays.append(min(base * 2.0 ** (len(delays) - 1), cap))
    return [delay * factor for delay in delays]
