"""Chat Completions streams report usage only when asked (`stream_options.include_usage`), and the OpenAI SDK does
not ask by default: the gateway asks on the client's behalf and hides the answer from a client that did not ask.

Two halves, used together and only for a streamed Chat Completions call whose request lacks `include_usage: true`:
- `with_usage_requested(body, facts)`: the forwarded body, with `"stream_options": {"include_usage": true}` (the
  only edit; every other member, `model` included, stays as the client sent it);
- `UsageChunkHider`: filters the relayed stream so the client sees what it would have seen without the gateway:
  the usage-only final chunk (`"choices": []` with `usage`) is dropped, and the `"usage":null` member the upstream
  adds to every other chunk once usage is asked for is removed. The usage scanner reads the stream before this
  filter, so the row has the provider's exact figures.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from gateway_api.proxy.request_model import RequestFacts

_USAGE_MEMBER = b'"stream_options":{"include_usage":true},'
_USAGE_MARKER = b'"usage"'
# What an upstream adds to every chunk once usage is asked for. A `"` outside a JSON string is structure, so these
# bytes can only be a `usage` member with a null value (quotes inside strings are escaped).
_NULL_USAGE_MEMBERS = (b',"usage":null', b', "usage": null')
# SSE events end with a blank line; any of the three line endings may be used.
_EVENT_BOUNDARY = re.compile(rb"(\r\n\r\n|\n\n|\r\r)")


def with_usage_requested(body: bytes, facts: RequestFacts) -> bytes | None:
    """The body to forward, asking for usage; None when it cannot be asked for without changing the request's
    meaning (a `stream_options` that is not an object: the upstream refuses that request anyway)."""
    if not facts.has_stream_options:
        # No such member anywhere at the top level (the parser said so, escaped spellings included), so the added
        # one is the only one; the rest of the bytes go exactly as sent.
        opening = body.index(b"{")
        return body[: opening + 1] + _USAGE_MEMBER + body[opening + 1 :]
    # Rare (a client that sets other stream options): re-serialised from the parsed document, which is the one the
    # gateway authorised (orjson keeps the last of repeated keys, as request_model decides).
    document: dict[str, Any] = orjson.loads(body)
    options = document.get("stream_options")
    if options is not None and not isinstance(options, dict):
        return None
    document["stream_options"] = {**(options or {}), "include_usage": True}
    return orjson.dumps(document)


class UsageChunkHider:
    """Removes what asking for usage added to a Chat Completions stream, chunk by chunk as it is relayed.

    Only complete events are judged: the incomplete tail of a chunk is held back until the next chunk completes it
    (a client cannot act on half an event anyway). Events that do not mention usage pass as they are."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def relay(self, chunk: bytes, last: bool) -> bytes:
        """What to send the client for this upstream chunk (`last`: the stream ends with it)."""
        data = self._pending + chunk if self._pending else chunk
        if last:
            self._pending = b""
            complete = data
        else:
            end = _last_boundary_end(data)
            complete, self._pending = data[:end], data[end:]
        if _USAGE_MARKER not in complete:
            return complete
        for member in _NULL_USAGE_MEMBERS:
            complete = complete.replace(member, b"")
        if _USAGE_MARKER not in complete:
            return complete
        return _filtered_events(complete)


def _last_boundary_end(data: bytes) -> int:
    """Where the last complete event (with its blank line) ends; 0 when there is none."""
    end = 0
    for boundary in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        found = data.rfind(boundary)
        if found >= 0:
            end = max(end, found + len(boundary))
    return end


def _filtered_events(complete: bytes) -> bytes:
    """Complete events, each with the usage it should not show removed; a dropped event takes its blank line along."""
    pieces = _EVENT_BOUNDARY.split(complete)  # event, boundary, event, boundary, ..., rest
    kept = []
    for index in range(0, len(pieces), 2):
        event = pieces[index]
        boundary = pieces[index + 1] if index + 1 < len(pieces) else b""
        filtered = _without_usage(event)
        if filtered or not event:
            kept.append(filtered + boundary)
    return b"".join(kept)


def _without_usage(event: bytes) -> bytes:
    """One event with the usage it should not show removed; b"" for the usage-only chunk."""
    if _USAGE_MARKER not in event:
        return event
    payload = b"\n".join(_data_value(line) for line in event.splitlines() if line.startswith(b"data:"))
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return event  # not a chunk this filter understands: relayed as it came
    if not isinstance(document, dict) or "usage" not in document:
        return event
    if document.get("choices") == []:
        return b""  # the usage-only chunk
    # Some compatible servers put usage on the last content chunk instead: that chunk stays, without it.
    del document["usage"]
    return b"data: " + orjson.dumps(document)


def _data_value(line: bytes) -> bytes:
    return line[6:] if line.startswith(b"data: ") else line[5:]
