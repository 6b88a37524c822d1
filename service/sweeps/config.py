"""A sweep's request: the base job spec, the search space, the method, the metric, the budget.

The space names fields of the job spec by dotted path (``training.optimizer.learning_rate``,
``network.hidden_layers.0.units``: a number indexes a list) and gives each a distribution:
``{"uniform": [lo, hi]}``, ``{"log_uniform": [lo, hi]}``, ``{"int": [lo, hi]}`` (both ends
included) or ``{"choice": [v, …]}`` (any JSON values: numbers, names, whole layer lists).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_DIMENSIONS = 20
MAX_TRIALS = 1000
MAX_PARALLELISM = 64
MAX_CHOICES = 100

PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]{1,3}))*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class Dimension(_Strict):
    """One field's distribution: exactly one of the four keys."""

    uniform: tuple[float, float] | None = Field(None, description="[low, high], uniform")
    log_uniform: tuple[float, float] | None = Field(
        None, description="[low, high], uniform in log space (both > 0)")
    integer: tuple[int, int] | None = Field(
        None, alias="int", description="[low, high], a whole number, both ends included")
    choice: list[Any] | None = Field(
        None, min_length=1, max_length=MAX_CHOICES, description="One of these JSON values")

    @model_validator(mode="after")
    def _exactly_one(self) -> Dimension:
        given = [name for name in ("uniform", "log_uniform", "integer", "choice")
                 if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uniform, log_uniform, int, choice")
        bounds = self.uniform or self.log_uniform or self.integer
        if bounds is not None and not bounds[0] <= bounds[1]:
            raise ValueError(f"low {bounds[0]} is above high {bounds[1]}")
        if self.log_uniform is not None and self.log_uniform[0] <= 0:
            raise ValueError("log_uniform needs low > 0")
        return self

    @property
    def kind(self) -> str:
        if self.integer is not None:
            return "int"
        return next(k for k in ("uniform", "log_uniform", "choice") if getattr(self, k) is not None)


class Metric(_Strict):
    name: str = Field("val_loss", pattern=r"^[a-z_][a-z0-9_]{0,39}$",
                      description="A history row's measure: val_loss, val_accuracy, loss, …")
    goal: Literal["minimize", "maximize"] = "minimize"


class MedianRule(_Strict):
    """Stop a trial whose best value so far is worse than the median of the completed trials'
    values at the same epoch (Optuna's ``MedianPruner``)."""

    type: Literal["median"]
    startup_trials: int = Field(
        3, ge=0, le=MAX_TRIALS, description="Completed trials before any is pruned")
    warmup_epochs: int = Field(
        2, ge=0, description="The first epoch after which a trial may be stopped")


class HyperbandRule(_Strict):
    """Successive halving in brackets (Optuna's ``HyperbandPruner``): at epochs
    ``min_epochs·reduction_factor^k`` only the best ``1/reduction_factor`` go on."""

    type: Literal["hyperband"]
    min_epochs: int = Field(1, ge=1, description="Epochs of the first rung")
    reduction_factor: int = Field(3, ge=2, le=10)


EarlyTermination = Annotated[MedianRule | HyperbandRule, Field(discriminator="type")]


class SweepCreate(_Strict):
    """``POST /v1/sweeps``."""

    dataset_id: str = Field(max_length=40)
    base: dict[str, Any] = Field(
        default_factory=dict,
        description="A job spec as POST /v1/jobs takes it (network, training, task, …), "
        "without dataset_id; each trial is this spec with the space's values set")
    space: dict[str, Dimension] = Field(
        min_length=1, max_length=MAX_DIMENSIONS,
        description="Dotted path into the spec → its distribution")
    method: Literal["grid", "random", "tpe"] = "random"
    metric: Metric = Field(default_factory=lambda: Metric())
    max_trials: int = Field(20, ge=1, le=MAX_TRIALS)
    parallelism: int = Field(1, ge=1, le=MAX_PARALLELISM,
                             description="Trials queued or running at once")
    early_termination: EarlyTermination | None = None
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _paths(self) -> SweepCreate:
        import re

        for path in self.space:
            if not re.match(PATH_PATTERN, path) or len(path) > 200:
                raise ValueError(f"space: {path!r} is not a dotted path into the job spec "
                                 "(e.g. training.optimizer.learning_rate)")
            if path.split(".")[0] == "dataset_id":  # the trials' dataset is the sweep's
                raise ValueError("space: dataset_id is not searched; a sweep trains on one "
                                 "dataset (give it beside base)")
        if "dataset_id" in self.base:
            raise ValueError("base: give dataset_id once, beside base")
        return self


def load(config: dict[str, Any]) -> SweepCreate:
    """A stored sweep's config (``sweeps.config``) as the model it was validated as."""
    return SweepCreate.model_validate(config)
