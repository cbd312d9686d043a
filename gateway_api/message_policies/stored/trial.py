"""The REST API's "try it": one sample text through one policy, with the verdict the proxy would reach.

Pattern rules run through the same RE2 matching the store validates with; judge rules call the running app's judge
(services.message_policy_judge), and without one the judgement fails and the policy's on_judge_error decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway_api.message_policies.patterns import CompiledPattern, TextTooLarge
from gateway_api.message_policies.rules import FailChoice, MessagePolicyEntry, PolicyAction, PolicyScope
from gateway_api.message_policies.verdicts import Judge


@dataclass(frozen=True)
class TrialResult:
    violation: bool
    action: PolicyAction
    explanation: str
    redacted_text: str | None = None
    matches: list[tuple[int, int]] = field(default_factory=list)
    judge_failed: bool = False


async def try_policy(policy: MessagePolicyEntry, scope: PolicyScope, text: str, judge: Judge | None) -> TrialResult:
    if scope not in policy.scopes:
        explanation = f'policy "{policy.name}" does not look at {scope.value}'
        return TrialResult(violation=False, action=policy.action, explanation=explanation)
    if not policy.rule.is_judged:
        return _try_pattern(policy, text)
    if judge is None:
        verdict_violation, explanation, failed = False, "no judge model is configured", True
    else:
        verdict = await judge.judge(policy, scope, text)
        verdict_violation, explanation, failed = verdict.violation, verdict.explanation, verdict.failed
    if failed:
        # What the proxy does when it cannot get a verdict: the policy's on_judge_error choice.
        blocked = policy.on_judge_error == FailChoice.block
        choice = "blocks" if blocked else "allows"
        return TrialResult(
            blocked, policy.action, f"{explanation}; on_judge_error {choice} the call", judge_failed=True
        )
    return TrialResult(verdict_violation, policy.action, explanation)


def _try_pattern(policy: MessagePolicyEntry, text: str) -> TrialResult:
    compiled = CompiledPattern(policy.rule.pattern, policy.rule.builtins)  # the rule was validated
    try:
        redacted, matches = compiled.redact(text, f"[REDACTED:{policy.name}]")
    except TextTooLarge:
        blocked = policy.on_unreadable == FailChoice.block
        explanation = f"the text is too large to examine; on_unreadable {'blocks' if blocked else 'allows'} the call"
        return TrialResult(blocked, policy.action, explanation)
    if not matches:
        return TrialResult(violation=False, action=policy.action, explanation="nothing matched")
    # What matched is named by its kind ("built-in set aws_access_key"), never by the matched text.
    kinds = ", ".join(dict.fromkeys(match.label for match in matches))
    explanation = f'the text matches {kinds} of policy "{policy.name}"'
    spans = [(match.start, match.end) for match in matches]
    return TrialResult(
        True, policy.action, explanation, redacted if policy.action == PolicyAction.redact else None, spans
    )
