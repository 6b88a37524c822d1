"""Idle workers waiting for work without claiming in a tight loop."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from service.db import Database
from service.queue._sql import clock, jobs


def has_ready_work(db: Database) -> bool:
    """Whether some queued job may be claimed now (a cheap read; the claim still decides)."""
    with db.read() as session:
        c = clock(db)
        ready = select(jobs.c.id).where(jobs.c.status == "queued", jobs.c.run_after <= c.now())
        return session.execute(ready.limit(1)).first() is not None


def wait_for_work(
    db: Database,
    *,
    timeout: float,
    poll_seconds: float = 0.25,
    stop: threading.Event | None = None,
) -> bool:
    """Wait up to ``timeout`` seconds for a ready job (True) or until ``stop`` is set (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if stop is not None and stop.is_set():
            return False
        if has_ready_work(db):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        pause = min(poll_seconds, left)
        if stop is not None:
            stop.wait(pause)
        else:
            time.sleep(pause)
