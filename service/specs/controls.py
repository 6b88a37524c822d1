"""The training controls checked against the dataset (``worker.spec.controls`` declares them):
class weights need a classification task, a loss they weigh, and labels the dataset has."""

from __future__ import annotations

from typing import Any

from service.errors import field_error
from worker.spec import SpecError
from worker.spec.controls import CLASS_WEIGHT, WEIGHTED_LOSSES

LOC: list[str | int] = ["training", "class_weight"]


def control_errors(training: dict[str, Any], network: dict[str, Any], task: str,
                   classes: list[Any] | None) -> list[dict[str, Any]]:
    """422 errors for ``training.class_weight`` (each at its field); fills it in place."""
    value = training.get("class_weight")
    if value is None:
        return []
    if task != "classification":
        return [_error(LOC, "class weights are for classification; this task is " + task)]
    if network["loss"] not in WEIGHTED_LOSSES:
        return [_error(LOC, f"class weights apply to {' and '.join(WEIGHTED_LOSSES)}; the "
                            f"loss is {network['loss']}")]
    try:
        training["class_weight"] = value = CLASS_WEIGHT.fill(value, ("training", "class_weight"))
    except SpecError as exc:
        return [_error(list(exc.loc), exc.msg)]
    names = [str(label) for label in classes or []]
    return [_error([*LOC, key], f"the dataset has no class {key!r}; its classes are "
                                f"{', '.join(names)}")
            for key in (value if isinstance(value, dict) else {}) if key not in names]


def _error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return field_error(["body", *loc], msg)
