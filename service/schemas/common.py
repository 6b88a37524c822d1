"""Shapes shared by every resource: the list page and JSON-safe numbers."""

from __future__ import annotations

import math
from typing import Any, Generic, TypeVar

import numpy as np
from pydantic import BaseModel, Field

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first; pass ``next`` back as ``?cursor=`` for the next page."""

    data: list[T]
    next: str | None = Field(description="Cursor of the next page, null on the last one")


def json_safe(value: Any) -> Any:
    """NaN/Inf become null (JSON has no such numbers), NumPy numbers plain Python ones;
    containers are walked."""
    if isinstance(value, np.generic) and not isinstance(value, np.bool_):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
