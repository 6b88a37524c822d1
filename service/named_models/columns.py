"""The columns of ``service.tables.Model`` that name a model and record where it came from (a
mixin, so that the table module stays one screen per table)."""

from __future__ import annotations

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class NamedModel:
    # Set by PATCH /v1/models/{id}; null name and description and no tags until then.
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    # A fine-tuned model: the model it started from (training.init_from_model). A plain id, not
    # a foreign key: the lineage stays readable after the parent is deleted.
    parent_model_id: Mapped[str | None] = mapped_column(String(40))
