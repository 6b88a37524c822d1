"""Start-up checks for production deployments.

`descent serve` calls `check_bind` before it listens: an API reachable from other machines with no
API key configured would either be unusable (every request 401) or, worse, hand its first visitor a
freshly generated key printed to a log nobody reads. So it refuses, and says how to fix it.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import func, select

from service.db import Database
from service.tables import ApiKey

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


MIN_BOOTSTRAP_KEY_CHARS = 32  # 32 random URL-safe characters carry ~190 bits
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class UnsafeBindError(RuntimeError):
    """Listening on a non-loopback address while no API key is configured, or with a short one."""


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost).

    Wildcards (``0.0.0.0``, ``::``, the empty string) and any other name count as public: a name
    may resolve to a public address, and guessing wrong here would expose the service.
    """
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, has_key: bool, bootstrap_key: str | None = None) -> None:
    """Raise `UnsafeBindError` when listening on ``host`` would expose an API without keys, or
    with a DESCENT_BOOTSTRAP_KEY short enough to guess.

    ``has_key``: DESCENT_BOOTSTRAP_KEY is set, or the database already holds an unrevoked key
    (see `has_api_key`). Keys made by `descent keys create` are long; the bootstrap key is
    whatever an operator typed into ``.env``.
    """
    if is_loopback(host):
        return
    where = host or "0.0.0.0"
    if not has_key:
        raise UnsafeBindError(
            f"refusing to listen on {where} without an API key: "
            "set DESCENT_BOOTSTRAP_KEY or create one with `descent keys create`"
        )
    if bootstrap_key and len(bootstrap_key) < MIN_BOOTSTRAP_KEY_CHARS:
        raise UnsafeBindError(
            f"refusing to listen on {where} with a DESCENT_BOOTSTRAP_KEY of "
            f"{len(bootstrap_key)} characters: use at least {MIN_BOOTSTRAP_KEY_CHARS}, e.g. "
            f"the output of `{MAKE_A_KEY}`"
        )


def has_api_key(db: Database) -> bool:
    """True when the database holds at least one API key that is not revoked."""
    with db.read() as session:
        count = session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
        )
    return bool(count)
