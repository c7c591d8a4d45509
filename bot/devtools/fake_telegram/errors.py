"""Bot API errors, shaped as Telegram answers them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API call Telegram would refuse: HTTP status, description, optional retry_after;
    with `page`, answered with that HTML page instead of Telegram's JSON (a proxy's)."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        page: str | None = None,
    ):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.page = page

    def to_json(self) -> dict[str, Any]:
        """The ``{"ok": false, ...}`` body."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 ``Bad Request: detail``."""
    return ApiError(400, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-control answer."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# The status recorded for a call whose connection was dropped (no HTTP status was sent).
DROPPED = 0


class DroppedConnection(Exception):
    """The network lost the request: the fake closes the connection without an answer."""
