"""Chunked uploads: a dataset's bytes sent in parts, each appended at its offset to a staging
file, resumable after a dropped connection or a crash of the client or the API.

The ``uploads`` row is the truth about what arrived: ``received_bytes`` moves forward only after
a part's bytes are written *and* synced to the staging file, and only from the offset the part
started at (a conditional update), so a part cut off midway — the client gone, the API killed —
counts for nothing and the next part at the same offset overwrites its tail. The staging file
lives on the API's disk (``DESCENT_UPLOAD_STAGING_DIR``; by default beside the SQLite file, or in
the user's data directory): API replicas behind a balancer need it shared or sticky sessions.
An upload becomes a dataset only on ``complete``, which parses the file like a direct upload;
until then no dataset exists, whatever happened. Untouched uploads expire
(``DESCENT_UPLOAD_EXPIRY_SECONDS``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import platformdirs
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import tables
from service.artifact_store import sqlite_path
from service.db import Database
from service.errors import Conflict, NotFound, PayloadTooLarge
from service.ids import new_id
from service.repository import known_id
from service.repository.datasets import storage_used
from service.settings import Settings


def staging_dir(settings: Settings, database_url: str) -> Path:
    """Where parts gather: the setting, else beside the SQLite file, else the data directory."""
    if settings.upload_staging_dir:
        folder = Path(settings.upload_staging_dir).expanduser()
    else:
        db_file = sqlite_path(database_url)
        folder = (db_file.resolve().with_name(f"{db_file.stem}-uploads") if db_file is not None
                  else Path(platformdirs.user_data_dir("descent", appauthor=False)) / "uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def staging_file(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.part"


def check_quota(session: Session, settings: Settings, tenant_id: str, more: int) -> None:
    """413 when ``more`` bytes would take the tenant past ``DESCENT_MAX_TENANT_STORAGE_BYTES``."""
    used = storage_used(session, tenant_id)
    if used + more > settings.max_tenant_storage_bytes:
        raise over_quota(settings, used + more)


def over_quota(settings: Settings, holding: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"This would hold {holding:,} bytes of datasets and uploads; the tenant's quota "
        f"is {settings.max_tenant_storage_bytes:,} bytes (DESCENT_MAX_TENANT_STORAGE_BYTES): "
        "delete datasets or unfinished uploads first.")


def check_size(settings: Settings, size: int) -> None:
    if size > settings.max_upload_bytes:
        raise PayloadTooLarge(f"The upload is {size:,} bytes; the limit is "
                              f"{settings.max_upload_bytes:,} bytes (DESCENT_MAX_UPLOAD_BYTES).")


def create(db: Database, settings: Settings, *, tenant_id: str,
           total_bytes: int | None) -> tables.Upload:
    if total_bytes is not None:
        check_size(settings, total_bytes)

    def write(session: Session) -> tables.Upload:
        check_quota(session, settings, tenant_id, total_bytes or 0)
        now = tables.utcnow()
        row = tables.Upload(id=new_id("up"), tenant_id=tenant_id, received_bytes=0,
                            total_bytes=total_bytes, created_at=now, updated_at=now)
        session.add(row)
        return row

    return db.run_write(write)


def get(db: Database, *, tenant_id: str, upload_id: str) -> tables.Upload:
    known_id(upload_id, "up", "upload")
    with db.read() as session:
        row = session.scalar(select(tables.Upload).where(
            tables.Upload.id == upload_id, tables.Upload.tenant_id == tenant_id))
    if row is None:
        raise NotFound(f"There is no upload {upload_id!r} (completed, deleted or expired?).")
    return row


def check_part(db: Database, settings: Settings, upload: tables.Upload, offset: int,
               length: int | None) -> int:
    """A part may start only where the received bytes end, and stay within the limits; the
    bytes the tenant's quota still has room for (a part without Content-Length is held to it
    as it streams).

    The quota is checked for every part, announced ``total_bytes`` or not: announcing reserves
    nothing (only received bytes count), so several uploads each announced under the quota
    would otherwise fill the disk past it together."""
    if offset != upload.received_bytes:
        raise Conflict(f"The upload {upload.id} has {upload.received_bytes:,} bytes; send the "
                       f"part that starts at offset {upload.received_bytes}, not {offset}.")
    if length is not None:
        end = offset + length
        check_size(settings, end)
        if upload.total_bytes is not None and end > upload.total_bytes:
            raise PayloadTooLarge(f"The part ends at byte {end:,}, past the upload's announced "
                                  f"total_bytes ({upload.total_bytes:,}).")
    with db.read() as session:
        check_quota(session, settings, upload.tenant_id, length or 0)
        return settings.max_tenant_storage_bytes - storage_used(session, upload.tenant_id)


def open_at(file: Path, offset: int) -> int:
    """The staging file's descriptor positioned at ``offset``, anything after it dropped (the
    tail of a part that was cut off)."""
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return fd


def advance(db: Database, *, upload_id: str, offset: int, end: int) -> bool:
    """Record bytes ``[offset, end)`` as received (after they are synced); False when another
    part got there first."""
    def write(session: Session) -> bool:
        result = session.execute(
            update(tables.Upload)
            .where(tables.Upload.id == upload_id, tables.Upload.received_bytes == offset)
            .values(received_bytes=end, updated_at=tables.utcnow()))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    return db.run_write(write)


def remove(db: Database, folder: Path, upload_id: str) -> None:
    """Forget the upload: its row, then its staging file."""
    db.run_write(lambda session: session.execute(
        tables.Upload.__table__.delete().where(tables.Upload.id == upload_id)))  # type: ignore[attr-defined]
    staging_file(folder, upload_id).unlink(missing_ok=True)


def expire(db: Database, folder: Path, settings: Settings) -> int:
    """Remove uploads untouched for ``DESCENT_UPLOAD_EXPIRY_SECONDS``; how many."""
    cutoff = tables.utcnow() - dt.timedelta(seconds=settings.upload_expiry_seconds)
    with db.read() as session:
        stale = list(session.scalars(select(tables.Upload.id)
                                     .where(tables.Upload.updated_at < cutoff)))
    for upload_id in stale:
        remove(db, folder, upload_id)
    return len(stale)


def expires_at(upload: tables.Upload, settings: Settings) -> dt.datetime:
    return upload.updated_at + dt.timedelta(seconds=settings.upload_expiry_seconds)
