"""The job spec's pydantic models: the body of ``POST /v1/jobs`` checked on its own.

FastAPI answers 422 with each field's ``loc``; unknown fields are refused so a typo never silently
falls back to a default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Task = Literal["classification", "regression"]
Activation = Literal["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu"]
OutputActivation = Literal["identity", "sigmoid", "tanh", "relu", "softmax"]
Loss = Literal["mse", "binary_cross_entropy", "cross_entropy"]

TASK_DEFAULTS: dict[str, tuple[str, str]] = {
    "classification": ("softmax", "cross_entropy"),
    "regression": ("identity", "mse"),
}
REQUIRED_ACTIVATION = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}

class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LayerSpec(_Spec):
    units: int = Field(ge=1)
    activation: Activation = "relu"


def _default_layers() -> list[LayerSpec]:
    return [LayerSpec(units=64, activation="relu"), LayerSpec(units=32, activation="tanh")]


class NetworkSpec(_Spec):
    hidden_layers: list[LayerSpec] = Field(default_factory=_default_layers)
    output_activation: OutputActivation | None = None
    loss: Loss | None = None
    init: Literal["auto", "he", "glorot"] = "auto"


class SGD(_Spec):
    name: Literal["sgd"]
    learning_rate: float = Field(0.01, gt=0)


class Momentum(_Spec):
    name: Literal["momentum"]
    learning_rate: float = Field(0.01, gt=0)
    beta: float = Field(0.9, ge=0, lt=1)


class RMSprop(_Spec):
    name: Literal["rmsprop"]
    learning_rate: float = Field(0.001, gt=0)
    beta: float = Field(0.9, ge=0, lt=1)
    epsilon: float = Field(1e-8, gt=0)


class Adam(_Spec):
    name: Literal["adam"]
    learning_rate: float = Field(0.001, gt=0)
    beta1: float = Field(0.9, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    epsilon: float = Field(1e-8, gt=0)


Optimizer = Annotated[SGD | Momentum | RMSprop | Adam, Field(discriminator="name")]


class EarlyStopping(_Spec):
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)
    restore_best: bool = True


class TrainingSpec(_Spec):
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(32, ge=1)
    shuffle: bool = True
    seed: int = Field(0, ge=0, le=2**63 - 1)
    dtype: Literal["float32", "float64"] = "float32"
    optimizer: Optimizer = Field(default_factory=lambda: Adam(name="adam"))
    weight_decay: float = Field(0.0, ge=0)
    validation_split: float | None = Field(0.1, ge=0, lt=0.9)
    standardize: bool = True
    early_stopping: EarlyStopping | None = Field(default_factory=EarlyStopping)

    @field_validator("optimizer", mode="before")
    @classmethod
    def _optimizer_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "name" not in value:
            return {"name": "adam", **value}
        return value


class JobSubmit(_Spec):
    dataset_id: str = Field(min_length=1, max_length=40)
    task: Task | None = None
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    max_attempts: int = Field(3, ge=1, le=10)
    priority: int = Field(0, ge=-100, le=100)
