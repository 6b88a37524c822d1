"""HTTP plumbing under the client: base URL and key, problem answers, cursors, the event stream.

Every non-2xx answer becomes one ``DescentAPIError`` (status, title, detail, errors); every
failure to reach the server becomes ``DescentConnectionError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .errors import DescentAPIError, DescentConnectionError

DEFAULT_URL = "http://127.0.0.1:8000"
PAGE_SIZE = 100


class StreamUnavailable(Exception):
    """The server has no event stream for this job (old server, proxy); poll instead."""


def raise_for_problem(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    raise DescentAPIError.from_response(response.status_code, body, dict(response.headers))


class Transport:
    """One ``httpx.Client`` bound to a base URL and an API key (``Authorization: Bearer``)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("DESCENT_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("DESCENT_API_KEY")
        headers = {"User-Agent": "descent-client/0.1", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self.http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise DescentConnectionError(
                f"cannot reach the Descent server at {self.base_url}: {exc or type(exc).__name__}"
            ) from exc
        raise_for_problem(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page, following ``next`` cursors (newest first)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query.setdefault("limit", PAGE_SIZE)
        while True:
            page = self.json("GET", path, params=query)
            yield from page.get("data", [])
            cursor = page.get("next")
            if not cursor:
                return
            query["cursor"] = cursor

    @contextmanager
    def stream_events(
        self, path: str, last_event_id: str | None, read_timeout: float
    ) -> Iterator[Iterator[tuple[str, str | None, str]]]:
        """Open an event stream; yields an iterator of ``(event, id, data)`` as they arrive."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(10.0, read=read_timeout)
        try:
            with self.http.stream("GET", path, headers=headers, timeout=timeout) as response:
                # 429: the key's streams are all in use; polling gives the same events.
                if response.status_code in (404, 405, 406, 429, 501):
                    response.read()
                    raise StreamUnavailable(response.status_code)
                if not response.is_success:
                    response.read()
                    raise_for_problem(response)
                if "text/event-stream" not in response.headers.get("content-type", ""):
                    raise StreamUnavailable(response.headers.get("content-type"))
                yield parse_sse(response.iter_lines())
        except (httpx.ReadTimeout, httpx.RemoteProtocolError):
            raise  # a quiet or dropped stream: the caller reconnects
        except httpx.TransportError as exc:
            raise DescentConnectionError(f"event stream of {path} interrupted: {exc}") from exc


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, str | None, str]]:
    """Server-sent events (WHATWG): ``event:``, ``id:``, ``data:`` lines; a blank line ends one."""
    data: list[str] = []
    event, event_id = "message", None
    for line in lines:
        if not line:
            if data:
                yield event, event_id, "\n".join(data)
            event, event_id, data = "message", None, []
            continue
        if line.startswith(":"):
            continue  # a comment: keep-alive
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    if data:
        yield event, event_id, "\n".join(data)


def decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return {"message": data}
