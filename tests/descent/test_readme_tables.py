"""The README's table workflow, pasted as a user would, against a real `descent serve`: the
shell session (CLI and curl) and the Python example, with the outputs the README shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from descent_server import ROOT, Server

pytestmark = [pytest.mark.system, pytest.mark.slow]

README = (ROOT / "README.md").read_text()
SECTION = README[README.index("## Tables: "):]


def block(language: str, nth: int = 0) -> str:
    return re.findall(rf"```{language}\n(.*?)```", SECTION, re.S)[nth]


def run(server: Server, command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = server.env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_readme_table_session(server: Server, tmp_path: Path) -> None:
    shell = run(server, ["bash", "-euo", "pipefail", "-c", block("bash")], tmp_path)
    assert shell.returncode == 0, shell.stdout + shell.stderr
    out = shell.stdout
    for line in block("text").strip().splitlines():  # the columns the README shows
        assert line in out.splitlines(), f"{line!r} not in:\n{out}"
    answer = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert answer["ignored_columns"] == ["note"] and len(answer["predictions"]) == 2
    shown = re.search(r'predictions":\[(.*?)\]', SECTION)
    assert shown and json.loads(f"[{shown.group(1)}]") == answer["predictions"]
    csv_rows = out[out.index("prediction,p_no,p_yes"):].splitlines()
    assert [row.split(",")[0] for row in csv_rows[1:3]] == answer["predictions"]

    python = run(server, [sys.executable, "-c", block("python")], tmp_path)
    assert python.returncode == 0, python.stderr
    assert re.fullmatch(r"\[('(yes|no)'(, )?){3}\]\n", python.stdout), python.stdout
