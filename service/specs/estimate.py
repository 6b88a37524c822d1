"""What a job will cost (``POST /v1/jobs/estimate``), its budget check, and the idempotency hash.

``memory_bytes`` is the peak resident memory of the job's training process and
``estimated_seconds`` its run time, each a sum of named terms (`memory_terms`, `time_terms`)
that follow what the training job allocates and does, as a worst case: every term a job may
need at once, every epoch run (early stopping may end sooner), a checkpoint written. They were
calibrated against real jobs with ``python -m tests.limits.job_memory`` (peak RSS from /proc):
re-run it after changing the training job's data path and adjust the terms it shows wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from service import tables
from service.errors import InvalidInput, field_error
from service.settings import Settings
from service.specs.costs import memory_terms, time_terms
from service.specs.resolve import count_parameters, input_width, output_units, validation_rows
from service.specs.targets import TrainedAs

_OPTIMIZER_MOMENTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}


@dataclass(frozen=True)
class JobShape:
    """The sizes a job's cost depends on (a resolved spec on a dataset's metadata).

    ``sizes`` is ``[n_features, units…, n_outputs]``; ``itemsize`` the training dtype's (4 or
    8); ``moments`` the optimizer's moment vectors (adam 2, momentum and rmsprop 1, sgd 0);
    ``keeps_best`` whether early stopping keeps a copy of the best parameters.
    """

    rows: int
    train_rows: int
    validation_rows: int
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    parameters: int
    weights: int
    itemsize: int
    label_targets: bool
    epochs: int
    batch_size: int
    shuffle: bool
    standardize: bool
    optimizer: str
    moments: int
    weight_decay: bool
    keeps_best: bool
    postgres: bool = False

    @property
    def features(self) -> int:
        return self.sizes[0]

    @property
    def outputs(self) -> int:
        return self.sizes[-1]

    @property
    def layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def batch(self) -> int:
        return max(1, min(self.batch_size, self.train_rows))

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_rows / self.batch) if self.train_rows else 0

    @property
    def state_arrays(self) -> int:
        """Arrays in one training-state snapshot: W and b of each layer, per copy."""
        return 2 * self.layers * (1 + self.moments + self.keeps_best)

    @property
    def state_bytes(self) -> int:
        """One training-state snapshot: parameters, optimizer moments, the best parameters."""
        return self.parameters * self.itemsize * (1 + self.moments + self.keeps_best)


def job_shape(
    spec: dict[str, Any], dataset: tables.Dataset | TrainedAs, *, postgres: bool = False
) -> JobShape:
    """``postgres``: the job's worker reads and writes PostgreSQL (else SQLite)."""
    training, network = spec["training"], spec["network"]
    n_out = output_units(dataset)
    hidden = network["hidden_layers"]
    width = input_width(spec, dataset)
    sizes = (width, *(layer["units"] for layer in hidden), n_out)
    parameters = count_parameters(spec, width, n_out)
    n_val = validation_rows(dataset.n_rows, training.get("validation_split"))
    stopping = training.get("early_stopping")
    return JobShape(
        rows=dataset.n_rows,
        train_rows=dataset.n_rows - n_val,
        validation_rows=n_val,
        sizes=sizes,
        activations=(*(layer["activation"] for layer in hidden), network["output_activation"]),
        parameters=parameters,
        weights=parameters - sum(sizes[1:]),
        itemsize=4 if training["dtype"] == "float32" else 8,
        label_targets=dataset.target_kind == "labels",
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        shuffle=bool(training.get("shuffle", True)),
        standardize=bool(training.get("standardize", True)),
        optimizer=training["optimizer"]["name"],
        moments=_OPTIMIZER_MOMENTS[training["optimizer"]["name"]],
        weight_decay=bool(training.get("weight_decay")),
        keeps_best=bool(stopping and stopping.get("restore_best")),
        postgres=postgres,
    )


def estimate(
    spec: dict[str, Any], dataset: tables.Dataset | TrainedAs, *,
    settings: Settings | None = None
) -> dict[str, Any]:
    """What a resolved spec will cost on ``dataset``; a worst case (early stopping may end sooner).

    ``flops_per_epoch`` ≈ 6 × training rows × parameters (forward 2, backward 4 multiply-adds
    counted as 2 flops each) + 2 × validation rows × parameters (the validation forward pass).
    ``memory_bytes`` = Σ `memory_terms`; ``estimated_seconds`` = Σ `time_terms`. ``settings``
    name the database the workers use (its driver's buffers count; SQLite without them).
    """
    postgres = settings is not None and settings.database_url.startswith("postgres")
    shape = job_shape(spec, dataset, postgres=postgres)
    flops = 6 * shape.train_rows * shape.parameters + 2 * shape.validation_rows * shape.parameters
    return {
        "parameters": shape.parameters,
        "flops_per_epoch": flops,
        "memory_bytes": sum(memory_terms(shape).values()),
        "estimated_seconds": round(sum(time_terms(shape).values()), 3),
    }


def check_budget(cost: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Field errors (``loc`` on the body) for an `estimate` over the job budget of ``settings``:
    ``max_job_memory_bytes`` and ``max_job_seconds``. Empty when the job fits."""
    errors = []
    if cost["memory_bytes"] > settings.max_job_memory_bytes:
        errors.append(field_error(["body"], (
            f"the job is estimated to need {_bytes(cost['memory_bytes'])} of memory; the limit"
            f" is {_bytes(settings.max_job_memory_bytes)} (DESCENT_MAX_JOB_MEMORY_BYTES): use"
            " a smaller network, float32, a smaller batch_size or less data"
        )))
    if cost["estimated_seconds"] > settings.max_job_seconds:
        errors.append(field_error(["body"], (
            f"the job is estimated to take {_duration(cost['estimated_seconds'])}; the limit"
            f" is {_duration(settings.max_job_seconds)} (DESCENT_MAX_JOB_SECONDS): use fewer"
            " epochs, a smaller network or less data"
        )))
    return errors


def enforce_budget(cost: dict[str, Any], settings: Settings) -> None:
    """Raise ``InvalidInput`` (422) with `check_budget`'s errors, if any."""
    errors = check_budget(cost, settings)
    if errors:
        raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)


def _bytes(n: float) -> str:
    return f"{n / 1024**3:,.2f} GiB" if n >= 1024**3 else f"{n / 1024**2:,.0f} MiB"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:,.1f} min" if seconds >= 60 else f"{seconds:,.1f} s"


def request_sha256(body: dict[str, Any] | BaseModel) -> str:
    """SHA-256 of the submitted body as canonical JSON (sorted keys, no spaces), for
    ``Idempotency-Key`` conflicts. A model is hashed as the fields the client set."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_unset=True)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
