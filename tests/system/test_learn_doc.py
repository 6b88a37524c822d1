"""docs/learn.md's worked example (issue 17, item 4) against a real server and worker: the
document's own commands (its ``<!-- learn:run -->`` blocks) run in bash and print exactly its
``<!-- learn:output -->`` block, and those numbers are the ones its hand derivation prints (the
``<!-- learn:table -->`` table, the loss and the output after the step). Also: the job's spec
keeps ``network.initial_weights``, and a wrongly shaped layer is 422 at its field."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.system.served import serve

pytestmark = [pytest.mark.system, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "learn.md"
FENCE = re.compile(r"```\w*\n(.*?)```", re.S)


def _marked(text: str, mark: str) -> list[str]:
    """The bodies following ``<!-- learn:mark -->`` (a fenced block, or a table)."""
    found = []
    for match in re.finditer(rf"<!-- learn:{mark} -->\n", text):
        rest = text[match.end():]
        fenced = FENCE.match(rest)
        found.append(fenced.group(1) if fenced else rest.split("\n\n")[0])
    return found


def _table(text: str) -> dict[str, tuple[str, str, str]]:
    """``{name: (before, gradient, after)}`` from the derivation's summary table."""
    rows = _marked(text, "table")[0].strip().splitlines()[2:]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return {c[0]: (c[1], c[2], c[3]) for c in cells}


def test_learn_doc_commands_reproduce_the_hand_derivation(tmp_path: Path) -> None:
    text = DOC.read_text()
    script = "\n".join(_marked(text, "run"))
    expected = _marked(text, "output")[0]
    assert script.count("curl") >= 5 and expected.count("\n") == 11
    with serve(tmp_path, workers=1) as served:
        env = {**os.environ, "DESCENT_URL": served.url, "DESCENT_API_KEY": served.key,
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        work = tmp_path / "reader"
        work.mkdir()
        run = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env,
                             capture_output=True, text=True, timeout=180)
        files = [(p.name, p.read_text()[:600]) for p in work.glob("*.json")]
        assert run.returncode == 0, (run.stderr, files)
        assert run.stdout == expected, (run.stdout, files)

        # the API's numbers are the derivation's, to its printed precision
        table = _table(text)
        printed = {line.split()[0]: line.split() for line in expected.splitlines()[1:-1]}
        assert set(table) == set(printed) and len(table) == 9
        for name, (before, gradient, after) in table.items():
            assert printed[name][1:] == [before, "dC/dp", gradient, "after", after]
        loss = expected.splitlines()[0].split()[-1]
        output = expected.splitlines()[-1].split()[-1]
        assert f"C = (a − y)² = (0.7513650696 − 0.01)² = {loss}" in text
        assert f"a = {output}" in text

        headers = served.headers
        job = json.loads((work / "job.json").read_text())
        dataset = json.loads((work / "dataset.json").read_text())["id"]
        stored = httpx.get(f"{served.url}/v1/jobs/{job['id']}", headers=headers).json()
        weights = stored["spec"]["network"]["initial_weights"]
        assert weights[1] == {"W": [[0.40], [0.45]], "b": [0.60]}
        _assert_shapes_refused(served.url, headers, dataset)


def _assert_shapes_refused(url: str, headers: dict[str, str], dataset: str) -> None:
    """A layer of the wrong shape, a missing layer and a NaN-free but ragged ``W`` are 422,
    each naming the layer's field."""
    network = {"hidden_layers": [{"units": 2, "activation": "sigmoid"}],
               "output_activation": "sigmoid", "loss": "mse"}
    good = [{"W": [[0.15, 0.25], [0.20, 0.30]], "b": [0.35, 0.35]},
            {"W": [[0.40], [0.45]], "b": [0.60]}]
    cases = [
        ([good[0], {"W": [[0.40, 0.1], [0.45, 0.1]], "b": [0.60]}],
         ["body", "network", "initial_weights", 1, "W"], "(fan_in, fan_out) = (2, 1)"),
        ([{"W": good[0]["W"], "b": [0.35]}, good[1]],
         ["body", "network", "initial_weights", 0, "b"], "fan_out = 2"),
        ([good[0]], ["body", "network", "initial_weights"], "the network has 2"),
        ([{"W": [[0.15, 0.25], [0.20]], "b": [0.35, 0.35]}, good[1]],
         ["body", "network", "initial_weights", 0, "W"], "rows of different lengths"),
    ]
    for weights, loc, words in cases:
        body = {"dataset_id": dataset, "task": "regression",
                "network": {**network, "initial_weights": weights},
                "training": {"validation_split": None, "early_stopping": None}}
        answer = httpx.post(f"{url}/v1/jobs", headers=headers, json=body)
        assert answer.status_code == 422, answer.text
        errors = answer.json()["errors"]
        assert any(e["loc"] == loc and words in e["msg"] for e in errors), errors
