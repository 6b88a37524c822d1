"""Migrations: the initial schema is exactly the tables, `descent migrate` is safe to run
concurrently, and an old database is refused with an actionable message."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service import migration, tables
from service.commands import migrate
from service.db import Database, connect

ROOT = Path(__file__).resolve().parents[2]


def test_head_creates_exactly_the_tables(db: Database) -> None:
    assert set(inspect(db.engine).get_table_names()) == {
        *tables.Base.metadata.tables,
        "alembic_version",
    }
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, tables.Base.metadata) == []
    assert migration.current_revision(db) == migration.head_revision()
    migration.check_schema(db)  # does not raise


def test_check_schema_refuses_an_empty_database(empty_db: Database) -> None:
    assert migration.current_revision(empty_db) is None
    with pytest.raises(migration.SchemaBehindError, match="run `descent migrate`") as info:
        migration.check_schema(empty_db)
    assert migration.head_revision() in str(info.value)


def test_check_schema_refuses_an_old_database(db: Database) -> None:
    with db.write() as session:
        session.connection().exec_driver_sql("UPDATE alembic_version SET version_num = '0000'")
    with pytest.raises(migration.SchemaBehindError, match=r"at 0000, .* run `descent migrate`"):
        migration.check_schema(db)


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    before, after = migration.upgrade(database_url)
    assert (before, after) == (None, migration.head_revision())
    assert migration.upgrade(database_url) == (after, after)


def test_migrate_command_prints_what_it_did(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert migrate.main(["migrate", "--database-url", database_url]) == 0
    assert f"from empty to {migration.head_revision()}" in capsys.readouterr().out
    assert migrate.main(["migrate", "--database-url", database_url]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_migrate_command_reports_failure(capsys: pytest.CaptureFixture[str]) -> None:
    url = "sqlite:////nonexistent-dir/for/sure/descent.db"
    assert migrate.main(["migrate", "--database-url", url]) == 1
    assert "could not migrate" in capsys.readouterr().err


def test_alembic_config_works_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # The newest is the one no other revises (numbers are handed out ahead, so the chain's
    # order need not be the files' order).
    revisions, revised = set(), set()
    for path in (ROOT / "migrations" / "versions").glob("0*.py"):
        text = path.read_text()
        revisions |= set(re.findall(r'^revision: str = "(\w+)"', text, re.M))
        revised |= set(re.findall(r'^down_revision: str \| None = "(\w+)"', text, re.M))
    assert revisions - revised == {migration.head_revision()}


@pytest.mark.slow
def test_concurrent_migrate_on_an_empty_database(database_url: str) -> None:
    command = [sys.executable, "-m", "service.cli", "migrate", "--database-url", database_url]
    procs = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, (out + err).decode()
    outputs = b"".join(out for _, out, _ in results).decode()
    assert outputs.count("migrated from empty") == 1
    assert outputs.count("nothing to do") == 2
    db = connect(database_url)
    try:
        migration.check_schema(db)
    finally:
        db.dispose()
