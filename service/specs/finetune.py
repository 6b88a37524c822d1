"""Fine-tuning (``training.init_from_model``): the parent model a job starts from, and what the
parent fixes in the job's spec (docs/api.md "Fine-tuning").

A fine-tuned job starts from the parent's weights and keeps the preprocessing fitted on the
parent's training rows (column steps, standardization, regression's target scaling), so the
network and everything before it are the parent's:

- ``network``: the parent's when the request gives none; one given must have the parent's
  layers (units and activations), output activation and loss (dropout may differ), and no
  ``initial_weights`` (the parent's weights are the start);
- ``task``, ``preprocessing``, ``training.standardize`` and ``training.standardize_targets``:
  the parent's; a value given that differs is refused;
- the dataset: the parent's columns by name (any order), each of the same kind, none missing and
  none more; labels among the parent's classes (classification), as many target columns as the
  parent predicts (regression).

The rest of ``training`` (epochs, optimizer, seed, dtype, validation, early stopping, …) is the
request's own. Each mismatch is a 422 at its field.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from service import tables
from service.errors import NotFound, field_error
from service.evaluation import label_key
from service.repository.models import get_model
from worker.spec import PREPROCESSING

INHERITED_TRAINING = ("standardize", "standardize_targets")


def load_parent(session: Session, *, tenant_id: str, model_id: str | None) -> tables.Model | None:
    """The tenant's model ``model_id`` (None when not fine-tuning); 404 for another tenant's or
    an unknown one."""
    if model_id is None:
        return None
    try:
        return get_model(session, tenant_id=tenant_id, model_id=model_id)
    except NotFound:
        raise NotFound(f"There is no model {model_id!r} (training.init_from_model).") from None


def inherit(spec: dict[str, Any], submit: Any, dataset: tables.Dataset,
            parent: tables.Model) -> list[dict[str, Any]]:
    """Fill ``spec`` (resolved, in place) with what the parent fixes; the errors, each at its
    field, of what the request gives against it."""
    errors: list[dict[str, Any]] = []
    if spec["task"] != parent.task:
        errors.append(_error(["task"], f"task is {spec['task']!r}; model {parent.id} was "
                                       f"trained for {parent.task!r}, and fine-tuning keeps it"))
    errors += _network(spec, submit, parent)
    theirs = parent.spec.get("preprocessing") or PREPROCESSING.default_value()
    if "preprocessing" in submit.model_fields_set and spec["preprocessing"] != theirs:
        errors.append(_error(["preprocessing"], (
            f"fine-tuning keeps model {parent.id}'s fitted preprocessing: leave preprocessing "
            f"out (it is {theirs})")))
    spec["preprocessing"] = copy.deepcopy(theirs)
    parent_training = parent.spec.get("training") or {}
    for field in INHERITED_TRAINING:
        value = parent_training.get(field, True)
        if field in submit.training.model_fields_set and spec["training"][field] != value:
            errors.append(_error(["training", field], (
                f"fine-tuning keeps model {parent.id}'s fitted scaling: {field} is {value} "
                "there; leave it out")))
        spec["training"][field] = value
    problem = column_problem(parent, dataset) or target_problem(parent, dataset)
    if problem is not None:
        errors.append(_error(["dataset_id"], problem))
    return errors


def _network(spec: dict[str, Any], submit: Any, parent: tables.Model) -> list[dict[str, Any]]:
    theirs = copy.deepcopy(parent.spec["network"])
    theirs.pop("initial_weights", None)  # stored only when given; the parent's weights replace it
    if "network" not in submit.model_fields_set:
        spec["network"] = theirs
        return []
    ours, spec["network"] = spec["network"], theirs  # refused below: no errors of its own
    if ours.get("initial_weights") is not None:
        return [_error(["network", "initial_weights"], (
            "initial_weights and training.init_from_model are both starting points; give one"))]
    if _architecture(ours) != _architecture(theirs):
        return [_error(["network"], (
            f"fine-tuning keeps model {parent.id}'s network: hidden layers "
            f"{_layers(theirs)}, output {theirs['output_activation']} with "
            f"{theirs['loss']} loss; leave network out to take it"))]
    spec["network"] = ours  # the parent's layers, with this job's dropout
    return []


def _architecture(network: dict[str, Any]) -> tuple[Any, ...]:
    return (_layers(network), network["output_activation"], network["loss"])


def _layers(network: dict[str, Any]) -> list[str]:
    return [f"{layer['units']}:{layer['activation']}" for layer in network["hidden_layers"]]


def column_problem(parent: tables.Model, dataset: tables.Dataset) -> str | None:
    """Why ``dataset``'s feature columns are not the parent's (names and kinds), or None."""
    schema = dataset.columns or [{"name": n, "kind": "numeric"} for n in
                                 (dataset.feature_names or
                                  [f"x{j}" for j in range(dataset.n_features)])]
    if parent.columns is None:  # a model from before columns had kinds: numbers by position
        if dataset.n_features != parent.n_features or any(c["kind"] != "numeric"
                                                          for c in schema):
            return (f"dataset {dataset.id} has {dataset.n_features} columns; model {parent.id} "
                    f"takes {parent.n_features} numeric columns by position")
        return None
    ours = {c["name"]: c["kind"] for c in schema}
    theirs = {c["name"]: c["kind"] for c in parent.columns}
    parts = []
    missing = [name for name in theirs if name not in ours]
    extra = [name for name in ours if name not in theirs]
    kinds = [name for name in theirs if name in ours and ours[name] != theirs[name]]
    if missing:
        parts.append(f"missing {_names(missing)}")
    if extra:
        parts.append(f"not in the model {_names(extra)}")
    if kinds:
        parts.append("of another kind " + ", ".join(
            f"{name!r} ({ours[name]} here, {theirs[name]} in the model)" for name in kinds[:20]))
    if not parts:
        return None
    return (f"dataset {dataset.id} does not have the columns of model {parent.id}, which "
            f"fine-tuning keeps: columns {'; columns '.join(parts)}")


def target_problem(parent: tables.Model, dataset: tables.Dataset) -> str | None:
    """What can be said of the targets before reading them: labels the parent does not know
    (classification), another number of target columns (regression)."""
    if parent.task == "classification" and dataset.target_kind == "labels":
        known = {label_key(c) for c in parent.classes or []}
        unknown = [c for c in dataset.classes or [] if label_key(c) not in known]
        if unknown:
            return (f"dataset {dataset.id} has the label(s) {_names(unknown)}, which model "
                    f"{parent.id} does not know (its classes: {_names(parent.classes or [])})")
    if parent.task == "regression" and dataset.n_targets != parent.n_targets:
        return (f"dataset {dataset.id} has {dataset.n_targets} target columns; model "
                f"{parent.id} predicts {parent.n_targets}")
    return None


def _names(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:20])
    return shown + (f" and {len(values) - 20} more" if len(values) > 20 else "")


def _error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return field_error(["body", *loc], msg)
