"""Named models: the ``PATCH /v1/models/{id}`` body and model aliases."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.datasets.canonical import MAX_NAME_CHARS, text_problem
from service.named_models.tables import ModelAlias

MAX_DESCRIPTION_CHARS = 10_000
MAX_TAGS, MAX_TAG_CHARS = 50, 64


class ModelUpdate(BaseModel):
    """The fields to change; a field left out stays as it is, ``null`` clears it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS,
                             description="At most 200 characters, no control characters")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS,
                                    description="At most 10,000 characters")
    tags: list[str] | None = Field(
        default=None, max_length=MAX_TAGS,
        description="Replaces the tags: at most 50, each 1 to 64 characters without control "
                    "characters; repeats are dropped; null or [] clears them")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        problem = None if value is None else text_problem(value)
        if problem is not None:
            raise ValueError(f"name cannot be stored: {problem}")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        problem = None if value is None else text_problem(value, control=True)
        if problem is not None:
            raise ValueError(f"description cannot be stored: {problem}")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str]:
        for i, tag in enumerate(value or []):
            problem = text_problem(tag)
            if not 1 <= len(tag) <= MAX_TAG_CHARS or problem is not None:
                why = problem or "must be 1 to 64 characters"
                raise ValueError(f"tags[{i}] {tag[:80]!r}: {why}")
        return list(dict.fromkeys(value or []))


class AliasSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(description="The model the alias names from now on",
                          examples=["mdl_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])


class AliasPublic(BaseModel):
    alias: str = Field(examples=["production"])
    model_id: str
    created_at: dt.datetime
    updated_at: dt.datetime = Field(description="When the alias last moved")

    @classmethod
    def of(cls, row: ModelAlias) -> AliasPublic:
        return cls(alias=row.alias, model_id=row.model_id, created_at=row.created_at,
                   updated_at=row.updated_at)


class AliasesPublic(BaseModel):
    data: list[AliasPublic]
