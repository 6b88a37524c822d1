"""Where a dataset's stored columns are (``tables.Dataset`` takes these columns from here):
the bytes in the row, or a key into the artifact store (``service.artifact_store``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column


class StoredColumns:
    # Size of the upload as received (the API's "bytes" field; counts toward the quota).
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # The stored columns (``service.artifacts``): in the row (``content``), or in the artifact
    # store under the key ``artifact`` with the SHA-256 of its bytes; exactly one is set.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    artifact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    artifact_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
