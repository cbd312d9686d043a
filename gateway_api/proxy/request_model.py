"""What a request body says about the call (its `model`, whether it streams, its output cap), read without turning
the whole body into Python objects.

Every proxied call needs the top-level `model` before it is forwarded, and the body must be valid JSON. orjson
builds every object of the document to answer that, which for a real Claude Code request (around 100 KB) is a
large share of a call's CPU. simdjson validates the whole document just as strictly into flat buffers and creates
only what is asked for (the top-level keys and one value), several times faster (bench/README.md).

orjson stays the authority for whatever simdjson does not settle on its own, so the answers are orjson's:
- anything simdjson refuses (syntax, big integers it cannot represent, nesting, capacity): orjson decides;
- a repeated top-level key the gateway reads: orjson keeps the last one, as the providers' parsers do (simdjson
  would return the first, which would let a body pass the policy under one model and run under another, or stream
  while the gateway believes it does not);
- a body starting with a UTF-8 byte-order mark, which simdjson skips and orjson refuses;
- bodies over MAX_LAZY_BYTES (simdjson's buffers are several times the body's size).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
import simdjson

from gateway_api.proxy.refusal import Refusal

MAX_LAZY_BYTES = 4 * 1024 * 1024
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"
# The output caps of the three request formats: Messages, Responses, Chat Completions (old and new name).
_OUTPUT_CAP_KEYS = ("max_tokens", "max_output_tokens", "max_completion_tokens")
# Where the three formats set a reasoning effort (logged with the call): Chat Completions' `reasoning_effort`,
# Responses' `reasoning.effort`, Anthropic's `output_config.effort` and `thinking.budget_tokens`.
_EFFORT_KEYS = ("reasoning_effort", "reasoning", "output_config", "thinking")
READ_KEYS = frozenset({"model", "stream", "stream_options", *_OUTPUT_CAP_KEYS, *_EFFORT_KEYS})
MAX_EFFORT_LENGTH = 32


class RequestFacts(NamedTuple):
    """A tuple rather than a frozen dataclass: it is built for every call, and a frozen dataclass's __init__ costs
    several times more."""

    model: str
    stream: bool  # `"stream": true`
    max_output_tokens: int | None  # the output cap the request sets, if any
    include_usage: bool  # Chat Completions' `stream_options.include_usage` is true
    has_stream_options: bool = False  # the body has a top-level `stream_options` key (whatever its value)
    reasoning_effort: str | None = None  # as the request sets it (read only when one of its keys is present)


def read_request(body: bytes) -> RequestFacts | Refusal:
    """The facts of a JSON object naming a `model`, or the 400 refusal for any other body."""
    if len(body) <= MAX_LAZY_BYTES and not body.startswith(_BYTE_ORDER_MARK):
        found = _with_simdjson(body)
        if found is not None:
            return found
    return facts_with_orjson(body)


def top_level_model(body: bytes) -> str | Refusal:
    """The top-level `model` string, or the 400 refusal for a body that is not a JSON object naming one."""
    facts = read_request(body)
    return facts if isinstance(facts, Refusal) else facts.model


def _with_simdjson(body: bytes) -> RequestFacts | Refusal | None:
    """simdjson's answer, or None where orjson must decide.

    A parser per call: it costs a little more than reusing one, keeps no buffer sized to the largest body ever
    seen, and a parser is never found still holding the previous document."""
    try:
        document = simdjson.Parser(max_capacity=MAX_LAZY_BYTES).parse(body)
    except (ValueError, RuntimeError):  # not JSON to simdjson, or an integer it cannot hold: orjson decides
        return None
    if not isinstance(document, simdjson.Object):
        return _NOT_AN_OBJECT
    # Only the keys the body has are looked up: simdjson's look-up of a missing key costs more than parsing a small
    # body.
    read: dict[str, Any] = {}
    for key in document:
        if key in READ_KEYS:
            if key in read or key == "stream_options":
                # A repeated key the gateway reads (the last one counts), or stream options, whose own keys could
                # repeat: orjson decides.
                return None
            read[key] = document[key]
    if "model" not in read:
        return _NO_MODEL
    return _facts(read.get, has_stream_options=False)


def facts_with_orjson(body: bytes) -> RequestFacts | Refusal:
    """The same answer from a full parse. orjson keeps the last of repeated keys, as the providers' parsers do."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Refusal(400, "request body is not valid JSON")
    if not isinstance(document, dict):
        return _NOT_AN_OBJECT
    return _facts(document.get, has_stream_options="stream_options" in document)


def facts_from_top_level(values: dict[str, Any]) -> RequestFacts | Refusal:
    """The facts from the decoded top-level values of READ_KEYS (large_body.py's streaming scan)."""
    return _facts(values.get, has_stream_options="stream_options" in values)


def model_with_orjson(body: bytes) -> str | Refusal:
    facts = facts_with_orjson(body)
    return facts if isinstance(facts, Refusal) else facts.model


def _facts(get: Callable[[str], Any], *, has_stream_options: bool) -> RequestFacts | Refusal:
    """Read from a parsed top-level object through its `get` (a dict's, or a simdjson Object's when the body has no
    `stream_options`)."""
    model = get("model")
    if not isinstance(model, str) or not model:
        return _NO_MODEL
    cap = None
    for key in _OUTPUT_CAP_KEYS:
        value = get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            cap = value
            break
    options = get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    return RequestFacts(
        model=model,
        stream=get("stream") is True,
        max_output_tokens=cap,
        include_usage=include_usage,
        has_stream_options=has_stream_options,
        reasoning_effort=_reasoning_effort(get) if any(get(key) is not None for key in _EFFORT_KEYS) else None,
    )


def _reasoning_effort(get: Callable[[str], Any]) -> str | None:
    """The effort the request asks for, as text (a thinking budget reads `budget:<tokens>`)."""
    effort = get("reasoning_effort")
    for container in ("reasoning", "output_config"):
        nested = get(container)
        if effort is None and isinstance(nested, dict | simdjson.Object):
            effort = nested.get("effort")
    thinking = get("thinking")
    if effort is None and isinstance(thinking, dict | simdjson.Object):
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int) and not isinstance(budget, bool):
            effort = f"budget:{budget}"
        elif isinstance(thinking.get("type"), str):
            effort = str(thinking.get("type"))
    # A NUL (JSON \u0000) would make PostgreSQL refuse the call's usage row.
    return effort[:MAX_EFFORT_LENGTH].replace("\x00", "\ufffd") if isinstance(effort, str) and effort else None


_NOT_AN_OBJECT = Refusal(400, "request body must be a JSON object")
_NO_MODEL = Refusal(400, 'request body needs a "model" string')
