"""What the call log keeps of a call's exchange when GATEWAY_LLM_LOG_BODIES is on: the request and the reply, each
capped at GATEWAY_LLM_LOG_MAX_BODY_BYTES (the rest dropped and the body marked truncated), the headers redacted.

On the event loop a call only appends references to the headers and chunks it relays (no copy, no parsing);
redacting the headers, turning the bodies into the stored document (text or base64, the reply's events
reassembled into a message when read) and encrypting it happen in the body writer's thread (body_writer.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

RawHeaders = list[tuple[bytes, bytes]]

import orjson

from gateway_api.calllog.redaction import redacted_headers


@dataclass(slots=True)
class CappedBody:
    limit: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0  # bytes kept
    seen: int = 0  # bytes offered

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        room = self.limit - self.size
        if room <= 0 or not chunk:
            return
        kept = chunk if len(chunk) <= room else chunk[:room]
        self.chunks.append(kept)
        self.size += len(kept)

    @property
    def truncated(self) -> bool:
        return self.seen > self.size

    def document(self) -> dict[str, Any]:
        """The body as stored: UTF-8 text when it is, else base64 (marked), with its sizes and the truncated mark."""
        data = b"".join(self.chunks)
        stored: dict[str, Any] = {"bytes": self.seen, "kept_bytes": self.size, "truncated": self.truncated}
        text = _utf8_prefix(data, self.truncated)
        if text is not None:
            stored["text"] = text
        else:
            stored["base64"] = base64.b64encode(data).decode()
        return stored


def _utf8_prefix(data: bytes, truncated: bool) -> str | None:
    """The bytes as text if they are UTF-8; a cut may have split the last character (up to 3 bytes dropped)."""
    for drop in range(4 if truncated else 1):
        try:
            return data[: len(data) - drop].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


@dataclass(slots=True)
class Exchange:
    """One call's request and reply as the call log keeps them."""

    limit: int
    request_headers: RawHeaders  # as received: redacted only when the document is built
    request: CappedBody
    streamed: bool = False
    status: int = 0
    response_headers: RawHeaders = field(default_factory=list)
    response: CappedBody | None = None

    def reply(self, status: int, headers: RawHeaders, streamed: bool) -> CappedBody:
        self.status, self.response_headers, self.streamed = status, headers, streamed
        self.response = CappedBody(self.limit)
        return self.response

    def document(self) -> bytes:
        """The stored document (JSON), built off the event loop. A stream is stored as its events; the message they
        spell is rebuilt when the document is read (reassembly.py's `with_reassembly`), not on every call."""
        response = self.response.document() if self.response is not None else None
        return orjson.dumps(
            {
                "request": {"headers": redacted_headers(self.request_headers), "body": self.request.document()},
                "response": {
                    "status": self.status,
                    "headers": redacted_headers(self.response_headers),
                    "body": response,
                },
            }
        )


def request_exchange(headers: RawHeaders, body: bytes, limit: int) -> Exchange:
    """A call's exchange, opened with its request as the client sent it (only the capped part is referenced; the
    ASGI scope's header list is not changed after the request starts)."""
    request = CappedBody(limit)
    request.add(body)
    return Exchange(limit, headers, request)
