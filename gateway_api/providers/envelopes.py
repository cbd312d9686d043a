"""Gateway-generated errors in each provider's own error envelope, so SDKs and CLIs show them properly.

Upstream errors are never rewritten; these bodies are only for errors the gateway itself decides
(auth, policy, unknown endpoint, upstream unreachable ...).
"""

from __future__ import annotations

from types import MappingProxyType

import orjson

JSON_CONTENT_TYPE = "application/json"

_ANTHROPIC_TYPES: MappingProxyType[int, str] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        502: "api_error",
        503: "api_error",
        504: "api_error",
        529: "overloaded_error",
    }
)

# (type, default code) as OpenAI's own API uses them.
_OPENAI_TYPES: MappingProxyType[int, tuple[str, str | None]] = MappingProxyType(
    {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "permission_denied"),
        404: ("invalid_request_error", "not_found"),
        405: ("invalid_request_error", "method_not_allowed"),
        413: ("invalid_request_error", "request_too_large"),
        429: ("rate_limit_exceeded", "rate_limit_exceeded"),
        500: ("server_error", None),
        502: ("server_error", "bad_gateway"),
        503: ("server_error", "service_unavailable"),
        504: ("server_error", "timeout"),
    }
)


def anthropic_error_type(status: int) -> str:
    if status in _ANTHROPIC_TYPES:
        return _ANTHROPIC_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def openai_error_type(status: int) -> tuple[str, str | None]:
    if status in _OPENAI_TYPES:
        return _OPENAI_TYPES[status]
    return ("server_error", None) if status >= 500 else ("invalid_request_error", None)


def anthropic_error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> bytes:
    """Anthropic's envelope has no code or param."""
    return orjson.dumps({"type": "error", "error": {"type": anthropic_error_type(status), "message": message}})


def openai_error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> bytes:
    """`code` replaces the per-status default (e.g. "model_not_found" for an unknown model on 404)."""
    error_type, default_code = openai_error_type(status)
    return orjson.dumps(
        {
            "error": {
                "message": message,
                "type": error_type,
                "param": param,
                "code": code if code is not None else default_code,
            }
        }
    )
