"""Public identifiers: a type prefix and a time-ordered, random suffix (``job_01JD…``).

Ids sort by creation time (to the millisecond), so "newest first" lists and the queue's FIFO order
can both order by id, and cursors are simply the last id seen.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: sortable, no I/L/O/U


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
