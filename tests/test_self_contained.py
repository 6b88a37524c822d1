"""The project stands on its own: no file of it points at the `shared` folder beside the
repository (where the project was first written; absent from every clone)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ".ini", ".json"}
# Spelled in two pieces so this file does not find itself.
NEEDLES = ("shared" + "/", ".." + "/shared")


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    return [REPO / name for name in listed if name and Path(name).suffix in SUFFIXES]


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    files = tracked_files()
    assert any(path.name == "README.md" for path in files)  # the listing itself works
    hits = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        if path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if any(needle in line for needle in NEEDLES)
    ]
    assert not hits, "files point outside the repository:\n" + "\n".join(hits)


def test_jobs_submit_help_points_at_the_projects_api_reference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from descent.cli import main

    assert main(["jobs", "submit", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(API.md)" not in text
    assert "docs/api.md" in text
