"""What the tool-call guard's rewriters share: the calls they find in a held reply, keyed the way each format
identifies a call, and the output item types of the Responses API whose calls the client runs."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway_api.message_policies.verdicts import ToolCallText

# Responses output items the client executes. Server-side tools (web_search_call, file_search_call, mcp_call, ...)
# run at the provider: the client never acts on them, so they pass.
CLIENT_CALL_ITEMS = frozenset(
    {"function_call", "custom_tool_call", "local_shell_call", "shell_call", "apply_patch_call", "computer_call"}
)


@dataclass(slots=True)
class FoundCalls:
    """The calls of a reply in the order they appear, and whether anything held could not be read (then no call
    can be trusted to be what it seems, and every one is blocked)."""

    calls: dict[Hashable, ToolCallText] = field(default_factory=dict)
    unreadable: bool = False


def item_call(item: dict[str, Any]) -> ToolCallText:
    """A Responses call item as text: a function's arguments, a custom tool's input, or the action of the others."""
    kind = str(item.get("type", ""))
    name = item.get("name")
    if kind == "function_call":
        return ToolCallText(str(name or ""), _text(item.get("arguments")))
    if kind == "custom_tool_call":
        return ToolCallText(str(name or ""), _text(item.get("input")))
    details = {key: value for key, value in item.items() if key not in {"id", "call_id", "status", "type"}}
    return ToolCallText(str(name or kind), orjson.dumps(details).decode())


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else orjson.dumps(value).decode()
