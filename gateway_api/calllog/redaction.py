"""Headers as the call log keeps them: every value whose name says it carries a secret replaced."""

from __future__ import annotations

import functools
import itertools
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


# Header names repeat from call to call: each is decoded and looked at once. Bounded in entries and in bytes: only
# names of ordinary length are kept (a client may send names of kilobytes, and made-up ones only evict).
MAX_CACHED_NAME = 64


def _name_and_secrecy(raw_name: bytes) -> tuple[str, bool]:
    name = raw_name.decode("latin-1").lower()
    return name, is_secret_header(name)


_cached_name_and_secrecy = functools.lru_cache(maxsize=1024)(_name_and_secrecy)


def _stored_name(raw_name: bytes) -> tuple[str, bool]:
    return (_name_and_secrecy if len(raw_name) > MAX_CACHED_NAME else _cached_name_and_secrecy)(raw_name)


def redacted_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[list[str]]:
    """(name, value) pairs in order, names lower-cased, at most MAX_HEADERS, values cut at MAX_HEADER_VALUE
    characters (latin-1: one per byte)."""
    kept: list[list[str]] = []
    for raw_name, raw_value in itertools.islice(headers, MAX_HEADERS):
        name, secret = _stored_name(raw_name)
        kept.append([name, REDACTED if secret else raw_value[:MAX_HEADER_VALUE].decode("latin-1")])
    return kept
