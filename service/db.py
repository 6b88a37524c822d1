"""Connecting to the database: SQLite (embedded, one host) or PostgreSQL (scale-out).

SQLite is set up for many processes on one host: WAL (readers never block the writer), a busy
timeout, foreign keys, and ``BEGIN IMMEDIATE`` for write transactions so two writers queue on the
lock up front instead of failing at their first write. A write that still meets "database is
locked" is retried with jittered backoff (`run_write`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
LOCKED_RETRIES = 8


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (not psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _setup_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is always DEFERRED).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@dataclass(frozen=True)
class Database:
    """An engine for reads and one whose transactions take the write lock at BEGIN (SQLite)."""

    url: str
    engine: Engine
    writer: Engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (its transaction is rolled back at the end)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction, committed on success; SQLite takes the lock at BEGIN."""
        with Session(self.writer, expire_on_commit=False) as session, session.begin():
            yield session

    def run_write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a write transaction, retrying with jitter while SQLite is locked."""
        for attempt in range(LOCKED_RETRIES):
            try:
                with self.write() as session:
                    return fn(session)
            except OperationalError as exc:
                if not is_locked_error(exc) or attempt == LOCKED_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def is_locked_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def connect(url: str, *, pool_size: int = 5) -> Database:
    """Open a `Database` for ``url``. Call again in a child process (engines don't survive fork)."""
    url = normalize_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": timeout}}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=10)
    engine = create_engine(url, **kwargs)
    writer: Engine = engine
    if engine.dialect.name == "sqlite":
        _setup_sqlite(engine)
        writer = engine.execution_options(sqlite_begin="IMMEDIATE")
    return Database(url=url, engine=engine, writer=writer)


