"""Headers as the call log keeps them: every value whose name says it carries a secret replaced."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[redacted]"
_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
_SECRET_PARTS = ("token", "secret", "key", "credential", "password")
MAX_HEADERS = 100
MAX_HEADER_VALUE = 2000


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


def redacted_headers(headers: Iterable[tuple[bytes, bytes]] | Iterable[tuple[str, str]]) -> list[list[str]]:
    """(name, value) pairs in order, at most MAX_HEADERS, values cut at MAX_HEADER_VALUE characters."""
    kept: list[list[str]] = []
    for raw_name, raw_value in headers:
        if len(kept) >= MAX_HEADERS:
            break
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        kept.append([name.lower(), REDACTED if is_secret_header(name) else value[:MAX_HEADER_VALUE]])
    return kept
