"""The training controls of the job spec (docs/api.md "Training controls"): dropout per hidden
layer, the learning-rate schedule and its warmup, gradient clipping and class weights.

Declared here and imported into ``job``'s ``LAYER`` and ``TRAINING``; the engine implements
them in ``worker.nn`` (``dropout``, ``schedules``, ``clipping``, ``class_weights``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .schema import Boolean, Field, Integer, ListOf, Loc, Number, Object, SpecError, Tagged

DROPOUT = Number(0.0, ge=0, lt=1, doc=(
    "Fraction of this layer's units zeroed while training (inverted dropout: kept units are "
    "scaled by 1/(1-p)); identity at evaluation and predict"))



@dataclass(frozen=True)
class FilledList(ListOf):
    """A list whose default items get their own defaults too (the default hidden layers carry
    ``dropout`` 0.0 like every layer a spec gives)."""

    def default_value(self) -> Any:
        return [self.item.fill(copy.deepcopy(v), ()) for v in self.default]


# the losses class weights weigh (the row's share of the mean becomes w_i / Σ w)
WEIGHTED_LOSSES = ("cross_entropy", "binary_cross_entropy")

LR_SCHEDULES = ("step", "exponential", "cosine", "plateau")
LR_SCHEDULE = Tagged(
    None, nullable=True, tag="name", what="lr_schedule",
    doc=("The learning rate per epoch e (from 0), as torch.optim.lr_scheduler; null keeps "
         "the optimizer's learning_rate"),
    variants={
        "step": Object(name="StepLR", fields={
            "step_size": Integer(ge=1, hint="a positive integer", doc="Epochs per decay"),
            "gamma": Number(0.1, gt=0, doc="lr0·gamma^floor(e/step_size)"),
        }),
        "exponential": Object(name="ExponentialLR", fields={
            "gamma": Number(gt=0, doc="lr0·gamma^e"),
        }),
        "cosine": Object(name="CosineAnnealingLR", fields={
            "t_max": Integer(ge=1, hint="a positive integer", doc="Half-period in epochs"),
            "eta_min": Number(0.0, ge=0, doc="eta_min + (lr0-eta_min)(1+cos(pi·e/t_max))/2"),
        }),
        "plateau": Object(name="ReduceLROnPlateau", fields={
            "factor": Number(0.1, gt=0, lt=1, doc="lr ← max(lr·factor, min_lr)"),
            "patience": Integer(10, ge=0, doc="Epochs without improvement before reducing"),
            "threshold": Number(1e-4, ge=0, doc="Improvement: loss < best·(1-threshold)"),
            "min_lr": Number(0.0, ge=0, doc="Lower bound of the learning rate"),
        }),
    },
)
WARMUP_EPOCHS = Integer(0, ge=0, doc="Epochs e < W train at lr0·(e+1)/W; the schedule then "
                                     "runs on e-W")
CLIP_GRAD_NORM = Number(None, nullable=True, gt=0, doc=(
    "Scale the loss gradient of all parameters by min(1, c/(‖g‖₂+1e-6)) before weight decay "
    "(torch.nn.utils.clip_grad_norm_); null = off"))


@dataclass(frozen=True)
class ClassWeight(Field):
    """``"balanced"`` or ``{label: weight}`` (weights positive and finite); ``null`` = off.

    Labels are JSON object keys, so strings: a class matches the key ``str(label)``. Whether
    every key names a class of the dataset is checked where the classes are known (the engine's
    ``class_weights`` and the service's ``resolve``).
    """

    def _fill(self, value: Any, loc: Loc) -> str | dict[str, float]:
        if value == "balanced":
            return "balanced"
        if not isinstance(value, Mapping):
            raise SpecError(loc, f"expected \"balanced\" or an object {{label: weight}}, got "
                                 f"{value!r}")
        weights = {}
        for key, weight in value.items():
            finite = isinstance(weight, int | float) and not isinstance(weight, bool) \
                and math.isfinite(weight)
            if not finite or weight <= 0:
                raise SpecError((*loc, str(key)), f"must be a positive finite number, got "
                                                  f"{weight!r}")
            weights[str(key)] = float(weight)
        return weights

    def api_annotation(self) -> Any:
        """The pydantic type (``service.specs.models``): ``"balanced"`` or a mapping."""
        return Literal["balanced"] | dict[str, float]

    def _schema(self) -> dict[str, Any]:
        return {"anyOf": [{"const": "balanced"}, {
            "type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}}]}


CLASS_WEIGHT = ClassWeight(None, nullable=True, doc=(
    "Classification: \"balanced\" (n/(k·n_c) over the training part) or {label: weight} "
    "(labels not named weigh 1); the loss becomes Σ w ℓ / Σ w"))

DIAGNOSTICS = Boolean(True, doc=(
    "Per-layer diagnostics each epoch (gradient and weight norms, update ratio, dead and "
    "saturated units) and warnings; docs/api.md \"Diagnostics\""))

TRAINING_CONTROLS: dict[str, Field] = {
    "lr_schedule": LR_SCHEDULE,
    "warmup_epochs": WARMUP_EPOCHS,
    "clip_grad_norm": CLIP_GRAD_NORM,
    "class_weight": CLASS_WEIGHT,
    "diagnostics": DIAGNOSTICS,
}
