"""The API's failures as one exception the UI can show: the API's own message, and its validation messages by field."""

from __future__ import annotations

from typing import Any

import httpx

from gateway_ui.api.messages import human_message, sentence, without_field

UNREACHABLE_STATUS = 503


class ApiError(Exception):
    """The API answered with an error; `message` is the API's own text, fit to show a user."""

    def __init__(self, status_code: int, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        # Validation failures by request field ("email", "groups"), so forms can show each next to its input.
        self.field_errors = field_errors or {}

    @property
    def is_unauthorized(self) -> bool:
        return self.status_code == 401

    def for_field(self, field: str) -> ApiError:
        """This failure as `field`'s validation message, for a failure only that input can have caused."""
        return ApiError(self.status_code, self.message, {field: sentence(without_field(field, self.message))})

    @classmethod
    def unreachable(cls, exc: httpx.HTTPError) -> ApiError:
        return cls(UNREACHABLE_STATUS, f"The gateway API is unreachable ({type(exc).__name__}).")

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        return cls(response.status_code, _error_message(response), _field_errors(response))


def _error_message(response: httpx.Response) -> str:
    """Pull the human-readable message out of an error body (FastAPI `detail` or an `error` envelope)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return str(detail[0].get("msg", detail[0]))
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
    return f"HTTP {response.status_code}"


def _field_errors(response: httpx.Response) -> dict[str, str]:
    """Every 422 entry in words a person reads (api/messages.py), keyed by the field it names (`loc` minus its
    "body"/"query" prefix); several problems of one field are joined."""
    try:
        body: Any = response.json()
    except ValueError:
        return {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return {}
    errors: dict[str, list[str]] = {}
    for entry in detail:
        loc = entry.get("loc") if isinstance(entry, dict) else None
        if isinstance(loc, list) and len(loc) > 1:
            field = str(loc[1])
            message = human_message(field, str(entry.get("type", "")), str(entry.get("msg", "invalid")))
            if message not in errors.setdefault(field, []):
                errors[field].append(message)
    return {field: " ".join(messages) for field, messages in errors.items()}
