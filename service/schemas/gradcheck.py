"""The answer of ``POST /v1/jobs/gradcheck`` (docs/api.md "Gradient check")."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GradcheckLayer(BaseModel):
    layer: int = Field(description="1-based, input side first")
    shape: list[int] = Field(description="[fan_in, fan_out] of the layer's weights")
    activation: str
    checked: int = Field(description="Weights and biases compared")
    max_relative_error: float | None = Field(
        description="max over W and b of ‖a−n‖/max(‖a‖+‖n‖, 1e-300); null when not finite")
    passed: bool


class GradcheckPublic(BaseModel):
    passed: bool = Field(description="Every layer passed")
    rows: int
    parameters_per_layer: int
    dtype: str
    epsilon: float
    tolerance: float
    loss: str
    seed: int
    layers: list[GradcheckLayer]
