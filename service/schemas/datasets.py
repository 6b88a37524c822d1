"""Dataset responses (the uploads themselves are parsed by `service.datasets`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from service import tables

Label = int | float | str


class DatasetCreate(BaseModel):
    """The JSON form of an upload (CSV and ``.npz`` come as multipart forms)."""

    name: str | None = Field(default=None, max_length=200)
    features: list[list[float | None]] = Field(
        description="Rows of numbers, all of one width (null = a missing cell)")
    targets: list[Label] | list[list[float]] | None = Field(
        default=None, description="Labels, numbers, or rows of numbers; omit for none"
    )
    target_kind: Literal["labels", "values"] | None = Field(
        default=None, description="Inferred when omitted: strings and whole numbers are labels"
    )
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    column_kinds: dict[str, Literal["numeric", "categorical"]] | None = Field(
        default=None, description="Columns to read as categories (by their numbers' text)")


class DatasetRecordsCreate(BaseModel):
    """The JSON upload as records: one object per row, columns by name (docs/tables.md)."""

    name: str | None = Field(default=None, max_length=200)
    records: list[dict[str, Any]] = Field(
        description="One object per row, every one with the same columns; null = missing")
    target: str | list[str] | None = Field(
        default=None, description="The target column (or several); the others are features")
    target_kind: Literal["labels", "values"] | None = None
    column_kinds: dict[str, Literal["numeric", "categorical"]] | None = Field(
        default=None, description="Kinds by column name; others are inferred (numbers → "
                                  "numeric, anything else → categorical)")


class ColumnPublic(BaseModel):
    name: str
    kind: Literal["numeric", "categorical"]
    missing: int = Field(description="Cells with no value")
    categories: int | None = Field(description="Distinct categories (categorical columns)")


class DatasetSummary(BaseModel):
    """A dataset in a list: everything but its per-column details (a dataset may have
    thousands of columns; ``GET /v1/datasets/{id}`` has them)."""

    id: str = Field(examples=["ds_01JD4X0Q2ZK3N5V7W9Y1A3C5E7"])
    name: str | None
    n_rows: int
    n_features: int
    n_targets: int
    target_kind: Literal["labels", "values"] | None
    classes: list[Label] | None
    sha256: str
    bytes: int
    created_at: dt.datetime

    @classmethod
    def fields_of(cls, row: tables.Dataset) -> dict[str, Any]:
        return {
            "id": row.id, "name": row.name, "n_rows": row.n_rows, "n_features": row.n_features,
            "n_targets": row.n_targets,
            "target_kind": row.target_kind if row.target_kind in ("labels", "values") else None,
            "classes": row.classes, "sha256": row.sha256, "bytes": row.size_bytes,
            "created_at": row.created_at,
        }

    @classmethod
    def of(cls, row: tables.Dataset) -> DatasetSummary:
        return cls(**cls.fields_of(row))


class DatasetPublic(DatasetSummary):
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    columns: list[ColumnPublic] | None = Field(
        default=None, description="Each feature column's name, kind and missing cells")

    @classmethod
    def of(cls, row: tables.Dataset) -> Self:
        return cls(**DatasetSummary.fields_of(row), feature_names=row.feature_names,
                   target_names=row.target_names, columns=_columns(row))


class DatasetUploaded(DatasetPublic):
    """The answer to an upload: the dataset, whether it was already there, and whether its
    ``target_kind`` was guessed."""

    deduplicated: bool = Field(
        default=False, description="True when this content was uploaded before: the answer is "
        "that dataset (its id and name; 200), and nothing new was stored")
    message: str | None = Field(
        default=None, description="On a deduplicated upload, a sentence naming the existing "
        "dataset (and a new name that was not applied)")
    target_kind_guessed: bool = Field(
        default=False, description="True when target_kind was inferred from the targets")
    hint: str | None = Field(default=None, description=(
        "What was guessed about the targets and how to change it (a job's task, or "
        "target_kind on upload)"))
    warnings: list[str] = Field(default_factory=list, description=(
        "What the upload may have got wrong, each saying how to fix it: a CSV column of "
        "numbers read as categorical because of a few text cells (an 'NA' or '-')"))


def dedupe_message(row: tables.Dataset, requested_name: str | None) -> str:
    """``The same content was uploaded before as ds_… ('iris'); …``."""
    named = f" ({row.name!r})" if row.name else ""
    sentence = (f"The same content was uploaded before as {row.id}{named}: the upload was "
                "deduplicated, that dataset is returned and nothing new was stored")
    if requested_name and requested_name != row.name:
        sentence += f"; the name {requested_name!r} was not applied"
    return sentence + "."


def _columns(row: tables.Dataset) -> list[ColumnPublic] | None:
    if row.columns is not None:
        return [ColumnPublic.model_validate(c) for c in row.columns]
    names = row.feature_names or [f"x{j}" for j in range(row.n_features)]
    return [ColumnPublic(name=n, kind="numeric", missing=0, categories=None) for n in names]


class TargetSummary(BaseModel):
    """One target column's distribution (``service.datasets.target_summary``)."""

    name: str
    kind: Literal["labels", "values"]
    classes: list[Label] | None = None
    counts: list[int]
    edges: list[float] | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None


class DatasetTargets(BaseModel):
    targets: list[TargetSummary]
