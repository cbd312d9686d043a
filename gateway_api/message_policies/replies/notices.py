"""The sentences a client reads when the gateway blocks something: one wording for every provider and endpoint."""

from __future__ import annotations

from collections.abc import Sequence

from gateway_api.message_policies.rules import PolicyAction, Violation

# A tool's name comes from the model; a notice quotes only its head so a runaway name cannot fill the reply.
_MAX_QUOTED_NAME = 100


def request_blocked_text(policy_name: str, explanation: str) -> str:
    return f'Blocked by the gateway\'s message policy "{policy_name}": {explanation}'


def tool_call_blocked_text(tool_name: str, violations: Sequence[Violation]) -> str:
    """One sentence per blocking policy (a call can break several)."""
    reasons = " ".join(
        f'Blocked by the gateway\'s message policy "{violation.policy_name}": {violation.explanation}'
        for violation in violations
        if violation.action is PolicyAction.block
    )
    return f"The gateway did not pass on a call to the tool {_quoted(tool_name)}. {reasons}"


def unreadable_call_text(tool_name: str) -> str:
    return (
        f"The gateway did not pass on a call to the tool {_quoted(tool_name)}: the reply could not be read, "
        "so its message policies could not check the call."
    )


def too_large_text(max_held_bytes: int) -> str:
    return (
        f"The gateway stopped this reply: its tool calls were larger than the {max_held_bytes} bytes the gateway's "
        "message policies can check."
    )


def _quoted(tool_name: str) -> str:
    if not tool_name:
        return "(unnamed)"
    head = tool_name[:_MAX_QUOTED_NAME]
    return f'"{head}…"' if len(tool_name) > _MAX_QUOTED_NAME else f'"{head}"'
