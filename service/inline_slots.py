"""Slots bounding the work an API process does inline, in request threads (gradient checks,
small evaluations): each such request decodes a whole dataset, so without a bound the request
threads (40 by default) could hold 40 datasets at once.

``held(state, name, limit)`` takes one of ``limit`` slots named ``name`` on the app's
``state`` without waiting, and yields whether it got one; the caller decides what a busy
process answers (429 with ``Retry-After``, or the work queued as a job instead).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.Lock()


@contextmanager
def held(state: Any, name: str, limit: int) -> Iterator[bool]:
    """Yield True holding one of the ``limit`` slots ``name`` (made on first use), else
    False at once when all are taken."""
    attribute = f"{name}_slots"
    with _LOCK:
        if getattr(state, attribute, None) is None:
            setattr(state, attribute, threading.BoundedSemaphore(limit))
    slots: threading.BoundedSemaphore = getattr(state, attribute)
    got = slots.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            slots.release()
