"""API keys on the request path: ``Authorization: Bearer <key>`` → the caller's tenant.

Keys are random (``dk_`` + 256 bits), stored only as SHA-256 hex, found by that hash through a
unique index and compared in constant time. Nothing is cached: every request does one indexed
lookup, so a revoked key is refused by the very next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from service import tables
from service.db import Database
from service.errors import Unauthorized

KEY_PREFIX = "dk_"


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    key_id: str


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Send your API key as `Authorization: Bearer <key>`.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("The Authorization header must be `Bearer <key>`.")
    return token


def authenticate(db: Database, authorization: str | None) -> Caller:
    """The caller behind an ``Authorization`` header, or `Unauthorized`."""
    token = bearer_token(authorization)
    digest = hash_key(token)
    query = select(tables.ApiKey.id, tables.ApiKey.tenant_id, tables.ApiKey.key_hash).where(
        tables.ApiKey.key_hash == digest, tables.ApiKey.revoked_at.is_(None)
    )
    with db.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthorized("This API key is not valid (unknown or revoked).")
    return Caller(tenant_id=row.tenant_id, key_id=row.id)
