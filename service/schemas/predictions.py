"""Stored predictions, read a page of rows at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class PredictionPublic(BaseModel):
    id: str = Field(examples=["pred_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    model_id: str
    job_id: str | None
    n_rows: int
    ignored_columns: list[str] | None = Field(default=None, description=(
        "Inputs matched by name (records, or a dataset with named columns): the columns the "
        "model does not take, ignored; null when matched by position"))
    offset: int = Field(description="Index of the first row on this page")
    limit: int
    next_offset: int | None = Field(description="`?offset=` of the next page, null at the end")
    predictions: list[Any]
    probabilities: list[list[float] | dict[str, float] | None] | None
    created_at: dt.datetime
