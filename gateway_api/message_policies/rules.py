"""What a message policy is, as the proxy holds it in the catalog snapshot (immutable, no database types)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PolicyScope(StrEnum):
    user_messages = "user_messages"  # the newest user turn's text, a string `input`, `system` / `instructions`
    tool_results = "tool_results"  # what the client sends back from tools (file contents, command output)
    tool_calls = "tool_calls"  # the tool calls the model makes in its reply


class PolicyAction(StrEnum):
    block = "block"
    redact = "redact"  # needs a pattern rule
    monitor = "monitor"


class FailChoice(StrEnum):
    """What a policy does when it cannot decide: content it cannot read, a judge that fails or times out."""

    block = "block"
    allow = "allow"


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """Exactly one of: a pattern rule (`pattern` and/or `builtins`, names of built-in sets) or a judge rule."""

    pattern: str | None = None
    builtins: tuple[str, ...] = ()
    judge: str | None = None

    @property
    def is_judged(self) -> bool:
        return self.judge is not None


@dataclass(frozen=True, slots=True)
class MessagePolicyEntry:
    id: int
    name: str
    subjects: frozenset[str]  # "*", "user:EMAIL", "group:NAME" as in access policies (accounts/access.py)
    scopes: frozenset[PolicyScope]
    action: PolicyAction
    rule: PolicyRule
    on_unreadable: FailChoice = FailChoice.block
    on_judge_error: FailChoice = FailChoice.block
    # Changes whenever the rule changes: cached verdicts are keyed by it, so an edited rule is judged afresh.
    revision: str = ""


@dataclass(frozen=True, slots=True)
class Violation:
    """One policy that matched one piece of content of one call."""

    policy_id: int
    policy_name: str
    scope: PolicyScope
    action: PolicyAction
    explanation: str  # short, shown to the user when the action is block
    content: str  # the offending content (stored sealed; auditors only)
