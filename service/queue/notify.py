"""Waking idle workers the moment a job is queued, instead of at their next poll.

PostgreSQL: ``enqueue`` runs ``NOTIFY descent_jobs`` in its own transaction (delivered on commit,
never for a rolled-back job), and each idle worker ``LISTEN``s on a dedicated connection.
SQLite: ``PRAGMA data_version`` on an open connection changes whenever another connection
commits (any process on the host) and costs no disk I/O, so a watcher reads it every
``SQLITE_WATCH_SECONDS`` and, when it changed, checks for ready work with one cheap read.
Either way the claim still decides; polling stays as the fallback (a lost connection, a job
whose backoff ends, a missed signal).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.db import Database
from service.queue.wait import has_ready_work

log = logging.getLogger("descent.queue")

CHANNEL = "descent_jobs"
SQLITE_WATCH_SECONDS = 0.01
RECONNECT_SECONDS = 5.0


def notify_workers(db: Database, session: Session) -> None:
    """Inside a write transaction that queued a job: wake listening workers at its commit."""
    if db.is_postgres:
        session.execute(text(f"NOTIFY {CHANNEL}"))


def watch_for_jobs(
    db: Database,
    *,
    wake: Callable[[], None],
    stop: threading.Event,
    wanted: Callable[[], bool] = lambda: True,
) -> None:
    """Call ``wake()`` whenever a job may have become ready, until ``stop`` is set (run it in a
    daemon thread). ``wanted()`` false (no free slot) skips the SQLite check."""
    while not stop.is_set():
        try:
            if db.is_postgres:
                _listen(db, wake, stop)
            elif db.is_sqlite:
                _watch_sqlite(db, wake, stop, wanted)
            else:
                return
        except Exception as exc:  # the database went away: polling covers us meanwhile
            log.warning("job wake-ups paused (%s: %s); polling meanwhile",
                        type(exc).__name__, exc)
            stop.wait(RECONNECT_SECONDS)


def _listen(db: Database, wake: Callable[[], None], stop: threading.Event) -> None:
    pooled = db.engine.raw_connection()
    conn = pooled.driver_connection
    pooled.detach()  # ours alone, closed for real below; LISTEN needs autocommit
    try:
        conn.autocommit = True  # type: ignore[union-attr]
        conn.execute(f"LISTEN {CHANNEL}")  # type: ignore[union-attr]
        wake()  # anything queued before we listened
        while not stop.is_set():
            for _ in conn.notifies(timeout=0.5, stop_after=1):  # type: ignore[union-attr]
                wake()
    finally:
        pooled.close()


def _watch_sqlite(
    db: Database, wake: Callable[[], None], stop: threading.Event, wanted: Callable[[], bool]
) -> None:
    path = db.engine.url.database
    if not path or path == ":memory:":
        return
    conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
    try:
        version = None
        while not stop.wait(SQLITE_WATCH_SECONDS):
            current = conn.execute("PRAGMA data_version").fetchone()[0]
            if current != version:
                if version is not None and wanted() and has_ready_work(db):
                    wake()
                version = current
    finally:
        conn.close()
