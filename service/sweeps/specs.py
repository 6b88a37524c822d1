"""A trial's job spec: the base spec with the trial's parameters set, resolved exactly as
``POST /v1/jobs`` resolves a submitted one (defaults, the dataset's checks, the limits)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError

from service import specs, tables
from service.errors import InvalidInput, field_error
from service.settings import Settings
from service.sweeps import space as spaces
from service.sweeps.config import SweepCreate


def trial_spec(
    config: SweepCreate, params: dict[str, Any], *, dataset: tables.Dataset,
    settings: Settings, targets: np.ndarray | None,
) -> dict[str, Any]:
    """The trial's full spec; `InvalidInput` naming the trial's parameters when it is not a
    valid job (a path that leads nowhere, a value out of the field's bounds)."""
    where = ", ".join(f"{path}={value!r}" for path, value in params.items())
    try:
        body = spaces.apply(config.base, params)
        submit = specs.JobSubmit.model_validate({**body, "dataset_id": config.dataset_id})
        spec = specs.resolve_spec(submit, dataset, settings=settings, targets=targets)
        specs.enforce_budget(specs.estimate(
            spec, specs.trained_as(dataset, spec["task"], targets), settings=settings), settings)
    except spaces.PathError as exc:
        raise _invalid(f"space: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        raise _invalid(f"the trial with {where}: {loc}: {first['msg']}") from None
    except InvalidInput as exc:
        raise _invalid(f"the trial with {where}: {exc}") from None
    return spec


def targets_for(session: Any, config: SweepCreate, dataset: tables.Dataset) -> Any:
    """The stored targets when the task reads them as another kind (else None)."""
    task = config.base.get("task")
    return specs.load_targets(session, dataset) if specs.needs_targets(task, dataset) else None


def check_sweep(config: SweepCreate, *, dataset: tables.Dataset, settings: Settings,
                targets: np.ndarray | None) -> None:
    """Refuse a sweep whose trials would not all be jobs: the base spec and the space's ends
    (each dimension low, high, each choice) resolve; a grid has room for ``max_trials``; a
    ``val_`` metric has a validation split to measure it on."""
    size = spaces.grid_size(config.space)
    if config.method == "grid":
        if size is None:
            raise _invalid("method grid needs every dimension to be int or choice", "space")
        if config.max_trials > size:
            raise _invalid(f"the grid has {size} points; max_trials is {config.max_trials}",
                           "max_trials")
    epochs = 0
    for params in spaces.corners(config.space):
        spec = trial_spec(config, params, dataset=dataset, settings=settings, targets=targets)
        epochs = max(epochs, spec["training"]["epochs"])
        if config.metric.name.startswith("val_") and not spec["training"]["validation_split"]:
            raise _invalid(f"metric {config.metric.name} is measured on the validation split; "
                           "set base.training.validation_split (e.g. 0.2)", "metric")
        names = measures(spec)
        if config.metric.name not in names:
            # Else every trial succeeds without a value and the sweep ends with no best.
            raise _invalid(f"metric {config.metric.name} is not measured by a {spec['task']} "
                           f"job; give one of {', '.join(names)}", "metric", "name")
    rule = config.early_termination
    if rule is not None:
        field, first = (("warmup_epochs", rule.warmup_epochs) if rule.type == "median"
                        else ("min_epochs", rule.min_epochs))
        if first >= epochs:
            # A trial stopped after its last epoch is only struck from the best.
            raise _invalid(f"early_termination.{field} is {first}, but no trial trains more than "
                           f"{epochs} epochs: none would be stopped before its end; give a "
                           f"{field} below {epochs}", "early_termination", field)


def measures(spec: dict[str, Any]) -> tuple[str, ...]:
    """The measures of a job's history rows a sweep may rank by (worker/nn/metrics.py's
    ``evaluate``; ``val_`` ones with a validation split)."""
    names: tuple[str, ...] = (("loss", "mae", "rmse", "r2") if spec["task"] == "regression"
                              else ("loss", "accuracy"))
    if spec["training"]["validation_split"]:
        names += tuple(f"val_{name}" for name in names)
    return names


def _invalid(msg: str, *field: str) -> InvalidInput:
    return InvalidInput(msg, errors=[field_error(["body", *(field or ("space",))], msg)])
