"""Where the database lives: the user's data directory, whatever the working directory, and never
created by a command that only reads (issue 11, item 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port, wait_until_ready

pytestmark = [pytest.mark.system, pytest.mark.slow]

GENERATED = "It is shown only this once"


def _environment(home: Path) -> dict[str, str]:
    """The test's environment with no DESCENT_* setting and a HOME of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DESCENT_") and k != "XDG_DATA_HOME"}
    return {**env, "HOME": str(home), "DESCENT_HEARTBEAT_SECONDS": "0.5"}


def _data_file(home: Path) -> Path:
    return home / ".local" / "share" / "descent" / "descent.db"


@contextmanager
def _serve(home: Path, cwd: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = cwd / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "0"],
            cwd=cwd, env=_environment(home), stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, log, timeout=60)
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _generated_key(log: Path) -> str | None:
    lines = log.read_text().splitlines()
    found = [i for i, line in enumerate(lines) if GENERATED in line]
    return lines[found[0] + 1].strip() if found else None


def _database_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("Descent database:")]


def test_serve_from_two_directories_finds_one_database(tmp_path: Path) -> None:
    home, first, second = tmp_path / "home", tmp_path / "one", tmp_path / "two"
    for directory in (home, first, second):
        directory.mkdir()
    expected = _data_file(home)

    with _serve(home, first) as (url, log):
        key = _generated_key(log)
        assert key, log.read_text()
        assert _database_lines(log) == [f"Descent database: {expected}"]
    with _serve(home, second) as (url, log):
        # The same database: no new key was needed, and the first one is accepted.
        assert _generated_key(log) is None, log.read_text()
        assert _database_lines(log) == [f"Descent database: {expected}"]
        answer = httpx.get(f"{url}/v1/jobs", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.text
    assert expected.exists()
    assert not list(first.glob("descent.db*")) and not list(second.glob("descent.db*"))


def _descent(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], cwd=cwd, env=_environment(home),
        capture_output=True, text=True, timeout=60,
    )


def test_keys_list_on_a_missing_database_is_an_error_naming_it(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    cwd.mkdir()
    listed = _descent(home, cwd, "keys", "list")
    assert listed.returncode != 0
    assert str(_data_file(home)) in listed.stderr, listed.stderr
    assert not _data_file(home).exists() and not _data_file(home).parent.exists()
    assert list(cwd.iterdir()) == []

    named = tmp_path / "nowhere.db"
    listed = _descent(home, cwd, "keys", "list", "--database-url", f"sqlite:///{named}")
    assert listed.returncode != 0 and str(named) in listed.stderr, listed.stderr
    assert not named.exists()


def test_a_worker_never_creates_its_database(tmp_path: Path) -> None:
    named = tmp_path / "missing.db"
    started = _descent(tmp_path, tmp_path, "worker", "--database-url", f"sqlite:///{named}")
    assert started.returncode == 2 and str(named) in started.stderr, started.stderr
    assert not named.exists()
