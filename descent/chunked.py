"""Sending a large file in parts (``/v1/uploads``), resumable: a dropped connection, a killed
client or a restarted server costs at most the part in flight.

Each file being sent is remembered (its path, size and modification time → the upload's id) in
a small JSON file in the user's cache directory; sending the same unchanged file to the same
server again asks ``GET /v1/uploads/{id}`` where it stopped and goes on from there. The file's
SHA-256 goes with ``complete``, so a resumed upload is checked end to end.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs

from .errors import DescentAPIError, DescentConnectionError
from .transport import Transport

PART_BYTES = 16 << 20  # one PUT: bounded memory on both sides, little lost to a dropped part
CHUNKED_ABOVE = 32 << 20  # files larger than this go in parts (smaller: one multipart POST)
RETRIES, RETRY_SECONDS = 5, 1.0  # per part, after a dropped connection
Progress = Callable[[int, int], None]  # (bytes sent, total bytes)


def state_file() -> Path:
    """Where unfinished uploads are remembered (``DESCENT_UPLOAD_STATE`` overrides)."""
    configured = os.environ.get("DESCENT_UPLOAD_STATE")
    if configured:
        return Path(configured)
    return Path(platformdirs.user_cache_dir("descent", appauthor=False)) / "uploads.json"


def _key(base_url: str, path: Path) -> str:
    status = path.stat()
    return f"{base_url}|{path.resolve()}|{status.st_size}|{status.st_mtime_ns}"


def _remembered() -> dict[str, str]:
    try:
        found = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _remember(key: str, upload_id: str | None) -> None:
    entries = _remembered()
    if upload_id is None:
        entries.pop(key, None)
    else:
        entries[key] = upload_id
    target = state_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(entries, indent=1))
    os.replace(temporary, target)


def unfinished(base_url: str, path: Path) -> str | None:
    """The id of an unfinished upload of this unchanged file to this server, if any."""
    return _remembered().get(_key(base_url, path))


def in_parts(base_url: str, data: Any, chunked: bool | None) -> Path | None:
    """The file to send in parts: ``data`` when it is a path to a file over ``CHUNKED_ABOVE``,
    or one with an unfinished upload, or any file when ``chunked`` (never when False)."""
    if not isinstance(data, str | Path) or chunked is False:
        return None
    path = Path(data)
    if not path.is_file():
        return None
    if chunked or path.stat().st_size > CHUNKED_ABOVE or unfinished(base_url, path):
        return path
    return None


def send_file(transport: Transport, path: Path, complete: dict[str, Any], *,
              on_progress: Progress | None = None, part_bytes: int | None = None) -> Any:
    """Upload ``path`` in parts (resuming an unfinished upload of it) and complete it with the
    ``complete`` fields (``format``, ``name``, ``target``, …); the dataset's JSON."""
    part_bytes = part_bytes or PART_BYTES
    total = path.stat().st_size
    key = _key(transport.base_url, path)
    upload_id, offset = _resume(transport, key)
    if upload_id is None:
        upload_id = transport.json("POST", "/v1/uploads", json={"total_bytes": total})["id"]
        _remember(key, upload_id)
    with open(path, "rb") as file:
        digest = _hashed_to(file, offset)
        if on_progress is not None:
            on_progress(offset, total)
        retries = RETRIES
        while offset < total:
            part = file.read(min(part_bytes, total - offset))
            try:
                state = transport.json(
                    "PUT", f"/v1/uploads/{upload_id}", params={"offset": offset}, content=part,
                    headers={"Content-Type": "application/octet-stream"})
            except (DescentConnectionError, DescentAPIError) as exc:
                # A dropped connection, or a part that arrived though its answer did not (409):
                # ask where the upload stands and go on from there.
                if retries == 0 or (isinstance(exc, DescentAPIError) and exc.status != 409):
                    raise
                retries -= 1
                time.sleep(RETRY_SECONDS * (RETRIES - retries))
                offset = int(transport.json("GET", f"/v1/uploads/{upload_id}")["received_bytes"])
                digest = _hashed_to(file, offset)
                continue
            digest.update(part)
            offset = int(state["received_bytes"])
            retries = RETRIES
            if on_progress is not None:
                on_progress(offset, total)
    answer = transport.json("POST", f"/v1/uploads/{upload_id}/complete",
                            json={**complete, "sha256": digest.hexdigest()})
    _remember(key, None)
    return answer


def _resume(transport: Transport, key: str) -> tuple[str | None, int]:
    upload_id = _remembered().get(key)
    if upload_id is None:
        return None, 0
    try:
        state = transport.json("GET", f"/v1/uploads/{upload_id}")
    except DescentAPIError as exc:
        if exc.status != 404:
            raise
        _remember(key, None)  # expired or completed elsewhere: start over
        return None, 0
    return upload_id, int(state["received_bytes"])


def _hashed_to(file: Any, size: int) -> Any:
    """The SHA-256 of the file's first ``size`` bytes, the file positioned after them."""
    file.seek(0)
    digest = hashlib.sha256()
    left = size
    while left > 0:
        block = file.read(min(left, 8 << 20))
        if not block:
            break
        digest.update(block)
        left -= len(block)
    return digest
