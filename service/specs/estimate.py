"""What a job will cost (``POST /v1/jobs/estimate``) and the hash that makes submits idempotent."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from pydantic import BaseModel

from service import tables
from service.specs.resolve import count_parameters, output_units, validation_rows

# Sustained float64 GEMM throughput of one worker, for estimate(); calibrated on a laptop core.
FLOPS_PER_SECOND = 5e9
# Python overhead of one optimizer step (slicing, a few small vectorized calls).
SECONDS_PER_STEP = 20e-6
_OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}


def estimate(spec: dict[str, Any], dataset: tables.Dataset) -> dict[str, Any]:
    """What a resolved spec will cost on ``dataset``; a worst case (early stopping may end sooner).

    ``flops_per_epoch`` ≈ 6 × training rows × parameters (forward 2, backward 4 multiply-adds
    counted as 2 flops each) + 2 × validation rows × parameters (the validation forward pass).
    ``memory_bytes``: the decoded dataset (float64) and its copy in the training dtype, the
    parameters, gradients and optimizer moments, and one batch of activations and their
    gradients. ``estimated_seconds`` = epochs × (flops_per_epoch / ``FLOPS_PER_SECOND`` + steps ×
    ``SECONDS_PER_STEP``).
    """
    training = spec["training"]
    n_out = output_units(dataset)
    parameters = count_parameters(spec, dataset.n_features, n_out)
    n_val = validation_rows(dataset.n_rows, training.get("validation_split"))
    n_train = dataset.n_rows - n_val
    flops = 6 * n_train * parameters + 2 * n_val * parameters
    itemsize = 4 if training["dtype"] == "float32" else 8
    columns = dataset.n_features + n_out
    units = sum(layer["units"] for layer in spec["network"]["hidden_layers"]) + n_out
    batch = min(training["batch_size"], max(n_train, 1))
    slots = 2 + _OPTIMIZER_SLOTS[training["optimizer"]["name"]]
    memory = (
        dataset.n_rows * columns * (8 + itemsize)
        + parameters * slots * itemsize
        + 2 * batch * units * itemsize
    )
    steps = math.ceil(n_train / batch) if n_train else 0
    seconds = training["epochs"] * (flops / FLOPS_PER_SECOND + steps * SECONDS_PER_STEP)
    return {
        "parameters": parameters,
        "flops_per_epoch": flops,
        "memory_bytes": memory,
        "estimated_seconds": round(seconds, 3),
    }


def request_sha256(body: dict[str, Any] | BaseModel) -> str:
    """SHA-256 of the submitted body as canonical JSON (sorted keys, no spaces), for
    ``Idempotency-Key`` conflicts. A model is hashed as the fields the client set."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", exclude_unset=True)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
