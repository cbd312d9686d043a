"""Reading token counts out of provider JSON objects, whole or as fragments of an oversized body.

Provider wire formats differ; `UsageTally` keeps the latest figure each provider reported, and the
scanner turns it into a normalised `TokenUsage` at the end of the response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from gateway_api.providers.names import ProviderName

_MODEL_FIELD = re.compile(rb'"model"\s*:\s*"([^"\\]{1,256})"')
_USAGE_KEY = b'"usage"'
_WHITESPACE = b" \t\r\n"
# A usage object is a few hundred bytes; scanning further only happens on garbage.
_MAX_USAGE_OBJECT_BYTES = 16384


@dataclass(slots=True)
class UsageTally:
    """Latest token figures as the provider reported them (None = never reported)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    model: str | None = None
    saw_usage: bool = False


def _count(value: Any) -> int | None:
    # bool is an int subclass; a negative count is garbage, not a refund.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _nested_count(usage: dict[str, Any], details_key: str, field: str) -> int | None:
    details = usage.get(details_key)
    return _count(details.get(field)) if isinstance(details, dict) else None


def _keep_latest(
    tally: UsageTally,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None,
    cache_write_tokens: int | None,
    reasoning_tokens: int | None,
) -> None:
    # Spelled out rather than a loop over names: this runs for every accounted call.
    if input_tokens is not None:
        tally.input_tokens = input_tokens
    if output_tokens is not None:
        tally.output_tokens = output_tokens
    if cache_read_tokens is not None:
        tally.cache_read_tokens = cache_read_tokens
    if cache_write_tokens is not None:
        tally.cache_write_tokens = cache_write_tokens
    if reasoning_tokens is not None:
        tally.reasoning_tokens = reasoning_tokens


def apply_usage_dict(tally: UsageTally, provider: ProviderName, usage: dict[str, Any]) -> None:
    """Fold one provider `usage` object into the tally; later reports override earlier ones."""
    if provider == "anthropic":
        _keep_latest(
            tally,
            input_tokens=_count(usage.get("input_tokens")),
            output_tokens=_count(usage.get("output_tokens")),
            cache_read_tokens=_count(usage.get("cache_read_input_tokens")),
            cache_write_tokens=_count(usage.get("cache_creation_input_tokens")),
            reasoning_tokens=None,
        )
    elif "prompt_tokens" in usage or "completion_tokens" in usage:  # OpenAI Chat Completions
        _keep_latest(
            tally,
            input_tokens=_count(usage.get("prompt_tokens")),
            output_tokens=_count(usage.get("completion_tokens")),
            cache_read_tokens=_nested_count(usage, "prompt_tokens_details", "cached_tokens"),
            cache_write_tokens=None,
            reasoning_tokens=_nested_count(usage, "completion_tokens_details", "reasoning_tokens"),
        )
    else:  # OpenAI Responses
        _keep_latest(
            tally,
            input_tokens=_count(usage.get("input_tokens")),
            output_tokens=_count(usage.get("output_tokens")),
            cache_read_tokens=_nested_count(usage, "input_tokens_details", "cached_tokens"),
            cache_write_tokens=None,
            reasoning_tokens=_nested_count(usage, "output_tokens_details", "reasoning_tokens"),
        )
    tally.saw_usage = True


def apply_document(tally: UsageTally, provider: ProviderName, document: Any) -> None:
    """Apply a parsed JSON body or SSE event: usage sits at the top (Anthropic message / message_delta,
    chat completion) or one level down (Anthropic message_start `message`, OpenAI `response`)."""
    if not isinstance(document, dict):
        return
    holder: dict[str, Any] | None = document if isinstance(document.get("usage"), dict) else None
    if holder is None:
        for wrapper_key in ("message", "response"):
            inner = document.get(wrapper_key)
            if isinstance(inner, dict) and isinstance(inner.get("usage"), dict):
                holder = inner
                break
    if holder is None:
        return
    apply_usage_dict(tally, provider, holder["usage"])
    model = holder.get("model")
    if isinstance(model, str) and model:
        tally.model = model


def apply_fragments(tally: UsageTally, provider: ProviderName, head: bytes, tail: bytes) -> None:
    """Best effort for a body too large to keep whole: usage is serialised near the end of every
    provider's object and the model near the start, so the kept head and tail are enough."""
    for window in (tail, head):
        usage = last_usage_object(window)
        if usage is not None:
            apply_usage_dict(tally, provider, usage)
            break
    else:
        return
    match = _MODEL_FIELD.search(head)
    if match:
        tally.model = match.group(1).decode("utf-8", "replace")


def last_usage_object(text: bytes) -> dict[str, Any] | None:
    """The last `"usage": {...}` object in a JSON fragment. An unescaped `"usage"` can only be a
    key (quotes inside JSON strings are escaped), and top-level usage comes after nested ones."""
    position = text.rfind(_USAGE_KEY)
    while position >= 0:
        parsed = _object_after_key(text, position + len(_USAGE_KEY))
        if parsed is not None:
            return parsed
        position = text.rfind(_USAGE_KEY, 0, position)
    return None


def _object_after_key(text: bytes, index: int) -> dict[str, Any] | None:
    length = len(text)
    while index < length and text[index] in _WHITESPACE:
        index += 1
    if index >= length or text[index] != ord(":"):
        return None
    index += 1
    while index < length and text[index] in _WHITESPACE:
        index += 1
    if index >= length or text[index] != ord("{"):
        return None
    end = _matching_brace(text, index)
    if end is None:
        return None
    try:
        parsed = orjson.loads(text[index : end + 1])
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _matching_brace(text: bytes, start: int) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, min(len(text), start + _MAX_USAGE_OBJECT_BYTES)):
        byte = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:  # {
            depth += 1
        elif byte == 0x7D:  # }
            depth -= 1
            if depth == 0:
                return index
    return None
