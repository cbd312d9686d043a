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

from typing import Any

import orjson

from gateway_api.proxy.request_model import RequestFacts

_USAGE_MEMBER = b'"stream_options":{"include_usage":true},'
_USAGE_MARKER = b'"usage"'
# What an upstream adds to every chunk once usage is asked for. A `"` outside a JSON string is structure, so these
# bytes can only be a `usage` member with a null value (quotes inside strings are escaped).
_NULL_USAGE = b',"usage":null'
_SPACED_NULL_USAGE = b', "usage": null'
# SSE events end with a blank line; any of the three line endings may be used.
_LF_BOUNDARY = (b"\n\n",)
_BOUNDARIES = (b"\r\n\r\n", b"\n\n", b"\r\r")


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
    try:
        document: dict[str, Any] = orjson.loads(body)
        options = document.get("stream_options")
        if options is not None and not isinstance(options, dict):
            return None
        document["stream_options"] = {**(options or {}), "include_usage": True}
        return orjson.dumps(document)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # request_model read it already: not expected
        return None


class UsageChunkHider:
    """Removes what asking for usage added to a Chat Completions stream, chunk by chunk as it is relayed.

    Only complete events are judged: the incomplete tail of a chunk is held back until the next chunk completes it
    (a client cannot act on half an event anyway). Events that do not mention usage pass as they are."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def relay(self, chunk: bytes, last: bool) -> bytes:
        """What to send the client for this upstream chunk (`last`: the stream ends with it)."""
        complete = self._pending + chunk if self._pending else chunk
        self._pending = b""
        if not last and not complete.endswith(b"\n\n"):  # else whole events, the usual chunk
            end = _last_boundary_end(complete)
            complete, self._pending = complete[:end], complete[end:]
        if _NULL_USAGE in complete:
            complete = complete.replace(_NULL_USAGE, b"")
        if _USAGE_MARKER not in complete:
            return complete
        if _SPACED_NULL_USAGE in complete:
            complete = complete.replace(_SPACED_NULL_USAGE, b"")
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
    """Complete events, each with the usage it should not show removed; a dropped event takes its blank line along.
    Only the events that mention usage are looked at (usually one per stream)."""
    boundaries = _BOUNDARIES if b"\r" in complete else _LF_BOUNDARY
    kept = []
    done = 0  # everything before this offset is decided
    position = complete.find(_USAGE_MARKER)
    while position >= 0:
        start = done
        for boundary in boundaries:
            found = complete.rfind(boundary, done, position)
            if found >= 0:
                start = max(start, found + len(boundary))
        end, after = len(complete), len(complete)
        for boundary in boundaries:
            found = complete.find(boundary, position)
            if 0 <= found < end:
                end, after = found, found + len(boundary)
        kept.append(complete[done:start])
        filtered = _without_usage(complete[start:end])
        if filtered:
            kept.append(filtered + complete[end:after])
        done = after
        position = complete.find(_USAGE_MARKER, done)
    kept.append(complete[done:])
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
