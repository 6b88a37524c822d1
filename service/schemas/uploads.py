"""Chunked uploads (``/v1/uploads``): the state of one, and what completing it names."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from service import tables


class UploadCreate(BaseModel):
    total_bytes: int | None = Field(
        default=None, ge=0,
        description="The file's size, when known: checked against the limits up front, and "
                    "parts may not go past it")


class UploadPublic(BaseModel):
    id: str = Field(examples=["up_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    received_bytes: int = Field(description="Bytes received in completed parts: the next part "
                                            "starts at this offset")
    total_bytes: int | None
    created_at: dt.datetime
    expires_at: dt.datetime = Field(description="When the upload is dropped if left untouched")

    @classmethod
    def of(cls, row: tables.Upload, expires_at: dt.datetime) -> UploadPublic:
        return cls(id=row.id, received_bytes=row.received_bytes, total_bytes=row.total_bytes,
                   created_at=row.created_at, expires_at=expires_at)


class UploadComplete(BaseModel):
    """What the uploaded bytes are; the same fields as a multipart upload's form."""

    format: Literal["csv", "npz", "npy"] = Field(description="The file's format")
    name: str | None = Field(default=None, max_length=200)
    target: list[str] | None = Field(default=None, description="CSV (or a structured .npy): "
                                                               "the target column(s)")
    target_kind: Literal["labels", "values"] | None = None
    column_kinds: dict[str, Literal["numeric", "categorical"]] | None = None
    sha256: str | None = Field(
        default=None, pattern="^[0-9a-f]{64}$",
        description="SHA-256 of the whole file, checked before parsing (422 when it differs)")
