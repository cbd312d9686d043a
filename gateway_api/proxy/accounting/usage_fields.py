"""Reading token counts out of provider JSON objects, whole or as fragments of an oversized body.

Provider wire formats differ; `UsageTally` keeps the latest figure each provider reported, and the
scanner turns it into a normalised `TokenUsage` at the end of the response.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import PROVIDERS, UsagePath, UsageShape
from gateway_api.usage.validation import MAX_TOKEN_COUNT, token_figure

_MODEL_FIELD = re.compile(rb'"model"\s*:\s*"([^"\\]{1,256})"')
_USAGE_KEY = b'"usage"'
# Anthropic's first stream event names its type at the start of its data; its usage is not the call's last word.
_OPENING_EVENT = b'"message_start"'
_OPENING_EVENT_WINDOW = 64
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
    corrected: int = 0  # figures the provider sent out of range or not as counts (usage/validation.py)
    # A report that closes the call was read (not only Anthropic's `message_start`, which opens it): without one,
    # a stream was cut before the provider told its whole usage.
    final: bool = False


def _count(tally: UsageTally, name: str, value: Any) -> int | None:
    # A plain in-range int is the only common case; anything else (negative, huge, a fraction, a string) is the
    # rare path that corrects it, warns and marks the tally (usage/validation.py has the rules).
    if type(value) is int and 0 <= value <= MAX_TOKEN_COUNT:
        return value
    if value is None:
        return None
    tally.corrected += 1
    return token_figure(name, value)


_Reader = Callable[[dict[str, Any], UsageTally], int | None]


def _reader(name: str, path: UsagePath | None) -> _Reader:
    """A function reading one figure at `path` of a usage object (None where the shape never reports it)."""
    if path is None:
        return lambda usage, tally: None
    if isinstance(path, str):
        return lambda usage, tally: _count(tally, name, usage.get(path))
    details_key, key = path

    def nested(usage: dict[str, Any], tally: UsageTally) -> int | None:
        details = usage.get(details_key)
        return _count(tally, name, details.get(key)) if isinstance(details, dict) else None

    return nested


class _ShapeReader:
    """One `UsageShape`, turned once into the readers of its five figures."""

    __slots__ = ("cache_read", "cache_write", "input", "output", "reasoning", "recognised_by")

    def __init__(self, shape: UsageShape) -> None:
        self.recognised_by = shape.recognised_by
        self.input = _reader("input_tokens", shape.input_tokens)
        self.output = _reader("output_tokens", shape.output_tokens)
        self.cache_read = _reader("cache_read_tokens", shape.cache_read_tokens)
        self.cache_write = _reader("cache_write_tokens", shape.cache_write_tokens)
        self.reasoning = _reader("reasoning_tokens", shape.reasoning_tokens)

    def applies_to(self, usage: dict[str, Any]) -> bool:
        return not self.recognised_by or any(key in usage for key in self.recognised_by)

    def fold(self, tally: UsageTally, usage: dict[str, Any]) -> None:
        """Later reports override earlier ones; a figure a report leaves out keeps its earlier value."""
        # Spelled out rather than a loop over names: this runs for every accounted call.
        value = self.input(usage, tally)
        if value is not None:
            tally.input_tokens = value
        value = self.output(usage, tally)
        if value is not None:
            tally.output_tokens = value
        value = self.cache_read(usage, tally)
        if value is not None:
            tally.cache_read_tokens = value
        value = self.cache_write(usage, tally)
        if value is not None:
            tally.cache_write_tokens = value
        value = self.reasoning(usage, tally)
        if value is not None:
            tally.reasoning_tokens = value


_SHAPE_READERS: Mapping[str, tuple[_ShapeReader, ...]] = MappingProxyType(
    {name: tuple(_ShapeReader(shape) for shape in spec.usage_shapes) for name, spec in PROVIDERS.items()}
)


def apply_usage_dict(tally: UsageTally, provider: ProviderName, usage: dict[str, Any]) -> None:
    """Fold one provider `usage` object into the tally, read with the first of the provider's shapes that fits."""
    for reader in _SHAPE_READERS[provider]:
        if reader.applies_to(usage):
            reader.fold(tally, usage)
            break
    tally.saw_usage = True


def apply_document(tally: UsageTally, provider: ProviderName, document: Any) -> None:
    """Apply a parsed JSON body or SSE event: usage sits at the top (Anthropic message / message_delta,
    chat completion) or one level down (Anthropic message_start `message`, OpenAI `response`)."""
    if not isinstance(document, dict):
        return
    holder: dict[str, Any] | None = document if isinstance(document.get("usage"), dict) else None
    opening = False
    if holder is None:
        for wrapper_key in ("message", "response"):
            inner = document.get(wrapper_key)
            if isinstance(inner, dict) and isinstance(inner.get("usage"), dict):
                holder = inner
                opening = wrapper_key == "message"  # Anthropic's message_start: input known, output just begun
                break
    if holder is None:
        return
    apply_usage_dict(tally, provider, holder["usage"])
    if not opening:
        tally.final = True
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
            tally.final = _OPENING_EVENT not in head[:_OPENING_EVENT_WINDOW]
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
