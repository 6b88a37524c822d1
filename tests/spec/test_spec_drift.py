"""The job spec is defined once (``worker.spec``): the engine's checks, the API's models and
JSON schema, and the engine's registries all agree with that one declaration, and no second
definition of a field's bounds or defaults appears anywhere else in the code."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.specs import JobSubmit
from worker import spec
from worker.nn import SpecError, fill_network_defaults, fill_training_defaults
from worker.nn.activations import ACTIVATIONS, DERIVATIVES
from worker.nn.init import INITIALIZERS
from worker.nn.losses import LOSS_FUNCTIONS
from worker.nn.optimizers import OPTIMIZERS
from worker.spec.schema import Integer, Number, numeric_fields

ROOT = Path(__file__).resolve().parents[2]
FIELDS = numeric_fields(spec.JOB)
TAGGED = {"optimizer": spec.OPTIMIZER, "lr_schedule": spec.TRAINING.fields["lr_schedule"]}


def body_at(loc: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """The smallest job body that sets the field at ``loc`` to ``value``."""
    node: Any = value
    for i in range(len(loc) - 1, -1, -1):
        part = loc[i]
        if isinstance(part, int):
            node = [node]
        elif i > 0 and loc[i - 1] in TAGGED:
            # the variant's required fields at a valid value, so only the probed one varies
            variant = TAGGED[loc[i - 1]].variants[part]
            required = {k: f.ge or 1 for k, f in variant.fields.items() if f.required}
            node = {"name": part, **required, **node}
        elif loc[:i] == ("network", "hidden_layers", 0) and part != "units":
            node = {"units": 2, part: node}
        else:
            node = {part: node}
    return {"dataset_id": "ds_1", **node}


def engine_accepts(body: dict[str, Any]) -> bool | None:
    """The engine's verdict, or None for job-level fields the engine never sees."""
    try:
        if "training" in body:
            fill_training_defaults(body["training"])
        elif "network" in body:
            fill_network_defaults({**body["network"], "loss": "mse"})
        else:
            return None
    except SpecError:
        return False
    return True


def api_accepts(body: dict[str, Any]) -> bool:
    try:
        JobSubmit.model_validate(body)
    except ValidationError:
        return False
    return True


def probes(field: Integer | Number) -> list[tuple[Any, bool]]:
    """Values on each side of every bound, with whether the declaration accepts them."""
    step = 1 if isinstance(field, Integer) else 1e-9
    cases: list[tuple[Any, bool]] = []
    for name in ("ge", "gt", "le", "lt"):
        bound = getattr(field, name, None)
        if bound is None:
            continue
        if isinstance(field, Number):
            bound = float(bound)
        inside = {"ge": bound, "gt": bound + step, "le": bound, "lt": bound - step}[name]
        outside = {"ge": bound - step, "gt": bound, "le": bound + step, "lt": bound}[name]
        cases += [(inside, True), (outside, False)]
    return cases


@pytest.mark.parametrize(("loc", "field"), FIELDS, ids=[".".join(map(str, f[0])) for f in FIELDS])
def test_engine_and_api_apply_the_declared_bounds(loc: tuple[Any, ...], field: Any) -> None:
    for value, accepted in probes(field):
        body = body_at(loc, value)
        assert api_accepts(body) is accepted, f"API on {loc} = {value}"
        engine = engine_accepts(body)
        assert engine in (None, accepted), f"engine on {loc} = {value}"


def test_defaults_are_the_declared_ones() -> None:
    api = JobSubmit.model_validate({"dataset_id": "ds_1"}).model_dump(mode="json")
    assert api["training"] == spec.TRAINING.default_value() == fill_training_defaults({})
    assert api["network"]["hidden_layers"] == spec.NETWORK.default_value()["hidden_layers"]
    assert api["max_attempts"] == spec.JOB.fields["max_attempts"].default


def _bounds_in_schema(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _bounds_in_schema(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    found = {k: schema[k] for k in keys if k in schema}
    for option in schema.get("anyOf", []):
        found.update(_bounds_in_schema(option, defs))
    return found


def test_the_api_schema_carries_the_declared_bounds() -> None:
    schema = JobSubmit.model_json_schema()
    defs = schema.get("$defs", {})
    models = {"network": "NetworkSpec", "training": "TrainingSpec",
              "preprocessing": "PreprocessingSpec"}
    for loc, field in FIELDS:
        if {"optimizer", "hidden_layers", "early_stopping", "lr_schedule"} & set(loc):
            continue  # nested models: covered by the probes above
        node = schema if len(loc) == 1 else defs[models[loc[0]]]
        declared = {k: v for k, v in field.json_schema().items() if "imum" in k}
        for option in field.json_schema().get("anyOf", []):
            declared.update({k: v for k, v in option.items() if "imum" in k})
        found = _bounds_in_schema(node["properties"][loc[-1]], defs)
        assert {k: float(v) for k, v in found.items()} == {
            k: float(v) for k, v in declared.items()}, loc


def test_engine_registries_cover_exactly_the_declared_choices() -> None:
    assert set(spec.HIDDEN_ACTIVATIONS) | set(spec.OUTPUT_ACTIVATIONS) == set(ACTIVATIONS)
    assert set(ACTIVATIONS) == set(DERIVATIVES)
    assert set(LOSS_FUNCTIONS) == set(spec.LOSSES)
    assert set(OPTIMIZERS) == set(spec.OPTIMIZER.variants)
    assert set(INITIALIZERS) | {"auto"} == set(spec.INITS)


# --- no second definition -----------------------------------------------------------------

SPEC_TABLES = {
    "TASK_DEFAULTS", "REQUIRED_ACTIVATION", "PARTNER_LOSS", "HIDDEN_ACTIVATIONS",
    "OUTPUT_ACTIVATIONS", "OPTIMIZER_DEFAULTS", "EARLY_STOPPING_DEFAULTS", "TRAINING_DEFAULTS",
    "DTYPES", "TASKS", "INITS", "LOSSES",
}
BOUND_KEYWORDS = {"ge", "gt", "le", "lt"}
SPEC_FIELD_NAMES = {name for loc, _ in FIELDS for name in loc if isinstance(name, str)}


def python_files() -> list[Path]:
    files = []
    for package in ("service", "worker", "descent"):
        files += [p for p in (ROOT / package).rglob("*.py") if "spec" not in p.parent.name
                  or p.parent.name == "specs"]
    return [p for p in files if (ROOT / "worker" / "spec") not in p.parents]


def test_no_second_definition_of_the_spec_tables() -> None:
    found = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            for target in targets:
                if isinstance(target, ast.Name) and target.id in SPEC_TABLES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {target.id}")
    assert not found, f"spec tables are declared in worker/spec only: {found}"


# A sweep's own settings that share a name with a job spec field but mean something else: the
# sweep's sampler seed and its pruning rule's warm-up (a trial's seed and schedule warm-up are
# still bounded in worker/spec only).
SWEEP_SETTINGS = ROOT / "service" / "sweeps" / "config.py"


def test_no_second_definition_of_a_fields_bounds() -> None:
    """A pydantic ``Field(…, ge=…)`` or a ``_check_…(value, "…patience", 0)`` naming a spec
    field outside worker/spec is a second definition of its bounds."""
    found = []
    for path in python_files():
        if path == SWEEP_SETTINGS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and node.target.id in SPEC_FIELD_NAMES and isinstance(node.value, ast.Call)
                    and {k.arg for k in node.value.keywords} & BOUND_KEYWORDS):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.target.id}")
            if not isinstance(node, ast.Call):
                continue
            texts = {a.value for a in ast.walk(node) if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)}
            names = {t.rsplit(".", 1)[-1] for t in texts} & SPEC_FIELD_NAMES
            keywords = {k.arg for k in node.keywords} & BOUND_KEYWORDS
            numbers = [a.value for a in node.args if isinstance(a, ast.Constant)
                       and isinstance(a.value, int | float) and not isinstance(a.value, bool)]
            if names and (keywords or (numbers and "check" in ast.unparse(node.func))):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)[:80]}")
    assert not found, f"bounds of spec fields are declared in worker/spec only: {found}"
