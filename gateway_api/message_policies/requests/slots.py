"""The pieces of text a request carries, each writable in place, and what could not be read.

A Slot points at one string inside the parsed JSON body (the dict or list holding it and its key or index), so a
redaction writes straight back into the document the proxy re-serialises; no second walk of the body is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway_api.message_policies.rules import PolicyScope


@dataclass(slots=True)
class Slot:
    scope: PolicyScope
    text: str
    container: dict[str, Any] | list[Any]
    key: str | int
    # True for the newest turn and for system prompts / instructions; False for earlier turns the client resends
    # (pattern rules still read them: a redacted secret would otherwise reach the upstream on the next call).
    newest: bool = True

    def replace(self, new_text: str) -> None:
        """Write `new_text` where the text was, in the parsed document."""
        if isinstance(self.container, dict):
            self.container[str(self.key)] = new_text
        else:
            self.container[int(self.key)] = new_text
        self.text = new_text


@dataclass(slots=True)
class Inspection:
    slots: list[Slot] = field(default_factory=list)
    # Per scope, why some of its content (in the newest turn or the system prompt) could not be read: a content
    # shape the gateway does not know, a non-text where text belongs, a PDF, an audio clip.
    unreadable: dict[PolicyScope, str] = field(default_factory=dict)


class Collector:
    """Builds an Inspection while a shape module walks a body."""

    __slots__ = ("inspection",)

    def __init__(self) -> None:
        self.inspection = Inspection()

    def text(self, scope: PolicyScope, container: dict[str, Any] | list[Any], key: str | int, *, newest: bool) -> None:
        """The string at container[key] as a slot; anything else there is unreadable (when it matters)."""
        value = container.get(key) if isinstance(container, dict) else container[key]  # type: ignore[arg-type, index]
        if isinstance(value, str):
            if value:
                self.inspection.slots.append(Slot(scope, value, container, key, newest))
        else:
            self.unreadable(scope, f"{describe(value)} where text was expected", newest=newest)

    def unreadable(self, scope: PolicyScope, reason: str, *, newest: bool) -> None:
        """Record content the gateway cannot read. Earlier turns are ignored: their shapes were decided when they
        were the newest (and pattern rules still read their text)."""
        if newest:
            self.inspection.unreadable.setdefault(scope, reason)

    def optional_text(self, scope: PolicyScope, container: dict[str, Any], key: str, *, newest: bool) -> None:
        """A key that may be absent or null (a title, a document's context)."""
        if container.get(key) is not None:
            self.text(scope, container, key, newest=newest)


def describe(value: object) -> str:
    """A JSON value's kind, for a reason (never the value itself: it may be the content)."""
    if value is None:
        return "a null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


@dataclass(frozen=True, slots=True)
class TurnBounds:
    """Where the newest turn of a conversation starts, found from the roles alone.

    `start`: the first item after the last model output that precedes the newest user message (so consecutive user
    messages, which the providers merge into one turn, all count); `after_model`: the first item after the last
    model output other than a prefill (tool results after it are the newest); `prefill`: the index of a final model-role message
    that follows the newest user message (text the client wrote for the model to continue), or -1.
    """

    start: int
    after_model: int
    prefill: int


def turn_bounds(roles: list[str]) -> TurnBounds:
    """`roles` per item: "user", "model" or anything else (system, tool output, unknown)."""
    last_user = max((i for i, role in enumerate(roles) if role == "user"), default=-1)
    last_model_before = max((i for i, role in enumerate(roles[: max(last_user, 0)]) if role == "model"), default=-1)
    prefill = len(roles) - 1 if roles and roles[-1] == "model" and len(roles) - 1 > last_user else -1
    # A prefill is the client's text, not a model output: tool results before it are still the newest.
    last_model = max((i for i, role in enumerate(roles) if role == "model" and i != prefill), default=-1)
    return TurnBounds(start=last_model_before + 1, after_model=last_model + 1, prefill=prefill)
