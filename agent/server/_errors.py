"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with its status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["APIError", "bad_request", "response_not_found"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class APIError(Exception):
    """A request the server answers with an error: the HTTP status, the message, the request
    parameter at fault (`input[2].call_id`), and headers to send (`Retry-After`).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body OpenAI's clients read."""
        return {
            "error": {
                "message": self.message,
                "type": _TYPES.get(self.status, "invalid_request_error"),
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(param: str | None, message: str) -> APIError:
    """A 400 naming the parameter at fault."""
    return APIError(400, message, param=param, code="invalid_value")


def response_not_found(response_id: str, param: str | None = None) -> APIError:
    """The 404 for an id no stored response has (never stored, evicted or deleted)."""
    return APIError(
        404,
        f"no stored response has the id {response_id!r}",
        param=param,
        code="previous_response_not_found" if param else "response_not_found",
    )
