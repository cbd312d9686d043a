"""What deciding a call's messages produces, and the judge the deciding calls (shared by proxy, judge, replies).

The judge itself (an LLM called through the gateway's own credential, with a timeout and a verdict cache) lives
elsewhere; the engine only knows this Protocol, so tests and the proxy can hand it any object that judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyScope, Violation


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    """One judgement of one text against one judged policy.

    `failed` means no verdict could be had (timeout, upstream error, malformed verdict): `violation` is then
    meaningless and the policy's `on_judge_error` decides; `explanation` says what failed (no message content).
    """

    violation: bool
    explanation: str
    failed: bool = False


class Judge(Protocol):
    """Judges `text` (untrusted data) against `policy.rule.judge`; never raises for a judging failure."""

    async def judge(self, policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> JudgeVerdict: ...


@dataclass(frozen=True, slots=True)
class ToolCallText:
    """One tool call of a model's reply, as text: the tool's name and its arguments (JSON text as streamed)."""

    name: str
    arguments: str

    @property
    def text(self) -> str:
        """What tool_calls policies match and judge: the name, a newline, the arguments."""
        return f"{self.name}\n{self.arguments}"


@dataclass(slots=True)
class RequestDecision:
    """The outcome of a request's policies.

    `blocked`: the violation that stops the call (nothing forwarded), or None. `violations`: every violation to
    record (including the blocking one, monitored and redacted ones). `redacted`: the parsed body was rewritten
    in place, so the caller re-serialises it before forwarding.
    """

    blocked: Violation | None = None
    violations: list[Violation] = field(default_factory=list)
    redacted: bool = False
