"""Tenants and their API keys: create, list, revoke, and the key a fresh install starts with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import tables
from service.auth import generate_key, hash_key
from service.db import Database
from service.ids import new_id

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class KeyInfo:
    id: str
    tenant: str
    label: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _tenant_id(session: Session, name: str) -> str:
    tenant_id = session.scalar(select(tables.Tenant.id).where(tables.Tenant.name == name))
    if tenant_id is None:
        tenant_id = new_id("ten")
        session.add(tables.Tenant(id=tenant_id, name=name))
        session.flush()
    return tenant_id


def register_key(db: Database, *, tenant: str, key: str, label: str | None = None) -> str:
    """Store ``key``'s hash for ``tenant`` (created if new); returns the key's id."""

    def write(session: Session) -> str:
        key_id = new_id("key")
        session.add(
            tables.ApiKey(
                id=key_id, tenant_id=_tenant_id(session, tenant), label=label,
                key_hash=hash_key(key),
            )
        )
        return key_id

    return db.run_write(write)


def create_key(db: Database, *, tenant: str, label: str | None = None) -> tuple[str, str]:
    """A new random key for ``tenant``: ``(key_id, key)``. The key is never stored."""
    key = generate_key()
    return register_key(db, tenant=tenant, key=key, label=label), key


def list_keys(db: Database) -> list[KeyInfo]:
    query = (
        select(tables.ApiKey, tables.Tenant.name)
        .join(tables.Tenant, tables.Tenant.id == tables.ApiKey.tenant_id)
        .order_by(tables.ApiKey.id)
    )
    with db.read() as session:
        return [
            KeyInfo(k.id, name, k.label, k.created_at, k.revoked_at)
            for k, name in session.execute(query).all()
        ]


def revoke_key(db: Database, *, key_id: str) -> bool:
    """Revoke a key (refused by every API process within a second, `service.key_cache`);
    False if there is no such key."""

    def write(session: Session) -> bool:
        key = session.get(tables.ApiKey, key_id)
        if key is None:
            return False
        if key.revoked_at is None:
            key.revoked_at = tables.utcnow()
        return True

    return db.run_write(write)


def ensure_initial_key(db: Database, *, bootstrap_key: str | None) -> str | None:
    """Make sure some key exists. Returns a key generated now (to print once), else None.

    With ``bootstrap_key`` (DESCENT_BOOTSTRAP_KEY) that key is registered for the default tenant
    when the database has no key yet; without one a random key is generated.
    """
    with db.read() as session:
        if session.scalar(select(func.count()).select_from(tables.ApiKey)):
            return None
    if bootstrap_key:
        register_key(db, tenant=DEFAULT_TENANT, key=bootstrap_key, label="bootstrap")
        return None
    _, key = create_key(db, tenant=DEFAULT_TENANT, label="generated at first start")
    return key
