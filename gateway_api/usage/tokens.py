"""The token figures of one call, declared once: the scanner fills them, pricing prices them, rows carry them."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(slots=True)
class TokenUsage:
    input_tokens: int = 0  # total input; for Anthropic uncached + cache_read + cache_write
    output_tokens: int = 0  # includes reasoning tokens
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    model: str | None = None  # model the upstream reports, if any
    corrected: int = 0  # figures corrected as out of range or not counts (usage/validation.py); not stored


# The token columns of usage records and rollups, named as TokenUsage names them.
TOKEN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TokenUsage) if f.name.endswith("_tokens"))
