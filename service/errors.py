"""Domain errors: raised anywhere in the service, answered as ``application/problem+json``.

Code below the routes raises these (never ``HTTPException``); ``service.app`` turns each into an
RFC 9457 problem with its status, a title, a sentence the user can act on (``detail``) and, for
bad input, the fields at fault (``errors``: ``[{"loc": [...], "msg": "..."}]``).
"""

from __future__ import annotations

from typing import Any


class DescentError(Exception):
    status = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    @property
    def type(self) -> str:
        """RFC 9457's ``about:blank``: the status says what kind of problem this is."""
        return "about:blank"


class InvalidInput(DescentError):
    """The request is well-formed but its content cannot be used (names the row/column/field)."""

    status = 422
    title = "Invalid input"


class BadRequest(DescentError):
    status = 400
    title = "Bad request"


class Unauthorized(DescentError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str = "a valid API key is required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class NotFound(DescentError):
    status = 404
    title = "Not found"


class Conflict(DescentError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(DescentError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(DescentError):
    status = 415
    title = "Unsupported media type"


class TooManyRequests(DescentError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def field_error(loc: list[str | int], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg}
