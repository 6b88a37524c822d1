"""The job spec (the body of ``POST /v1/jobs``) on the API's side: models, data checks, estimate.

The spec itself — fields, defaults, bounds, the output/loss pairing — is declared once, in
``worker.spec``. ``models`` derives the request models from it (FastAPI answers 422 with each
field's ``loc``; unknown fields are refused so a typo never silently falls back to a default).
``resolve_spec`` then fills every default and checks the spec against the dataset and the
service's limits, raising ``InvalidInput`` with ``loc``s shaped like FastAPI's
(``["body", "network", "loss"]``); ``targets`` decides how the task reads the dataset's targets.

Also in docs/api.md: ``priority`` (-100..100, higher runs first among the tenant's jobs);
``training.optimizer`` may be just a name (``"sgd"``) or omit ``name`` (adam). A default
``validation_split`` too small for the dataset (no validation row) is switched off, together with
a default ``early_stopping``.
"""

from service.specs.estimate import check_budget, enforce_budget, estimate, request_sha256
from service.specs.models import (
    SGD,
    Adam,
    EarlyStopping,
    JobSubmit,
    LayerSpec,
    Momentum,
    NetworkSpec,
    RMSprop,
    TrainingSpec,
)
from service.specs.resolve import count_parameters, output_units, resolve_spec, validation_rows
from service.specs.targets import TrainedAs, load_targets, needs_targets, trained_as

__all__ = [
    "SGD",
    "Adam",
    "EarlyStopping",
    "JobSubmit",
    "LayerSpec",
    "Momentum",
    "NetworkSpec",
    "RMSprop",
    "TrainedAs",
    "TrainingSpec",
    "check_budget",
    "count_parameters",
    "enforce_budget",
    "estimate",
    "load_targets",
    "needs_targets",
    "output_units",
    "request_sha256",
    "resolve_spec",
    "trained_as",
    "validation_rows",
]
