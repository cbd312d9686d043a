"""The held part of a streamed reply rewritten: each blocked tool call's events replaced by a text block (Anthropic),
text content (Chat Completions) or a message item (Responses) at the same place, so the stream stays one the SDKs
accept. `collect` reads the calls; `rewrite` writes the events back, unchanged events as their exact bytes.

A held event that is not JSON is dropped: it may be a piece of a call (the guard then blocks every call)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gateway_api.message_policies.replies.blocked_reply import message_item, message_item_events
from gateway_api.message_policies.replies.held_calls import CLIENT_CALL_ITEMS, FoundCalls, item_call
from gateway_api.message_policies.replies.sse_frames import UNREADABLE, SseEvent, event_bytes
from gateway_api.message_policies.verdicts import ToolCallText
from gateway_api.providers.spec import EndpointKind


@dataclass(frozen=True, slots=True)
class HeldEvent:
    sse: SseEvent
    data: Any  # the parsed JSON, UNREADABLE, or None for an event without data


class StreamRewriter(Protocol):
    def starts_calls(self, data: Any) -> bool: ...
    def collect(self, events: Sequence[HeldEvent]) -> FoundCalls: ...
    def rewrite(self, events: Sequence[HeldEvent], blocked: Mapping[Hashable, str], calls_remain: bool) -> bytes: ...


def _is_unreadable(event: HeldEvent) -> bool:
    return event.data is UNREADABLE or (event.data is not None and not isinstance(event.data, dict))


class AnthropicStream:
    """Calls are tool_use blocks, by block index; a blocked one becomes a text block at that index."""

    def starts_calls(self, data: Any) -> bool:
        return (
            isinstance(data, dict)
            and data.get("type") == "content_block_start"
            and _dict(data.get("content_block")).get("type") == "tool_use"
        )

    def collect(self, events: Sequence[HeldEvent]) -> FoundCalls:
        found = FoundCalls()
        names: dict[Hashable, str] = {}
        starts: dict[Hashable, Any] = {}
        pieces: dict[Hashable, list[str]] = {}
        for event in events:
            if _is_unreadable(event):
                found.unreadable = True
                continue
            data = event.data or {}
            index = data.get("index")
            if self.starts_calls(data):
                block = data["content_block"]
                names[index] = str(block.get("name", ""))
                starts[index] = block.get("input")
                pieces[index] = []
            elif data.get("type") == "content_block_delta" and index in pieces:
                delta = _dict(data.get("delta"))
                if delta.get("type") == "input_json_delta":
                    pieces[index].append(str(delta.get("partial_json", "")))
                else:
                    found.unreadable = True  # a tool_use block takes only JSON deltas
        for index, name in names.items():
            # A tool without parameters streams one empty piece: its arguments are the block's own input, `{}`.
            arguments = "".join(pieces[index]) or orjson.dumps(starts[index] or {}).decode()
            found.calls[index] = ToolCallText(name, arguments)
        return found

    def rewrite(self, events: Sequence[HeldEvent], blocked: Mapping[Hashable, str], calls_remain: bool) -> bytes:
        out: list[bytes] = []
        for event in events:
            if _is_unreadable(event):
                continue
            data = event.data or {}
            kind, index = data.get("type"), data.get("index")
            if kind == "content_block_start" and index in blocked:
                out.append(_anthropic({"type": "content_block_start", "index": index, "content_block": _EMPTY_TEXT}))
                delta = {"type": "text_delta", "text": blocked[index]}
                out.append(_anthropic({"type": "content_block_delta", "index": index, "delta": delta}))
            elif kind == "content_block_delta" and index in blocked:
                continue
            elif (
                kind == "message_delta"
                and not calls_remain
                and _dict(data.get("delta")).get("stop_reason") == "tool_use"
            ):
                out.append(_anthropic({**data, "delta": {**data["delta"], "stop_reason": "end_turn"}}))
            else:
                out.append(event.sse.raw)
        return b"".join(out)


_EMPTY_TEXT = {"type": "text", "text": ""}


def _anthropic(data: dict[str, Any]) -> bytes:
    return event_bytes(data, str(data["type"]))


class ChatStream:
    """Calls are `delta.tool_calls[]` entries, by (choice index, call index), and the legacy `delta.function_call`;
    a blocked one becomes content of its choice, the calls left are renumbered from 0 so indexes stay dense."""

    def __init__(self) -> None:
        self._order: list[tuple[Any, Any]] = []

    def starts_calls(self, data: Any) -> bool:
        if not isinstance(data, dict):
            return False
        for choice in _list(data.get("choices")):
            delta = _dict(_dict(choice).get("delta"))
            if delta.get("tool_calls") or delta.get("function_call"):
                return True
        return False

    def collect(self, events: Sequence[HeldEvent]) -> FoundCalls:
        found = FoundCalls()
        names: dict[Hashable, list[str]] = {}
        arguments: dict[Hashable, list[str]] = {}
        for event in events:
            if _is_unreadable(event):
                found.unreadable = True
                continue
            for choice in _list(_dict(event.data).get("choices")):
                choice_index = _dict(choice).get("index")
                delta = _dict(_dict(choice).get("delta"))
                entries = [(call.get("index"), call) for call in map(_dict, _list(delta.get("tool_calls")))]
                if delta.get("function_call"):
                    entries.append(("function_call", {"function": delta["function_call"]}))
                for call_index, call in entries:
                    if not isinstance(call_index, (int, str)):
                        found.unreadable = True
                        continue
                    key = (choice_index, call_index)
                    if key not in names:
                        self._order.append(key)
                        names[key], arguments[key] = [], []
                    body = _dict(call.get("function") or call.get("custom"))
                    names[key].append(str(body.get("name") or ""))
                    arguments[key].append(str(body.get("arguments") or body.get("input") or ""))
        for key in self._order:
            found.calls[key] = ToolCallText("".join(names[key]), "".join(arguments[key]))
        return found

    def rewrite(self, events: Sequence[HeldEvent], blocked: Mapping[Hashable, str], calls_remain: bool) -> bytes:
        renumbered: dict[Hashable, int] = {}
        next_index: dict[Any, int] = {}
        allowed_choices: set[Any] = set()
        for key in self._order:
            choice_index, call_index = key
            if key in blocked:
                continue
            allowed_choices.add(choice_index)
            if call_index != "function_call":
                renumbered[key] = next_index.get(choice_index, 0)
                next_index[choice_index] = renumbered[key] + 1
        told: set[Hashable] = set()
        out: list[bytes] = []
        for event in events:
            if _is_unreadable(event):
                continue
            chunk = event.data
            if not isinstance(chunk, dict) or not isinstance(chunk.get("choices"), list):
                out.append(event.sse.raw)
                continue
            choices = [self._choice(choice, blocked, renumbered, allowed_choices, told) for choice in chunk["choices"]]
            if choices == chunk["choices"]:
                out.append(event.sse.raw)
            elif any(_dict(choice.get("delta")) or choice.get("finish_reason") for choice in choices) or chunk.get(
                "usage"
            ):
                out.append(event_bytes({**chunk, "choices": choices}, event.sse.event))
            # else: the chunk carried only pieces of blocked calls and goes entirely
        return b"".join(out)

    def _choice(
        self,
        choice: Any,
        blocked: Mapping[Hashable, str],
        renumbered: Mapping[Hashable, int],
        allowed_choices: set[Any],
        told: set[Hashable],
    ) -> Any:
        if not isinstance(choice, dict):
            return choice
        choice_index = choice.get("index")
        delta = dict(_dict(choice.get("delta")))
        notices: list[str] = []
        calls = []
        for call in map(_dict, _list(delta.get("tool_calls"))):
            key = (choice_index, call.get("index"))
            if key in blocked:
                if key not in told:
                    told.add(key)
                    notices.append(blocked[key])
            elif key in renumbered and renumbered[key] != call.get("index"):
                calls.append({**call, "index": renumbered[key]})
            else:
                calls.append(call)
        if "tool_calls" in delta:
            if calls:
                delta["tool_calls"] = calls
            else:
                del delta["tool_calls"]
        legacy = (choice_index, "function_call")
        if "function_call" in delta and legacy in blocked:
            del delta["function_call"]
            if legacy not in told:
                told.add(legacy)
                notices.append(blocked[legacy])
        if notices:
            # The choice's content so far went out in earlier chunks: a notice starts a paragraph of its own.
            earlier = delta.get("content")
            delta["content"] = (earlier if isinstance(earlier, str) else "") + "".join(f"\n\n{n}" for n in notices)
        finish_reason = choice.get("finish_reason")
        if finish_reason in {"tool_calls", "function_call"} and choice_index not in allowed_choices:
            finish_reason = "stop"
        if delta == choice.get("delta") and finish_reason == choice.get("finish_reason"):
            return choice
        return {**choice, "delta": delta, "finish_reason": finish_reason}


class ResponsesStream:
    """Calls are client-run output items (function_call, custom_tool_call, ...), by output index; a blocked one
    becomes a message item at that index, with every event the SDK's stream state expects, and the final
    response's output says the same. Sequence numbers are renumbered from the first held event on."""

    def __init__(self) -> None:
        self._item_ids: dict[Hashable, str] = {}

    def starts_calls(self, data: Any) -> bool:
        return (
            isinstance(data, dict)
            and data.get("type") in {"response.output_item.added", "response.output_item.done"}
            and _dict(data.get("item")).get("type") in CLIENT_CALL_ITEMS
        )

    def collect(self, events: Sequence[HeldEvent]) -> FoundCalls:
        found = FoundCalls()
        deltas: dict[Hashable, list[str]] = {}
        for event in events:
            if _is_unreadable(event):
                found.unreadable = True
                continue
            data = _dict(event.data)
            kind, index = data.get("type"), data.get("output_index")
            if self.starts_calls(data):
                item = data["item"]
                self._item_ids.setdefault(index, "msg_gw" + str(item.get("id") or index))
                call = item_call(item)
                if kind == "response.output_item.done" or index not in found.calls:
                    found.calls[index] = call
            elif str(kind).endswith(".delta") and index in found.calls and kind != "response.output_text.delta":
                deltas.setdefault(index, []).append(str(data.get("delta", "")))
            elif kind in _FINAL_EVENTS:
                for position, item in enumerate(_list(_dict(data.get("response")).get("output"))):
                    if _dict(item).get("type") in CLIENT_CALL_ITEMS and position not in found.calls:
                        self._item_ids.setdefault(position, "msg_gw" + str(item.get("id") or position))
                        found.calls[position] = item_call(item)
        for index, pieces in deltas.items():
            call = found.calls[index]
            if not call.arguments:  # the item that closed the call did not repeat its arguments
                found.calls[index] = ToolCallText(call.name, "".join(pieces))
        return found

    def rewrite(self, events: Sequence[HeldEvent], blocked: Mapping[Hashable, str], calls_remain: bool) -> bytes:
        first = _dict(events[0].data).get("sequence_number") if events else None
        sequence = first if isinstance(first, int) else None
        opened: set[Hashable] = set()
        out: list[bytes] = []

        def emit(data: dict[str, Any], original: SseEvent | None = None) -> None:
            nonlocal sequence
            if sequence is not None:
                if original is not None and data.get("sequence_number") == sequence:
                    out.append(original.raw)
                else:
                    out.append(event_bytes({**data, "sequence_number": sequence}, str(data.get("type"))))
                sequence += 1
            else:
                out.append(original.raw if original is not None else event_bytes(data, str(data.get("type"))))

        for event in events:
            if _is_unreadable(event):
                continue
            if event.data is None:
                out.append(event.sse.raw)
                continue
            data = event.data
            kind, index = data.get("type"), data.get("output_index")
            if index in blocked and "output_index" in data:
                opening, closing = message_item_events(self._item_ids[index], index, blocked[index])
                if kind == "response.output_item.added":
                    opened.add(index)
                    for step in opening:
                        emit(step)
                elif kind == "response.output_item.done":
                    for step in ([] if index in opened else opening) + closing:
                        emit(step)
                continue
            if kind in _FINAL_EVENTS:
                response = _dict(data.get("response"))
                output = _list(response.get("output"))
                if any(position in blocked for position in range(len(output))):
                    output = [
                        message_item(self._item_ids[position], blocked[position]) if position in blocked else item
                        for position, item in enumerate(output)
                    ]
                    emit({**data, "response": {**response, "output": output}})
                    continue
            emit(data, event.sse)
        return b"".join(out)


_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def stream_rewriter(kind: EndpointKind) -> StreamRewriter:
    if kind is EndpointKind.MESSAGES:
        return AnthropicStream()
    if kind is EndpointKind.CHAT_COMPLETIONS:
        return ChatStream()
    if kind is EndpointKind.RESPONSES:
        return ResponsesStream()
    raise ValueError(f"no tool calls to guard on the {kind} endpoint")
