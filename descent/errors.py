"""The two failures a caller of the client handles differently.

``DescentAPIError``: the server answered with a problem (RFC 9457 ``application/problem+json``):
it understood the request and said no. ``DescentConnectionError``: the server could not be reached
at all (wrong URL, not running, network down).
"""

from __future__ import annotations

from typing import Any


class DescentAPIError(Exception):
    """A 4xx/5xx answer: ``status``, ``title``, ``detail`` and the field ``errors`` at fault."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: list[dict[str, Any]] | None = None,
        *,
        type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.type = type
        self.headers = headers or {}
        super().__init__(self.message())

    def message(self) -> str:
        """One human paragraph: ``422 Invalid input: detail`` plus one line per field error."""
        text = f"{self.status} {self.title}"
        if self.detail:
            text += f": {self.detail}"
        for error in self.errors:
            loc = ".".join(str(part) for part in error.get("loc", []))
            text += f"\n  {loc}: {error.get('msg', '')}" if loc else f"\n  {error.get('msg', '')}"
        return text

    @classmethod
    def from_response(cls, status: int, body: Any, headers: dict[str, str]) -> DescentAPIError:
        """From a problem+json body; any other body still gives a usable error."""
        if isinstance(body, dict):
            errors = body.get("errors")
            return cls(
                status,
                str(body.get("title") or f"HTTP {status}"),
                str(body.get("detail") or ""),
                errors if isinstance(errors, list) else [],
                type=body.get("type"),
                headers=headers,
            )
        return cls(status, f"HTTP {status}", str(body or "")[:500], headers=headers)


class DescentConnectionError(Exception):
    """The server could not be reached (connection refused, DNS, timeout)."""
