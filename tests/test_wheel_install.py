"""The wheel as a user installs it: built, installed (not editable) into a fresh venv, then
imported and run from outside the checkout, so nothing can come from the working tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.system]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]

TOP_LEVEL = """
from importlib.metadata import distribution
files = distribution("descent").files or []
print(" ".join(sorted({f.parts[0] for f in files if f.parts[0] != ".." and "." not in f.parts[0]})))
"""


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the tracked files: a stale build/ in the checkout cannot leak in.
    listed = run("git", "ls-files", "-z", cwd=REPO)
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():
            (where / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, where / "src" / name)
    built = run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", where / "dist",
                where / "src", cwd=where)
    assert built.returncode == 0, built.stderr
    (wheel,) = (where / "dist").glob("descent-*.whl")
    made = run(sys.executable, "-m", "venv", where / "venv", cwd=where)
    assert made.returncode == 0, made.stderr
    installed = run(where / "venv" / "bin" / "pip", "install", "-q", "--disable-pip-version-check",
                    wheel, cwd=where)
    assert installed.returncode == 0, installed.stderr
    return where / "venv"


def test_users_import_descent_and_run_the_command(venv: Path) -> None:
    python, cwd = venv / "bin" / "python", venv.parent
    imported = run(python, "-c", "from descent import Client; print(Client.__module__)", cwd=cwd)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "descent.api"
    version = run(venv / "bin" / "descent", "--version", cwd=cwd)
    assert version.returncode == 0, version.stderr
    assert version.stdout.split() == ["descent", VERSION]


def test_no_top_level_client_package_is_installed(venv: Path) -> None:
    python, cwd = venv / "bin" / "python", venv.parent
    assert run(python, "-c", "import client", cwd=cwd).returncode != 0
    listed = run(python, "-c", TOP_LEVEL, cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["descent", "migrations", "service", "worker"]


def test_the_wheel_ships_the_offline_docs_page(venv: Path) -> None:
    python, cwd = venv / "bin" / "python", venv.parent
    shipped = run(python, "-c", "from service.apidocs import ASSETS, STATIC; "
                  "print(all((STATIC / n).stat().st_size > 0 for n in [*ASSETS, 'LICENSE']))",
                  cwd=cwd)
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout.strip() == "True"
