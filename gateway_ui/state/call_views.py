"""The LLM Calls page's pure parts (no Reflex): the filters as they sit in the URL, a call as a table row, and a
stored request or response as readable messages (role, text, tool calls) rather than one JSON blob."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from gateway_ui.api.llm_calls import LlmCall

# The API's filters the page offers, in the order of its form; the URL query string uses the same names.
# `user` and `key` are ids: set by links (Token Usage, a call's drawer), shown as removable chips, not typed.
# "call" (a gateway call id) has no input of its own: it is how other pages link to one call (its drawer opens).
FILTER_KEYS = ("q", "user", "key", "model", "provider", "status", "outcome", "client", "session", "from", "to", "call")
MAX_SHOWN_CHARS = 20_000


def filters_from_query(query: Mapping[str, str]) -> dict[str, str]:
    return {key: str(query[key]).strip() for key in FILTER_KEYS if str(query.get(key, "")).strip()}


def query_from_filters(filters: Mapping[str, str]) -> str:
    return urlencode([(key, filters[key]) for key in FILTER_KEYS if filters.get(key)])


@dataclass
class CallRow:
    id: int = 0
    time: str = ""
    who: str = ""
    provider: str = ""
    model: str = ""
    status: int = 0
    outcome: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost: str = ""
    duration: str = ""
    client: str = ""
    session: str = ""


def call_row(call: LlmCall) -> CallRow:
    who = call.user_email or call.actor or ""
    if call.api_key_name or call.api_key_prefix:
        key = call.api_key_name or call.api_key_prefix or ""
        who = f"{who} ({key})" if who else key
    return CallRow(
        id=call.id,
        time=call.created_at.replace("T", " ")[:19],
        who=who or "unknown",
        provider=call.provider,
        model=call.model,
        status=call.status_code,
        outcome=call.outcome,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost=f"${call.cost_usd:.4f}",
        duration=f"{call.latency_ms:.0f} ms",
        client=call.client,
        session=call.session_id or "",
    )


@dataclass
class MessageView:
    role: str = ""
    text: str = ""


def _text_of(content: Any) -> str:
    """Text and tool calls of a message's content, in any of the three formats."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif kind in ("tool_use", "function_call"):
            arguments = block.get("input", block.get("arguments", ""))
            shown = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            parts.append(f"[tool call] {block.get('name', '')}({shown})")
        elif kind in ("tool_result", "function_call_output"):
            parts.append(f"[tool result] {_text_of(block.get('content', block.get('output', '')))}")
    return "\n".join(parts)


def request_messages(text: str | None) -> list[MessageView]:
    """The system prompt and messages (or Responses input) of a stored request body."""
    try:
        document = json.loads(text or "")
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    views: list[MessageView] = []
    if document.get("system"):
        views.append(MessageView("system", _text_of(document["system"])))
    if isinstance(document.get("instructions"), str):
        views.append(MessageView("instructions", document["instructions"]))
    items = document.get("messages") or document.get("input") or []
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            body = item.get("content", item)
            views.append(MessageView(str(item.get("role", item.get("type", ""))), _text_of(body)[:MAX_SHOWN_CHARS]))
    return views


def response_messages(body: Mapping[str, Any] | None) -> list[MessageView]:
    """What the model answered: the reassembled stream, or the text and tool calls of a whole JSON reply."""
    if not body:
        return []
    reassembled = body.get("events_reassembled")
    if isinstance(reassembled, dict):
        views = [MessageView("assistant", str(reassembled.get("text", "")))]
        for call in reassembled.get("tool_calls") or []:
            views.append(MessageView("tool call", f"{call.get('name', '')}({call.get('arguments', '')})"))
        return views
    try:
        document = json.loads(body.get("text") or "")
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    if "content" in document:  # Anthropic Messages
        return [MessageView("assistant", _text_of(document["content"]))]
    if isinstance(document.get("choices"), list):  # Chat Completions
        views = []
        for choice in document["choices"]:
            message = choice.get("message", {}) if isinstance(choice, dict) else {}
            views.append(MessageView("assistant", _text_of(message.get("content") or "")))
            for call in message.get("tool_calls") or []:
                function = call.get("function", {}) if isinstance(call, dict) else {}
                views.append(MessageView("tool call", f"{function.get('name', '')}({function.get('arguments', '')})"))
        return views
    if isinstance(document.get("output"), list):  # Responses
        return [
            MessageView(str(item.get("role", item.get("type", ""))), _text_of(item.get("content", [item])))
            for item in document["output"]
            if isinstance(item, dict)
        ]
    return []


def shown_body(body: Mapping[str, Any] | None) -> str:
    """A stored body as the drawer shows it: pretty JSON when it is JSON, else its text, or a note for binary."""
    if not body:
        return ""
    note = f"\n[truncated: {body.get('kept_bytes')} of {body.get('bytes')} bytes kept]" if body.get("truncated") else ""
    if "text" not in body:
        return f"[binary, {body.get('bytes')} bytes, stored as base64]\n{body.get('base64', '')[:MAX_SHOWN_CHARS]}"
    text = str(body["text"])
    try:
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pass
    return text[:MAX_SHOWN_CHARS] + note
