"""API keys remembered by each API process: key hash → caller, revocations seen within a second.

Every request used to look its key up (an indexed SELECT: ~40 µs on SQLite, a network round
trip and a worker-thread hop on PostgreSQL). Now a process remembers the callers of keys it has
found, and at most ``CHECK_SECONDS`` after its last look it reads the keys table's *revocation
state* — ``(keys, revoked keys, latest revocation)``, one aggregate over a table of a few rows —
before trusting what it remembers; when the state moved (a key revoked, created or deleted, by
any process), it forgets everything. So a key revoked anywhere stops working in every API
process within ``CHECK_SECONDS`` plus one query, on SQLite and PostgreSQL alike, at the cost of
one small query per process per ``CHECK_SECONDS`` while requests arrive (none when idle).

Why not PostgreSQL's NOTIFY or SQLite's ``PRAGMA data_version``: ``data_version`` changes with
every commit of any table (a training job's epochs, several a second), which would empty the
cache all the time; NOTIFY needs a listening connection and thread per process and still a
poll when that connection drops. The aggregate is the same query on both and needs no
migration.

A lookup that began before a state change may finish after it: `remember` drops its answer
(``generation`` moved) rather than keep a key the change may have revoked. Unknown keys are
never remembered: each is looked up, as before.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from service.auth import Caller
from service.db import Database

CHECK_SECONDS = 0.5
MAX_KEYS = 10_000  # beyond this many remembered keys, start again (one lookup each)
_STATE = "SELECT COUNT(*), COUNT(revoked_at), MAX(revoked_at) FROM api_keys"


def revocation_state(db: Database) -> tuple[Any, ...]:
    """The keys table's state as far as revocation goes (one pooled DBAPI connection, no ORM)."""
    conn = db.engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(_STATE)
        row = cursor.fetchone()
        cursor.close()
    finally:
        conn.close()
    return tuple(str(value) for value in row or ())


class KeyCache:
    """Callers by key hash, trusted for ``CHECK_SECONDS`` after the last revocation check."""

    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        self.check_seconds = check_seconds
        self.generation = 0  # bumped whenever everything is forgotten
        self._callers: dict[str, Caller] = {}
        self._state: tuple[Any, ...] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def due(self) -> bool:
        """The remembered callers may be stale: check (`refresh`) before using them."""
        return time.monotonic() - self._checked >= self.check_seconds

    def refresh(self, db: Database) -> None:
        """Read the revocation state; forget every caller when it moved."""
        started = time.monotonic()
        state = revocation_state(db)
        with self._lock:
            if state != self._state:
                self._callers.clear()
                self.generation += 1
                self._state = state
            self._checked = started

    def get(self, digest: str) -> Caller | None:
        return None if self.due() else self._callers.get(digest)

    def remember(self, digest: str, caller: Caller, generation: int) -> None:
        """Keep ``caller``, found by a lookup that began at ``generation``."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._callers) >= MAX_KEYS:
                self._callers.clear()
            self._callers[digest] = caller
