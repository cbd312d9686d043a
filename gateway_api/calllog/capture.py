"""What the call log keeps of a call's exchange when GATEWAY_LLM_LOG_BODIES is on: the request and the reply, each
capped at GATEWAY_LLM_LOG_MAX_BODY_BYTES (the rest dropped and the body marked truncated), the headers redacted.

While a call runs it only appends references to the headers and chunks it relays (no copy, no parsing); when it
ends they are framed with the headers redacted (stored_exchange.py) and the body writer's thread compresses,
encrypts and inserts the frame (body_writer.py); text or base64 and the reply's events reassembled into a message
are worked out when read."""

from __future__ import annotations

from dataclasses import dataclass, field

RawHeaders = list[tuple[bytes, bytes]]


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


@dataclass(slots=True)
class Exchange:
    """One call's request and reply as the call log keeps them."""

    limit: int
    request_headers: RawHeaders  # as received: redacted only when it is stored
    request: CappedBody
    streamed: bool = False
    status: int = 0
    response_headers: RawHeaders = field(default_factory=list)
    response: CappedBody | None = None

    def reply(self, status: int, headers: RawHeaders, streamed: bool) -> CappedBody:
        self.status, self.response_headers, self.streamed = status, headers, streamed
        self.response = CappedBody(self.limit)
        return self.response


def request_exchange(headers: RawHeaders, body: bytes, limit: int) -> Exchange:
    """A call's exchange, opened with its request as the client sent it (only the capped part is referenced; the
    ASGI scope's header list is not changed after the request starts)."""
    request = CappedBody(limit)
    request.add(body)
    return Exchange(limit, headers, request)
