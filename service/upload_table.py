"""The ``uploads`` table: chunked uploads in progress (``service.uploads``); ``tables.Upload``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.tables import Base, UTCDateTime, utcnow


class Upload(Base):
    """A chunked upload in progress (``/v1/uploads``): its parts gather in a staging file until
    it is completed into a dataset or expires."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    # Bytes received in completed parts: the next part starts here (a part cut off midway
    # counts for nothing).
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # The size the client announced, when it did (the quota is checked against it up front).
    total_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
