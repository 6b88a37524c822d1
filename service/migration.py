"""The database schema's version: migrating to head (safely, from many processes at once) and
checking that a database is at the revision this code needs.

Migrations live in the `migrations` package (Alembic), found through the package path, so
`descent migrate` works from any directory and from an installed Descent.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

import migrations
from service.db import Database, connect, is_locked_error, normalize_url

# Any constant both migrators agree on: pg_advisory_lock's key while an upgrade runs.
MIGRATION_LOCK_KEY = 0x44455343454E54  # "DESCENT"
LOCKED_RETRIES = 10


class SchemaBehindError(RuntimeError):
    """The database is not at the schema revision this code needs."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        at = f"at {current}" if current else "empty (no schema)"
        super().__init__(
            f"the database schema is {at}, this Descent needs {head}: run `descent migrate`"
        )


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the `migrations` package (and at ``url`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if url:
        # configparser interpolation: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _revision_on(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with db.engine.connect() as conn:
        return _revision_on(conn)


def check_schema(db: Database) -> None:
    """Raise `SchemaBehindError` unless the database is at this code's head revision."""
    current, head = current_revision(db), head_revision()
    if current != head:
        raise SchemaBehindError(current, head)


def _upgrade_locked(db: Database, config: Config) -> tuple[str | None, str]:
    """Run the migrations on one connection that holds the migration lock throughout."""
    if db.is_postgres:
        with db.engine.connect() as conn:
            # A session lock: other migrators wait here until we have committed and unlocked.
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                with conn.begin():
                    return _upgrade_on(conn, config)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                conn.commit()
    # SQLite: the writer's transactions begin IMMEDIATE, holding the write lock from the start;
    # DDL is transactional, so a second migrator waits and then finds the schema at head.
    with db.writer.connect() as conn, conn.begin():
        return _upgrade_on(conn, config)


def _upgrade_on(conn: Connection, config: Config) -> tuple[str | None, str]:
    before = _revision_on(conn)
    # env.py runs inside our transaction (Alembic sees it as external and leaves it to us).
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
    after = _revision_on(conn)
    assert after is not None
    return before, after


def upgrade(url: str) -> tuple[str | None, str]:
    """Migrate the database at ``url`` to head; returns (revision before, revision after).

    Safe to run from many processes at once: PostgreSQL serializes on an advisory lock, SQLite on
    its write lock (retried while another process holds it past the busy timeout).
    """
    config = alembic_config(url)
    db = connect(url, pool_size=1)
    try:
        for attempt in range(LOCKED_RETRIES):
            try:
                return _upgrade_locked(db, config)
            except OperationalError as exc:
                if not is_locked_error(exc) or attempt == LOCKED_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.1 * 2**attempt))
        raise AssertionError("unreachable")
    finally:
        db.dispose()
