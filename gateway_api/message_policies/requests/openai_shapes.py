"""The text of OpenAI Chat Completions and Responses bodies.

Scopes: system and developer messages (anywhere: judged once per distinct content), `instructions`, a string
`input`, a stored prompt's variables, Chat's predicted output, the newest user turn's text parts and a final
assistant prefill are user_messages; `tool` / `function`
messages and the Responses tool-output items are tool_results. Earlier turns are read as history slots.

Not text, so not inspected: image parts (pictures; no OCR), computer-use screenshots, the model's own items
(reasoning, tool calls, encrypted compaction), `item_reference` items and `previous_response_id` (stored items the
gateway forwarded before). Unreadable for its scope (newest turn only): audio parts (speech is language the gateway
cannot read), file parts (PDFs, file ids, URLs), any part or item type the gateway does not know, and a non-string
where text belongs.
"""

from __future__ import annotations

from typing import Any

from gateway_api.message_policies.requests.slots import Collector, describe, turn_bounds
from gateway_api.message_policies.rules import PolicyScope

USER = PolicyScope.user_messages
TOOL = PolicyScope.tool_results
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_IMAGE_PARTS = frozenset({"image_url", "input_image"})
_MODEL_PARTS = frozenset({"refusal"})
_INSTRUCTION_ROLES = frozenset({"system", "developer"})
# Responses items only the model (or the provider's server-side tools) produce.
_MODEL_ITEMS = frozenset(
    {
        "reasoning",
        "function_call",
        "custom_tool_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "computer_call",
        "web_search_call",
        "file_search_call",
        "image_generation_call",
        "code_interpreter_call",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "compaction",
        "tool_search_call",
        "tool_search_output",
    }
)
# Responses items whose `output` is what a client-side tool returned.
_TOOL_OUTPUT_ITEMS = frozenset(
    {
        "function_call_output",
        "custom_tool_call_output",
        "local_shell_call_output",
        "apply_patch_call_output",
        "shell_call_output",
    }
)
# Client items that carry no text: a screenshot, an approval, a reference to a stored item.
_SILENT_ITEMS = frozenset({"computer_call_output", "mcp_approval_response", "item_reference"})


def inspect_chat(document: dict[str, Any], out: Collector) -> None:
    prediction = document.get("prediction")
    if isinstance(prediction, dict) and prediction.get("content") is not None:
        # Predicted output is client text sent upstream too: a secret in it would reach the provider.
        _content(prediction, USER, out, newest=True)
    messages = document.get("messages")
    if messages is None:
        return
    if not isinstance(messages, list):
        out.unreadable(USER, f"`messages` is {describe(messages)}", newest=True)
        return
    roles = [_message_role(message) for message in messages]
    bounds = turn_bounds(roles)
    for index, message in enumerate(messages):
        role = roles[index]
        if role in _INSTRUCTION_ROLES:
            _content(message, USER, out, newest=True)
        elif role == "user":
            _content(message, USER, out, newest=index >= bounds.start)
        elif role in {"tool", "function"}:
            _content(message, TOOL, out, newest=index >= bounds.after_model)
        elif index == bounds.prefill:
            _content(message, USER, out, newest=True, model=True)
        elif role != "model":
            out.unreadable(USER, "a message with an unknown role", newest=index >= bounds.start)


def inspect_responses(document: dict[str, Any], out: Collector) -> None:
    if document.get("instructions") is not None:
        out.text(USER, document, "instructions", newest=True)
    if document.get("prompt") is not None:
        _prompt_variables(document["prompt"], out)
    if "input" not in document or document["input"] is None:
        return
    items = document["input"]
    if not isinstance(items, list):
        out.text(USER, document, "input", newest=True)
        return
    roles = [_item_role(item) for item in items]
    bounds = turn_bounds(roles)
    for index, item in enumerate(items):
        role = roles[index]
        if role in _INSTRUCTION_ROLES:
            _content(item, USER, out, newest=True)
        elif role == "user":
            _content(item, USER, out, newest=index >= bounds.start)
        elif role == "tool":
            _tool_output(item, out, newest=index >= bounds.after_model)
        elif index == bounds.prefill and item.get("role") == "assistant":
            _content(item, USER, out, newest=True, model=True)
        elif role == "unknown":
            newest = index >= bounds.start
            kind = _type_name(item.get("type")) if isinstance(item, dict) else None
            reason = f"an input item of type {kind}" if kind else f"an input item that is {describe(item)}"
            out.unreadable(USER, reason, newest=newest)
            out.unreadable(TOOL, reason, newest=newest)


def _prompt_variables(prompt: object, out: Collector) -> None:
    """A stored prompt's variables are substituted into it upstream: client text like any input (the stored
    template itself is the organisation's, not the caller's)."""
    variables = prompt.get("variables", {}) if isinstance(prompt, dict) else None
    if variables is None and isinstance(prompt, dict):
        return
    if not isinstance(variables, dict):
        out.unreadable(USER, f"a prompt that is {describe(prompt)} or has unreadable variables", newest=True)
        return
    for name, value in variables.items():
        if isinstance(value, dict):
            _parts([value], USER, out, newest=True)
        else:
            out.text(USER, variables, name, newest=True)


def _message_role(message: object) -> str:
    if not isinstance(message, dict):
        return "unknown"
    role = message.get("role")
    if role == "assistant":
        return "model"
    return role if isinstance(role, str) and role in {"user", "tool", "function", *_INSTRUCTION_ROLES} else "unknown"


def _item_role(item: object) -> str:
    """A Responses input item as a role: "user", "system"/"developer", "model", "tool" (an output), "silent"."""
    if isinstance(item, str):
        return "unknown"
    if not isinstance(item, dict):
        return "unknown"
    kind = item.get("type", "message")  # an "easy" input message has no type
    if kind == "message":
        return _message_role(item) if item.get("role") not in {"tool", "function"} else "unknown"
    if kind in _MODEL_ITEMS:
        return "model"
    if kind in _TOOL_OUTPUT_ITEMS:
        return "tool"
    return "silent" if kind in _SILENT_ITEMS else "unknown"


def _content(message: dict[str, Any], scope: PolicyScope, out: Collector, *, newest: bool, model: bool = False) -> None:
    content = message.get("content")
    if content is None and model:  # an assistant message with tool calls only
        return
    if isinstance(content, list):
        _parts(content, scope, out, newest=newest, model=model)
    else:
        out.text(scope, message, "content", newest=newest)


def _parts(parts: list[Any], scope: PolicyScope, out: Collector, *, newest: bool, model: bool = False) -> None:
    for index, part in enumerate(parts):
        if isinstance(part, str):
            out.text(scope, parts, index, newest=newest)
            continue
        if not isinstance(part, dict):
            out.unreadable(scope, f"a content part that is {describe(part)}", newest=newest)
            continue
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            out.text(scope, part, "text", newest=newest)
        elif kind in _IMAGE_PARTS or (model and kind in _MODEL_PARTS):
            continue
        else:
            out.unreadable(scope, f"a content part of type {_type_name(kind)}", newest=newest)


def _tool_output(item: dict[str, Any], out: Collector, *, newest: bool) -> None:
    output = item.get("output")
    if item.get("type") == "shell_call_output" and isinstance(output, list):
        for entry in output:
            if isinstance(entry, dict):
                out.optional_text(TOOL, entry, "stdout", newest=newest)
                out.optional_text(TOOL, entry, "stderr", newest=newest)
            else:
                out.unreadable(TOOL, f"a shell output entry that is {describe(entry)}", newest=newest)
    elif isinstance(output, list):
        _parts(output, TOOL, out, newest=newest)
    elif output is not None:
        out.text(TOOL, item, "output", newest=newest)


def _type_name(kind: object) -> str:
    return repr(kind[:40]) if isinstance(kind, str) else describe(kind)
