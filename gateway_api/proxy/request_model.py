"""The `model` a request body names, read without turning the whole body into Python objects.

Every proxied call needs the top-level `model` before it is forwarded, and the body must be valid JSON. orjson
builds every object of the document to answer that: ~100 µs for a real 117 KB Claude Code request, a sixth of a
core at a few thousand calls per second. simdjson validates the whole document just as strictly into a reusable
buffer and creates only what is asked for (the top-level keys and one value): ~20 µs for the same body.

orjson stays the authority for whatever simdjson does not settle on its own, so the answers are orjson's:
- anything simdjson refuses (syntax, big integers it cannot represent, nesting, capacity): orjson decides;
- a repeated top-level `model` key: orjson keeps the last one, as the providers' parsers do (simdjson would
  return the first, which would let a body pass the policy under one model and run under another);
- a body starting with a UTF-8 byte-order mark, which simdjson skips and orjson refuses;
- bodies over MAX_LAZY_BYTES, so one huge request does not leave the parser's buffer that large for good.
"""

from __future__ import annotations

import orjson
import simdjson

from gateway_api.proxy.auth import Refusal

MAX_LAZY_BYTES = 4 * 1024 * 1024
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"


class ModelReader:
    """One per event loop: a simdjson parser holds one document at a time, and `model_of` never awaits."""

    def __init__(self) -> None:
        self._parser = simdjson.Parser(max_capacity=MAX_LAZY_BYTES)

    def model_of(self, body: bytes) -> str | Refusal:
        """The top-level `model` string, or the 400 refusal for a body that is not a JSON object naming one."""
        if len(body) <= MAX_LAZY_BYTES and not body.startswith(_BYTE_ORDER_MARK):
            found = self._lazily(body)
            if found is not None:
                return found
        return model_with_orjson(body)

    def _lazily(self, body: bytes) -> str | Refusal | None:
        """simdjson's answer, or None where orjson must decide. No proxy into the parser's document outlives
        this call: the parser refuses to parse again while one is alive."""
        try:
            document = self._parser.parse(body)
        except RuntimeError:
            # BIGINT_ERROR, or the parser still in use (a proxy kept alive by a bug): start afresh, orjson decides.
            self._parser = simdjson.Parser(max_capacity=MAX_LAZY_BYTES)
            return None
        except ValueError:  # not JSON to simdjson (UnicodeDecodeError included): orjson has the last word
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
