"""Model aliases (a table on ``service.tables``' metadata, imported at its end)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.tables import Base, UTCDateTime, utcnow


class ModelAlias(Base):
    """A tenant's name for one of its models (``production``): clients predict by alias, and
    shipping another model is one update of ``model_id``. A model with an alias cannot be
    deleted (the foreign key, and a 409 before it)."""

    __tablename__ = "model_aliases"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
