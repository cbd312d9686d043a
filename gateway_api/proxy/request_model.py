"""The `model` a request body names, read without turning the whole body into Python objects.

Every proxied call needs the top-level `model` before it is forwarded, and the body must be valid JSON. orjson
builds every object of the document to answer that, which for a real Claude Code request (around 100 KB) is a
large share of a call's CPU. simdjson validates the whole document just as strictly into flat buffers and creates
only what is asked for (the top-level keys and one value), several times faster (bench/README.md).

orjson stays the authority for whatever simdjson does not settle on its own, so the answers are orjson's:
- anything simdjson refuses (syntax, big integers it cannot represent, nesting, capacity): orjson decides;
- a repeated top-level `model` key: orjson keeps the last one, as the providers' parsers do (simdjson would
  return the first, which would let a body pass the policy under one model and run under another);
- a body starting with a UTF-8 byte-order mark, which simdjson skips and orjson refuses;
- bodies over MAX_LAZY_BYTES (simdjson's buffers are several times the body's size).
"""

from __future__ import annotations

import orjson
import simdjson

from gateway_api.proxy.refusal import Refusal

MAX_LAZY_BYTES = 4 * 1024 * 1024
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


def top_level_model(body: bytes) -> str | Refusal:
    """The top-level `model` string, or the 400 refusal for a body that is not a JSON object naming one."""
    if len(body) <= MAX_LAZY_BYTES and not body.startswith(_BYTE_ORDER_MARK):
        found = _with_simdjson(body)
        if found is not None:
            return found
    return model_with_orjson(body)


def _with_simdjson(body: bytes) -> str | Refusal | None:
    """simdjson's answer, or None where orjson must decide.

    A parser per call: it costs a little more than reusing one, keeps no buffer sized to the largest body ever
    seen, and a parser is never found still holding the previous document."""
    try:
        document = simdjson.Parser(max_capacity=MAX_LAZY_BYTES).parse(body)
    except (ValueError, RuntimeError):  # not JSON to simdjson, or an integer it cannot hold: orjson decides
        return None
    if not isinstance(document, simdjson.Object):
        return _NOT_AN_OBJECT
    if sum(1 for key in document if key == "model") != 1:
        return None if "model" in document else _NO_MODEL
    model = document.get("model")
    return model if isinstance(model, str) and model else _NO_MODEL


def model_with_orjson(body: bytes) -> str | Refusal:
    """The same answer from a full parse. orjson keeps the last of repeated keys, as the providers' parsers do."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Refusal(400, "request body is not valid JSON")
    if not isinstance(document, dict):
        return _NOT_AN_OBJECT
    model = document.get("model")
    if not isinstance(model, str) or not model:
        return _NO_MODEL
    return model


_NOT_AN_OBJECT = Refusal(400, "request body must be a JSON object")
_NO_MODEL = Refusal(400, 'request body needs a "model" string')
