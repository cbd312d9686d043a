"""What the tool-call guard tests share: a judge that applies a real pattern rule, and one guarded reply run."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway_api.message_policies.replies.tool_call_guard import ToolCallGuard
from gateway_api.message_policies.rules import PolicyAction, PolicyScope, Violation
from gateway_api.message_policies.verdicts import ToolCallText
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind
from tests.message_policies.replies import tool_call_replies as replies

BLOCKING_POLICY = "no-destructive-commands"
BLOCK_EXPLANATION = "Deleting the whole file system is not allowed."
MONITORING_POLICY = "watch-listings"
_DESTRUCTIVE = re.compile(r"rm\s+-rf")


@dataclass(slots=True)
class PatternJudge:
    """Blocks calls whose arguments delete recursively; records (monitors) every directory listing."""

    batches: list[list[ToolCallText]] = field(default_factory=list)

    async def __call__(self, calls: list[ToolCallText]) -> list[list[Violation]]:
        self.batches.append(list(calls))
        return [self._verdict(call) for call in calls]

    def _verdict(self, call: ToolCallText) -> list[Violation]:
        if _DESTRUCTIVE.search(call.arguments):
            return [
                Violation(
                    1, BLOCKING_POLICY, PolicyScope.tool_calls, PolicyAction.block, BLOCK_EXPLANATION, call.arguments
                )
            ]
        if "ls -la" in call.arguments:
            return [Violation(2, MONITORING_POLICY, PolicyScope.tool_calls, PolicyAction.monitor, "", call.arguments)]
        return []


@dataclass(frozen=True, slots=True)
class ReplyCase:
    provider: ProviderName
    kind: EndpointKind
    streamed: bool
    build: Callable[[list[tuple[str, str]]], bytes]


CASES = {
    "anthropic-stream": ReplyCase("anthropic", EndpointKind.MESSAGES, True, replies.anthropic_stream),
    "anthropic-json": ReplyCase("anthropic", EndpointKind.MESSAGES, False, replies.anthropic_message),
    "chat-stream": ReplyCase("openai", EndpointKind.CHAT_COMPLETIONS, True, replies.chat_stream),
    "chat-json": ReplyCase("openai", EndpointKind.CHAT_COMPLETIONS, False, replies.chat_completion),
    "responses-stream": ReplyCase("openai", EndpointKind.RESPONSES, True, replies.responses_stream),
    "responses-json": ReplyCase("openai", EndpointKind.RESPONSES, False, replies.responses_document),
}
STREAM_CASES = [name for name, case in CASES.items() if case.streamed]

DANGEROUS_FIRST = [("Bash", replies.DANGEROUS_ARGUMENTS), ("Bash", replies.SAFE_ARGUMENTS)]
SAFE_FIRST = [("Bash", replies.SAFE_ARGUMENTS), ("Bash", replies.DANGEROUS_ARGUMENTS)]
ONLY_DANGEROUS = [("Bash", replies.DANGEROUS_ARGUMENTS)]
ONLY_SAFE = [("Bash", replies.SAFE_ARGUMENTS), ("Read", '{"file_path": "/etc/hosts"}')]


@dataclass(slots=True)
class GuardRun:
    guard: ToolCallGuard
    judge: PatternJudge
    relayed: list[bytes]  # what each feed() returned
    finished: bytes

    @property
    def output(self) -> bytes:
        return b"".join(self.relayed) + self.finished


async def run_guard(case: ReplyCase, chunks: Sequence[bytes], max_held_bytes: int = 1 << 20) -> GuardRun:
    judge = PatternJudge()
    guard = ToolCallGuard(case.provider, case.kind, case.streamed, judge, max_held_bytes)
    relayed = [guard.feed(chunk) for chunk in chunks]
    return GuardRun(guard, judge, relayed, await guard.finish())
