"""docs/api.md keeps up with the code: every served operation is in it, with its error answers,
and every setting and spec default it quotes is the code's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.settings import Settings
from service.specs import JobSubmit
from worker import spec

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
FLAT = " ".join(DOC.split())


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("api-doc")
    app = create_app(settings=Settings(database_url=f"sqlite:///{where}/doc.db"))
    schema: dict[str, Any] = app.openapi()
    return schema


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_served_operation_is_documented(openapi: dict[str, Any]) -> None:
    verbs = "GET|POST|PUT|PATCH|DELETE"
    documented = {shape(p) for p in re.findall(rf"(?:{verbs}) (/[\w/{{}}.-]*)", FLAT)}
    documented |= {f"{m} {shape(p)}" for m, p in re.findall(rf"({verbs}) (/[\w/{{}}.-]*)", FLAT)}
    missing = [f"{m.upper()} {p}" for p, ops in openapi["paths"].items() for m in ops
               if f"{m.upper()} {shape(p)}" not in documented]
    assert not missing, f"document in docs/api.md: {missing}"


def test_every_error_status_is_explained(openapi: dict[str, Any]) -> None:
    statuses = {code for ops in openapi["paths"].values() for op in ops.values()
                for code in op["responses"] if code[0] in "45"}
    missing = sorted(code for code in statuses if code not in DOC)
    assert not missing, f"say in docs/api.md when these are answered: {missing}"


def test_settings_named_in_the_doc_exist() -> None:
    named = set(re.findall(r"DESCENT_([A-Z_]+)", DOC))
    unknown = sorted(n for n in named if n.lower() not in Settings.model_fields)
    assert not unknown, f"docs/api.md names settings that do not exist: {unknown}"


def test_the_spec_defaults_in_the_doc_are_the_codes() -> None:
    start = DOC.index("POST /v1/jobs` (optional header")
    body = DOC[DOC.index("```json", start) + 7: DOC.index("```", DOC.index("```json", start) + 7)]
    documented = json.loads(body)
    assert documented["network"] == spec.NETWORK.default_value() | {
        "output_activation": "softmax", "loss": "cross_entropy"}
    assert documented["training"] == spec.TRAINING.default_value()
    assert documented["preprocessing"] == spec.PREPROCESSING.default_value()
    for name in ("max_attempts", "priority"):
        assert documented[name] == JobSubmit.model_fields[name].default
