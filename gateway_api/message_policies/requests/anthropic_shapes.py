"""The text of an Anthropic Messages body (also count_tokens): `system`, the messages' text and tool results.

Scopes: `system` and the user messages' text (and a final assistant prefill, which the client writes) are
user_messages; `tool_result` blocks are tool_results. Earlier turns are read as history slots (newest=False).

Not text, so not inspected: `image` blocks (pictures; no OCR), the model's own blocks in assistant messages
(thinking, tool_use, server tool results). Text the gateway cannot read is unreadable for its scope, newest turn
only: a `document` whose source is a PDF/base64, a URL or a file id, a `container_upload`, any block type the
gateway does not know, and a non-string where text belongs.
"""

from __future__ import annotations

from typing import Any

from gateway_api.message_policies.requests.slots import Collector, describe, turn_bounds
from gateway_api.message_policies.rules import PolicyScope

USER = PolicyScope.user_messages
TOOL = PolicyScope.tool_results
# Blocks only the model produces: an assistant message carries them back as history, never client text.
_MODEL_BLOCKS = frozenset(
    {
        "thinking",
        "redacted_thinking",
        "tool_use",
        "server_tool_use",
        "mcp_tool_use",
        "mcp_tool_result",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "container_upload",
        "compaction",
    }
)


def inspect_messages(document: dict[str, Any], out: Collector) -> None:
    if "system" in document and document["system"] is not None:
        system = document["system"]
        if isinstance(system, list):
            _blocks(system, USER, out, newest=True)
        else:
            out.text(USER, document, "system", newest=True)
    messages = document.get("messages")
    if messages is None:
        return
    if not isinstance(messages, list):
        out.unreadable(USER, f"`messages` is {describe(messages)}", newest=True)
        return
    roles = [_role(message) for message in messages]
    bounds = turn_bounds(roles)
    for index, message in enumerate(messages):
        role = roles[index]
        newest = index >= bounds.start
        if role == "user":
            _content(message, USER, out, newest=newest)
        elif index == bounds.prefill:
            _content(message, USER, out, newest=True, model=True)
        elif role != "model":
            out.unreadable(USER, "a message that is not a user or assistant message", newest=newest)


def _role(message: object) -> str:
    if not isinstance(message, dict):
        return "unknown"
    role = message.get("role")
    return "model" if role == "assistant" else role if role == "user" else "unknown"


def _content(message: dict[str, Any], scope: PolicyScope, out: Collector, *, newest: bool, model: bool = False) -> None:
    if "content" not in message:
        out.unreadable(scope, "a message without content", newest=newest)
        return
    content = message["content"]
    if isinstance(content, list):
        _blocks(content, scope, out, newest=newest, model=model)
    else:
        out.text(scope, message, "content", newest=newest)


def _blocks(blocks: list[Any], scope: PolicyScope, out: Collector, *, newest: bool, model: bool = False) -> None:
    """Content blocks of a message, a system prompt or a tool result (`scope` is the text's scope)."""
    for index, block in enumerate(blocks):
        if isinstance(block, str):  # not valid for the API, but text all the same
            out.text(scope, blocks, index, newest=newest)
            continue
        if not isinstance(block, dict):
            out.unreadable(scope, f"a content block that is {describe(block)}", newest=newest)
            continue
        kind = block.get("type")
        if kind == "text":
            out.text(scope, block, "text", newest=newest)
        elif kind == "image":
            continue
        elif kind == "tool_result" and scope is USER:
            _tool_result(block, out, newest=newest)
        elif kind == "document":
            _document(block, scope, out, newest=newest)
        elif kind == "search_result":
            out.optional_text(scope, block, "title", newest=newest)
            content = block.get("content")
            if isinstance(content, list):
                _blocks(content, scope, out, newest=newest)
            else:
                out.unreadable(scope, "a search result without content blocks", newest=newest)
        elif model and kind in _MODEL_BLOCKS:
            continue
        else:
            out.unreadable(scope, f"a content block of type {_type_name(kind)}", newest=newest)


def _tool_result(block: dict[str, Any], out: Collector, *, newest: bool) -> None:
    content = block.get("content")
    if content is None:  # a tool that returned nothing
        return
    if isinstance(content, list):
        _blocks(content, TOOL, out, newest=newest)
    else:
        out.text(TOOL, block, "content", newest=newest)


def _document(block: dict[str, Any], scope: PolicyScope, out: Collector, *, newest: bool) -> None:
    out.optional_text(scope, block, "title", newest=newest)
    out.optional_text(scope, block, "context", newest=newest)
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if isinstance(source, dict) and kind == "text":
        out.text(scope, source, "data", newest=newest)
    elif isinstance(source, dict) and kind == "content":
        if isinstance(source.get("content"), list):
            _blocks(source["content"], scope, out, newest=newest)
        else:
            out.text(scope, source, "content", newest=newest)
    else:
        out.unreadable(scope, f"a document with a {_type_name(kind)} source (PDF, URL or file)", newest=newest)


def _type_name(kind: object) -> str:
    """A block's type for a reason: short, and never more than a type name (it is client-controlled)."""
    return repr(kind[:40]) if isinstance(kind, str) else describe(kind)
