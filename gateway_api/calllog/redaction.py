"""Headers as the call log keeps them: every value whose name says it carries a secret replaced."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
_SECRET_PART = re.compile("token|secret|key|credential|password")
MAX_HEADERS = 100
MAX_HEADER_VALUE = 2000


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or _SECRET_PART.search(lowered) is not None


# Header names repeat from call to call: each is looked at once (bounded: names a client makes up only evict).
_is_secret_header_cached = functools.lru_cache(maxsize=1024)(is_secret_header)


def redacted_headers(headers: Iterable[tuple[bytes, bytes]] | Iterable[tuple[str, str]]) -> list[list[str]]:
    """(name, value) pairs in order, at most MAX_HEADERS, values cut at MAX_HEADER_VALUE characters."""
    kept: list[list[str]] = []
    for raw_name, raw_value in headers:
        if len(kept) >= MAX_HEADERS:
            break
        name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        kept.append([name.lower(), REDACTED if _is_secret_header_cached(name) else value[:MAX_HEADER_VALUE]])
    return kept
