"""Dataset responses (the uploads themselves are parsed by `service.datasets`)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from service import tables

Label = int | float | str


class DatasetCreate(BaseModel):
    """The JSON form of an upload (CSV and ``.npz`` come as multipart forms)."""

    name: str | None = Field(default=None, max_length=200)
    features: list[list[float]] = Field(description="Rows of numbers, all of one width")
    targets: list[Label] | list[list[float]] | None = Field(
        default=None, description="Labels, numbers, or rows of numbers; omit for none"
    )
    target_kind: Literal["labels", "values"] | None = Field(
        default=None, description="Inferred when omitted: strings and whole numbers are labels"
    )
    feature_names: list[str] | None = None
    target_names: list[str] | None = None


class DatasetPublic(BaseModel):
    id: str = Field(examples=["ds_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    name: str | None
    n_rows: int
    n_features: int
    n_targets: int
    target_kind: Literal["labels", "values"] | None
    classes: list[Label] | None
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    sha256: str
    bytes: int
    created_at: dt.datetime

    @classmethod
    def of(cls, row: tables.Dataset) -> DatasetPublic:
        return cls(
            id=row.id, name=row.name, n_rows=row.n_rows, n_features=row.n_features,
            n_targets=row.n_targets,
            target_kind=row.target_kind if row.target_kind in ("labels", "values") else None,
            classes=row.classes, feature_names=row.feature_names, target_names=row.target_names,
            sha256=row.sha256, bytes=row.size_bytes, created_at=row.created_at,
        )
