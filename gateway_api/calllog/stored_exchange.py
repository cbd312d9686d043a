"""How a call's exchange is laid out before it is sealed, and read back into the document the REST API returns.

Written on the event loop when a call ends (the body writer's thread seals it): a frame of a small JSON head
(redacted headers, status, sizes) followed by the kept request and reply bytes as they came. The bodies are not
put inside the JSON: escaping every quote of a streamed reply's events and decoding them as text cost more than
compressing and sealing them, and made the sealed document about half as large again (bench/README.md, issue 16).
Text or base64, truncation marks and the reassembled stream are worked out when a document is read, which is rare.

Read: frames, and the JSON documents earlier versions sealed (they start with `{`, a frame with a NUL byte).
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from gateway_api.calllog.capture import Exchange
from gateway_api.calllog.reassembly import with_reassembly
from gateway_api.calllog.redaction import redacted_headers

FRAME_MAGIC = b"\x00gwx1"
_HEAD_LENGTH_BYTES = 4


def encode_exchange(exchange: Exchange) -> bytes:
    """The frame of one exchange: magic, the head's length, the head, the kept request bytes, the kept reply bytes."""
    request, response = exchange.request, exchange.response
    head: dict[str, Any] = {
        "request": {"headers": redacted_headers(exchange.request_headers), "bytes": request.seen, "kept": request.size}
    }
    if response is not None:
        head["response"] = {
            "status": exchange.status,
            "streamed": exchange.streamed,
            "headers": redacted_headers(exchange.response_headers),
            "bytes": response.seen,
            "kept": response.size,
        }
    head_bytes = orjson.dumps(head)
    return b"".join(
        [
            FRAME_MAGIC,
            len(head_bytes).to_bytes(_HEAD_LENGTH_BYTES, "big"),
            head_bytes,
            *request.chunks,
            *(response.chunks if response is not None else ()),
        ]
    )


def decode_exchange(stored: bytes) -> dict[str, Any]:
    """The exchange as the REST API shows it: headers, each body as text (or base64 when it is not UTF-8) with its
    sizes and truncated mark, a streamed reply's events also reassembled. ValueError for bytes that are neither a
    frame nor a JSON document."""
    if not stored.startswith(FRAME_MAGIC):
        try:
            found = orjson.loads(stored)
        except orjson.JSONDecodeError as exc:
            raise ValueError("stored exchange is neither a frame nor a JSON document") from exc
        if not isinstance(found, dict):
            raise ValueError("stored exchange is not a JSON object")
        return with_reassembly(found)
    return with_reassembly(_from_frame(stored))


def _from_frame(stored: bytes) -> dict[str, Any]:
    start = len(FRAME_MAGIC) + _HEAD_LENGTH_BYTES
    head_end = start + int.from_bytes(stored[len(FRAME_MAGIC) : start], "big")
    try:
        head = orjson.loads(stored[start:head_end])
        request, response = head["request"], head.get("response")
        request_end = head_end + request["kept"]
        response_end = request_end + (response["kept"] if response is not None else 0)
        if response_end != len(stored):
            raise ValueError("stored exchange frame's sizes do not match its length")
        document: dict[str, Any] = {
            "request": {
                "headers": request["headers"],
                "body": body_document(stored[head_end:request_end], request["bytes"]),
            },
            "response": {"status": 0, "headers": [], "body": None},
        }
        if response is not None:
            document["response"] = {
                "status": response["status"],
                "streamed": response["streamed"],
                "headers": response["headers"],
                "body": body_document(stored[request_end:response_end], response["bytes"]),
            }
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError("stored exchange frame has no readable head") from exc
    return document


def body_document(kept: bytes, seen: int) -> dict[str, Any]:
    """A body as shown: UTF-8 text when it is, else base64 (marked), with its sizes and the truncated mark."""
    truncated = seen > len(kept)
    shown: dict[str, Any] = {"bytes": seen, "kept_bytes": len(kept), "truncated": truncated}
    text = _utf8_prefix(kept, truncated)
    if text is not None:
        shown["text"] = text
    else:
        shown["base64"] = base64.b64encode(kept).decode()
    return shown


def _utf8_prefix(data: bytes, truncated: bool) -> str | None:
    """The bytes as text if they are UTF-8; a cut may have split the last character (up to 3 bytes dropped)."""
    for drop in range(4 if truncated else 1):
        try:
            return data[: len(data) - drop].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
