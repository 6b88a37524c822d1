"""Public identifiers: a type prefix and a time-ordered, random suffix (``job_01JD…``).

Ids sort by creation time (to the millisecond), so "newest first" lists and the queue's FIFO order
can both order by id, and cursors are simply the last id seen.
"""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: sortable, no I/L/O/U
_ID_SHAPE = re.compile(r"([a-z]+)_[0-9A-HJKMNP-TV-Z]{26}", re.ASCII)


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """``prefix_`` + 10 chars of milliseconds since the epoch + 16 random chars (80 bits)."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"


def is_valid_id(value: object, prefix: str | None = None) -> bool:
    """Whether ``value`` has the shape ``new_id`` produces (``prefix_`` + 26 base32 chars).

    Anything else (a NUL byte, a lone surrogate, 5000 characters, ...) cannot name a stored
    row: callers answer "not found" without sending it to the database, whose driver may
    refuse such strings (PostgreSQL rejects NUL) instead of just finding nothing.
    """
    if not isinstance(value, str):
        return False
    match = _ID_SHAPE.fullmatch(value)
    return match is not None and (prefix is None or match.group(1) == prefix)
