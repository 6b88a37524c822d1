"""`configure_logging`: text or JSON lines carrying request_id / job_id when a record has them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from service.logging import HANDLER_NAME, configure_logging, log_context


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def test_json_lines_carry_request_and_job_ids(stream: io.StringIO) -> None:
    configure_logging(True, stream=stream)
    log = logging.getLogger("descent.test")
    log.info("plain %s", "message")
    log.warning("claimed", extra={"job_id": "job_1", "request_id": "req_9", "attempt": 2})
    first, second = (json.loads(line) for line in _lines(stream))
    assert first["message"] == "plain message" and first["level"] == "INFO"
    assert first["logger"] == "descent.test" and first["time"].endswith("Z")
    assert "job_id" not in first and "request_id" not in first
    assert second["job_id"] == "job_1" and second["request_id"] == "req_9"
    assert second["attempt"] == 2 and second["level"] == "WARNING"
    assert list(second)[:6] == ["time", "level", "logger", "message", "request_id", "job_id"]


def test_json_exceptions_stay_on_one_line(stream: io.StringIO) -> None:
    configure_logging(True, stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("descent.test").exception("failed", extra={"job_id": "job_2"})
    (line,) = _lines(stream)
    entry = json.loads(line)
    assert "ValueError: boom" in entry["exception"] and entry["job_id"] == "job_2"


def test_log_context_binds_fields_and_extra_wins(stream: io.StringIO) -> None:
    configure_logging(True, stream=stream)
    log = logging.getLogger("descent.test")
    with log_context(job_id="job_3"):
        log.info("inside")
        log.info("override", extra={"job_id": "job_4"})
    log.info("outside")
    inside, override, outside = (json.loads(line) for line in _lines(stream))
    assert inside["job_id"] == "job_3" and override["job_id"] == "job_4"
    assert "job_id" not in outside


def test_text_lines_append_the_ids(stream: io.StringIO) -> None:
    configure_logging(False, stream=stream)
    logging.getLogger("descent.test").info("hello", extra={"request_id": "req_1"})
    (line,) = _lines(stream)
    assert line.endswith("INFO descent.test: hello request_id=req_1")


def test_configuring_twice_replaces_the_handler(stream: io.StringIO) -> None:
    configure_logging(False, stream=stream)
    configure_logging(True, stream=stream)
    logging.getLogger("descent.test").info("once")
    assert len(_lines(stream)) == 1
    names = [h.get_name() for h in logging.getLogger().handlers]
    assert names.count(HANDLER_NAME) == 1


def test_uvicorn_loggers_use_the_same_handler(stream: io.StringIO) -> None:
    configure_logging(True, stream=stream)
    logging.getLogger("uvicorn.access").info('%s - "%s %s"', "127.0.0.1", "GET", "/healthz")
    (line,) = _lines(stream)
    assert json.loads(line)["message"] == '127.0.0.1 - "GET /healthz"'
