"""Process logging: one line per record on standard error, as text or as JSON (DESCENT_LOG_JSON).

Call `configure_logging` once at the start of `descent serve` / `descent worker` (and in each
child process that logs). Identifiers a record carries — ``request_id``, ``job_id`` and any other
field passed with ``extra=`` or bound with `log_context` — are written as fields of their own::

    log.info("job claimed", extra={"job_id": job.id})
    with log_context(job_id=job.id):
        log.info("epoch finished")          # carries job_id too

uvicorn must be started with ``log_config=None`` so its loggers keep the handler installed here.
"""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

HANDLER_NAME = "descent"
# Written first, in this order, when present; any other extra field follows.
CONTEXT_FIELDS = ("request_id", "job_id")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_BARE_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
# uvicorn adds ``color_message`` (the message with terminal colours) to its records: not a field.
_RECORD_ATTRIBUTES = frozenset(vars(_BARE_RECORD)) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
# Chatty at INFO about steps no operator acts on ("Context impl SQLiteImpl.").
QUIET_LOGGERS = ("alembic",)

_context: ContextVar[dict[str, Any] | None] = ContextVar("descent_log_context", default=None)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (e.g. ``job_id=…``) to every record logged inside the block."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The bound context and the ``extra=`` fields of ``record``, request_id and job_id first."""
    found = dict(_context.get() or {})
    for key, value in vars(record).items():
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
            found[key] = value
    fields = {key: found.pop(key) for key in CONTEXT_FIELDS if found.get(key) is not None}
    fields.update((key, value) for key, value in found.items() if value is not None)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, job_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an identifier or a path must never make a log line fail.
        return jsonlib.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2025-01-01T12:00:00.000Z INFO worker.runner: message job_id=job_… request_id=…``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        fields = record_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def configure_logging(
    json: bool, *, level: int | str = logging.INFO, stream: TextIO | None = None
) -> None:
    """Send all records at ``level`` and above to ``stream`` (stderr), as JSON when ``json``.

    Safe to call again (the handler installed before is replaced, never doubled). uvicorn's
    loggers are routed through the same handler; start uvicorn with ``log_config=None``.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
