"""The reply filter of the `tool_calls` scope: a streamed reply is relayed live until its first tool-call event and
held from there; at its end the held calls are judged at once and each call a blocking policy rejects is replaced
by text saying so, so no client ever receives (or can run) it. A whole JSON reply is held entire (its calls can
only be read once it is complete) and rewritten the same way. A reply without a blocked call leaves unchanged,
byte for byte.

Decisions:
- Held content the guard cannot read (an event or a body that is not JSON, a tool_use block with a delta that is
  not JSON input, a call without an index) may hide a call: every call of the reply is blocked, unjudged, with a
  notice that it could not be read, and `unreadable` is set. A whole body that is not JSON becomes a reply saying
  so (its status is already on its way to the client).
- Past `max_held_bytes` (held events, or one unfinished event or body) the guard cannot check the calls and will not
  pass them unchecked: a stream is ended there, honestly, by the provider's own in-stream error event (the SDKs
  raise it as an API error, Claude Code and Codex print its message), and nothing after it is relayed; a JSON body
  becomes a reply whose text says the same. `cut` is set, no call is judged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from gateway_api.message_policies.replies.blocked_reply import reply_document
from gateway_api.message_policies.replies.document_rewrites import document_calls, rewrite_document
from gateway_api.message_policies.replies.held_calls import FoundCalls
from gateway_api.message_policies.replies.notices import too_large_text, tool_call_blocked_text, unreadable_call_text
from gateway_api.message_policies.replies.sse_frames import UNREADABLE, SseEvent, SseFramer, dump_json, event_bytes
from gateway_api.message_policies.replies.stream_rewrites import HeldEvent, stream_rewriter
from gateway_api.message_policies.rules import PolicyAction, Violation
from gateway_api.message_policies.verdicts import ToolCallText
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind

JudgeCalls = Callable[[list[ToolCallText]], Awaitable[list[list[Violation]]]]


class ToolCallGuard:
    """One reply's guard: feed() each decoded chunk and relay what it returns, then relay what finish() returns.
    Afterwards `violations` holds every policy's findings on the calls (monitor ones included, for the record)."""

    def __init__(
        self,
        provider: ProviderName,
        kind: EndpointKind,
        streamed: bool,
        judge_calls: JudgeCalls,
        max_held_bytes: int,
    ) -> None:
        self.violations: list[Violation] = []
        self.unreadable = False
        self.cut = False
        self._kind = kind
        self._judge_calls = judge_calls
        self._max_held_bytes = max_held_bytes
        # The endpoint decides the format (`provider` is implied by it); this also refuses one without tool calls.
        self._rewriter = stream_rewriter(kind)
        self._framer = SseFramer() if streamed else None
        self._body = bytearray()
        self._held: list[HeldEvent] | None = None  # None until the first tool-call event
        self._held_bytes = 0
        self._last_sequence: int | None = None  # the last relayed Responses event's number, for a cut's error event
        self._finished = False

    def feed(self, chunk: bytes) -> bytes:
        """Decoded reply bytes in; the bytes to relay now out."""
        if self._finished:
            raise RuntimeError("the reply was already finished")
        if self.cut:
            return b""
        if self._framer is None:
            self._body += chunk
            if len(self._body) > self._max_held_bytes:
                self.cut = True
                self._body = bytearray()
            return b""
        relayed = self._take(self._framer.feed(chunk))
        if not self.cut and self._framer.pending_bytes + self._held_bytes > self._max_held_bytes:
            return relayed + self._cut()
        return relayed

    async def finish(self) -> bytes:
        """At the end of the reply: judge the held calls (one call of `judge_calls` with all of them) and return the
        held bytes, rewritten."""
        if self._finished:
            raise RuntimeError("the reply was already finished")
        self._finished = True
        if self._framer is None:
            return await self._finish_document()
        if self.cut:
            return b""
        relayed = self._take(self._framer.close())
        if self.cut:
            return relayed
        if self._held is None:
            return relayed
        found = self._rewriter.collect(self._held)
        blocked = await self._blocked(found)
        if not blocked:
            return relayed + b"".join(event.sse.raw for event in self._held)
        calls_remain = any(key not in blocked for key in found.calls)
        return relayed + self._rewriter.rewrite(self._held, blocked, calls_remain)

    # -- streams ---------------------------------------------------------------------------------------------

    def _take(self, events: list[SseEvent]) -> bytes:
        relayed: list[bytes] = []
        for event in events:
            data = event.json()
            if self._held is None and not self._rewriter.starts_calls(data):
                if isinstance(data, dict) and isinstance(data.get("sequence_number"), int):
                    self._last_sequence = data["sequence_number"]
                relayed.append(event.raw)
                continue
            if self._held is None:
                self._held = []
            self._held.append(HeldEvent(event, data))
            self._held_bytes += len(event.raw)
            if self._held_bytes > self._max_held_bytes:
                relayed.append(self._cut())
                break
        return b"".join(relayed)

    def _cut(self) -> bytes:
        self.cut = True
        self._held = []
        self._held_bytes = 0
        message = too_large_text(self._max_held_bytes)
        if self._kind is EndpointKind.MESSAGES:
            return event_bytes({"type": "error", "error": {"type": "api_error", "message": message}}, "error")
        if self._kind is EndpointKind.CHAT_COMPLETIONS:
            error = {"message": message, "type": "server_error", "param": None, "code": "reply_too_large"}
            return event_bytes({"error": error}, None)
        sequence = 0 if self._last_sequence is None else self._last_sequence + 1
        error_event = {
            "type": "error",
            "code": "reply_too_large",
            "message": message,
            "param": None,
            "sequence_number": sequence,
        }
        return event_bytes(error_event, "error")

    # -- whole replies ---------------------------------------------------------------------------------------

    async def _finish_document(self) -> bytes:
        if self.cut:
            return dump_json(reply_document(self._kind, "", too_large_text(self._max_held_bytes)))
        body = bytes(self._body)
        self._body = bytearray()
        document: Any = SseEvent(body, None, body.decode("utf-8", "replace")).json()
        found = document_calls(self._kind, document) if document is not UNREADABLE else FoundCalls(unreadable=True)
        if found.unreadable:
            self.unreadable = True
            return dump_json(reply_document(self._kind, _model(document), unreadable_call_text("")))
        blocked = await self._blocked(found)
        if not blocked:
            return body
        calls_remain = any(key not in blocked for key in found.calls)
        return dump_json(rewrite_document(self._kind, document, blocked, calls_remain))

    # -- verdicts --------------------------------------------------------------------------------------------

    async def _blocked(self, found: FoundCalls) -> dict[Hashable, str]:
        """The notice each blocked call is replaced by, by the call's key."""
        if found.unreadable:
            self.unreadable = True
            return {key: unreadable_call_text(call.name) for key, call in found.calls.items()}
        if not found.calls:
            return {}
        calls = list(found.calls.values())
        verdicts = await self._judge_calls(calls)
        if len(verdicts) != len(calls):
            raise ValueError(f"judge_calls answered for {len(verdicts)} tool calls, not {len(calls)}")
        blocked: dict[Hashable, str] = {}
        for (key, call), violations in zip(found.calls.items(), verdicts, strict=True):
            self.violations.extend(violations)
            if any(violation.action is PolicyAction.block for violation in violations):
                blocked[key] = tool_call_blocked_text(call.name, violations)
        return blocked


def _model(document: Any) -> str:
    model = document.get("model") if isinstance(document, dict) else None
    return model if isinstance(model, str) else ""
