"""BLAS threads per training process.

Each worker process trains one job at a time, and a machine runs ``K`` of them side by side, so
each gets ``cores / K`` BLAS threads (``settings.blas_threads_for``) instead of every BLAS pool
claiming every core and thrashing. The environment variables reach a child before NumPy loads
its BLAS; ``threadpoolctl`` then pins whatever pools did load (it works after import, too).
"""

from __future__ import annotations

import os
from typing import Any

BLAS_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def blas_env(threads: int) -> dict[str, str]:
    """Environment variables that size BLAS pools to ``threads`` in a process started with them."""
    return {name: str(threads) for name in BLAS_ENV_VARS}


_pinned: list[int] = []  # the threads this process's pools are limited to already, if any


def limit_blas_threads(threads: int) -> Any:
    """Limit every loaded BLAS/OpenMP pool of this process to ``threads`` threads.

    Returns the ``threadpool_limits`` object; a worker process keeps its limits until it exits.
    A process forked from one that did this already (the template) inherits the limits: asking
    again is free (threadpoolctl's scan of the loaded libraries takes tens of milliseconds).
    """
    if _pinned == [threads]:
        return None
    os.environ.update(blas_env(threads))
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=threads)
    _pinned[:] = [threads]
    return limits


def blas_threads() -> list[int]:
    """The thread counts of the BLAS pools loaded in this process (for tests and logs)."""
    from threadpoolctl import threadpool_info

    return [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]
