"""Deciding a call's message policies: which apply, what pattern rules find, what the judge says, in one pass.

Order, for a request: policies by name; content a policy cannot read and its pattern rules first (cheap, no I/O);
if one of them blocks, nothing is judged (the call is refused anyway and judging costs money). Otherwise every
judged (policy, distinct text) pair is judged at once, on the text as redacted by the pattern rules (a redacted
secret must not reach the judge's provider either).

What each policy reads:
- pattern rules read the newest turn and the history the client resends: a redaction must be applied again to
  every resend (the client keeps the original), and a blocked secret still in the history must not reach the
  upstream on the next call. Violations are recorded for the newest turn only (history was recorded when it was
  new), except a block, which always says why.
- judged rules read the newest turn and system prompts, once per distinct text (a resent system prompt is the same
  text, so the judge's cache answers it).

Fail choices: `allow` lets the call through and records nothing; `block` records a violation saying the policy
could not decide, which blocks for block/redact policies and is only recorded for monitor policies (a monitor
policy never stops a call). A redact policy with a judge rule (refused at validation) blocks rather than pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway_api.accounts.access import normalise_subject
from gateway_api.message_policies.patterns import (
    MAX_SCAN_CHARS,
    CompiledPattern,
    Match,
    PatternCache,
    PatternError,
    TextTooLarge,
)
from gateway_api.message_policies.requests.slots import Inspection, Slot
from gateway_api.message_policies.rules import FailChoice, MessagePolicyEntry, PolicyAction, PolicyScope, Violation
from gateway_api.message_policies.verdicts import Judge, JudgeVerdict, RequestDecision, ToolCallText

_REQUEST_SCOPES = frozenset({PolicyScope.user_messages, PolicyScope.tool_results})
_WHAT = {
    PolicyScope.user_messages: "the message",
    PolicyScope.tool_results: "a tool result",
    PolicyScope.tool_calls: "the tool call",
}
_HISTORY = "an earlier message of this conversation"
_BROKEN_RULE = "The policy's pattern cannot be compiled; ask an administrator to fix the policy"


def applicable(policies: tuple[MessagePolicyEntry, ...], subjects: frozenset[str]) -> tuple[MessagePolicyEntry, ...]:
    """The policies naming one of `subjects` (accounts.access.subject_tokens: "*", user:EMAIL, group:NAME), by
    name: the first blocking policy in this order is the one the client is told about."""
    matching = [p for p in policies if any(normalise_subject(s) in subjects for s in p.subjects)]
    return tuple(sorted(matching, key=lambda p: (p.name, p.id)))


def replacement(policy: MessagePolicyEntry) -> str:
    return f"[REDACTED:{policy.name}]"


@dataclass(slots=True)
class _Found:
    """What one pattern policy found in one scope of a request."""

    matches: list[Match]
    in_history: bool = False  # a block found in resent history only


async def check_request(
    policies: Sequence[MessagePolicyEntry], inspection: Inspection, judge: Judge, patterns: PatternCache
) -> RequestDecision:
    """Apply `policies` (already filtered by `applicable`) to a request's slots; redactions are written into the
    slots' document (decision.redacted tells the caller to re-serialise it)."""
    decision = RequestDecision()
    ordered = sorted(policies, key=lambda p: (p.name, p.id))
    for policy in ordered:
        for scope in sorted(policy.scopes & _REQUEST_SCOPES):
            if scope in inspection.unreadable:
                reason = inspection.unreadable[scope]
                _record(decision, _failure(policy, scope, policy.on_unreadable, _cannot_read(scope, reason), ""))
        if not policy.rule.is_judged and policy.scopes & _REQUEST_SCOPES:
            compiled = _compiled(policy, patterns)
            if compiled is None:
                scope = min(policy.scopes & _REQUEST_SCOPES)
                _record(decision, _broken(policy, scope))
            else:
                _apply_pattern(policy, compiled, inspection.slots, decision)
    if decision.blocked is not None:
        return decision
    pairs = [
        (policy, scope, text)
        for policy in ordered
        if policy.rule.is_judged
        for scope, text in _judged_texts(policy, inspection.slots)
    ]
    verdicts = await _judge_all(judge, pairs)
    for (policy, scope, text), verdict in zip(pairs, verdicts, strict=True):
        _record(decision, _judged(policy, scope, text, verdict))
    return decision


async def check_tool_calls(
    policies: Sequence[MessagePolicyEntry], calls: Sequence[ToolCallText], judge: Judge, patterns: PatternCache
) -> list[list[Violation]]:
    """Per call of a model's reply, the violations of the policies whose scopes include tool_calls (by policy
    name). A violation of a block policy (or a failure under `block`) means the caller replaces the call."""
    scope = PolicyScope.tool_calls
    ordered = sorted((p for p in policies if scope in p.scopes), key=lambda p: (p.name, p.id))
    found: list[list[Violation]] = [[] for _ in calls]
    texts = [call.text for call in calls]
    judged: list[tuple[MessagePolicyEntry, int]] = []
    for policy in ordered:
        if policy.rule.is_judged:
            judged.extend((policy, index) for index in range(len(calls)))
            continue
        compiled = _compiled(policy, patterns)
        for index, text in enumerate(texts):
            if compiled is None:
                found[index].append(_broken(policy, scope))
                continue
            try:
                matches = compiled.find(text)
            except TextTooLarge:
                violation = _failure(policy, scope, policy.on_unreadable, _cannot_read(scope, "too large"), "")
            else:
                # A tool call cannot be redacted (refused at validation): such a policy blocks rather than pass.
                violation = _matched(policy, scope, matches, history=False, tool_call=True) if matches else None
            if violation is not None:
                found[index].append(violation)
    # Identical calls (a model repeating itself) are judged once per policy.
    distinct = list(dict.fromkeys((policy.id, texts[index]) for policy, index in judged))
    by_id = {policy.id: policy for policy, _ in judged}
    verdicts = await _judge_all(judge, [(by_id[pid], scope, text) for pid, text in distinct])
    answers = dict(zip(distinct, verdicts, strict=True))
    for policy, index in judged:
        violation = _judged(policy, scope, texts[index], answers[(policy.id, texts[index])])
        if violation is not None:
            found[index].append(violation)
    for violations in found:
        violations.sort(key=lambda v: v.policy_name)
    return found


async def _judge_all(judge: Judge, pairs: Sequence[tuple[MessagePolicyEntry, PolicyScope, str]]) -> list[JudgeVerdict]:
    """All judgements at once. A judge that raises (it should not) counts as a failed judgement, so the policy's
    on_judge_error decides rather than the whole call failing."""
    if not pairs:
        return []
    results = await asyncio.gather(
        *(judge.judge(policy, scope, text) for policy, scope, text in pairs), return_exceptions=True
    )
    verdicts: list[JudgeVerdict] = []
    for result in results:
        if isinstance(result, JudgeVerdict):
            verdicts.append(result)
        elif isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result  # a cancellation: the call itself is going away
        else:
            failure = f"judge error: {type(result).__name__}"
            verdicts.append(JudgeVerdict(violation=False, explanation=failure, failed=True))
    return verdicts


def blocks(violation: Violation) -> bool:
    """Whether a violation stops the call (or replaces the tool call); redactions and monitors let it through."""
    return violation.action is PolicyAction.block


def _apply_pattern(
    policy: MessagePolicyEntry, compiled: CompiledPattern, slots: Iterable[Slot], decision: RequestDecision
) -> None:
    redacts = policy.action is PolicyAction.redact
    found: dict[PolicyScope, _Found] = {}
    for slot in slots:
        if slot.scope not in policy.scopes or (policy.action is PolicyAction.monitor and not slot.newest):
            continue
        try:
            if redacts:
                new_text, matches = compiled.redact(slot.text, replacement(policy))
            else:
                matches = compiled.find(slot.text)
        except TextTooLarge:
            reason = _cannot_read(slot.scope, f"{len(slot.text)} characters, over the {MAX_SCAN_CHARS} examined")
            _record(decision, _failure(policy, slot.scope, policy.on_unreadable, reason, ""))
            continue
        if not matches:
            continue
        if redacts:
            slot.replace(new_text)
            decision.redacted = True
            if not slot.newest:
                continue
        entry = found.setdefault(slot.scope, _Found([], in_history=True))
        entry.matches.extend(matches)
        entry.in_history = entry.in_history and not slot.newest
    for scope, entry in found.items():
        _record(decision, _matched(policy, scope, entry.matches, history=entry.in_history))


def _compiled(policy: MessagePolicyEntry, patterns: PatternCache) -> CompiledPattern | None:
    """The policy's compiled rule, or None for a rule that does not compile (validation should have refused it;
    such a policy cannot decide, so it blocks rather than let content through unchecked)."""
    try:
        return patterns.get(policy)
    except PatternError:
        return None


def _judged_texts(policy: MessagePolicyEntry, slots: Iterable[Slot]) -> list[tuple[PolicyScope, str]]:
    """The distinct newest texts of the policy's scopes, in slot order (each judged once)."""
    return list(dict.fromkeys((slot.scope, slot.text) for slot in slots if slot.newest and slot.scope in policy.scopes))


def _matched(
    policy: MessagePolicyEntry, scope: PolicyScope, matches: list[Match], *, history: bool, tool_call: bool = False
) -> Violation:
    labels = ", ".join(dict.fromkeys(match.label for match in matches))
    action = PolicyAction.block if tool_call and policy.action is PolicyAction.redact else policy.action
    if action is PolicyAction.redact:
        what = f"redacted text matching {labels} in {_WHAT[scope]}"
    else:
        where = _HISTORY if history else _WHAT[scope]
        what = f"{where} matched {labels}"
        if history and action is PolicyAction.block:
            what += "; remove it from the conversation or start a new one"
    return Violation(
        policy_id=policy.id,
        policy_name=policy.name,
        scope=scope,
        action=action,
        explanation=what[0].upper() + what[1:],
        content="\n".join(match.text for match in matches),
    )


def _judged(policy: MessagePolicyEntry, scope: PolicyScope, text: str, verdict: JudgeVerdict) -> Violation | None:
    if verdict.failed:
        reason = f"The policy judge could not decide ({verdict.explanation})"
        return _failure(policy, scope, policy.on_judge_error, reason, text)
    if not verdict.violation:
        return None
    # A judge cannot say what to redact: a (mis-validated) judged redact policy blocks instead of passing.
    action = PolicyAction.block if policy.action is PolicyAction.redact else policy.action
    return Violation(policy.id, policy.name, scope, action, verdict.explanation, text)


def _failure(
    policy: MessagePolicyEntry, scope: PolicyScope, choice: FailChoice, explanation: str, content: str
) -> Violation | None:
    """The violation a policy that cannot decide records under `choice`, or None when it allows."""
    if choice is FailChoice.allow:
        return None
    action = PolicyAction.monitor if policy.action is PolicyAction.monitor else PolicyAction.block
    return Violation(policy.id, policy.name, scope, action, explanation, content)


def _broken(policy: MessagePolicyEntry, scope: PolicyScope) -> Violation:
    action = PolicyAction.monitor if policy.action is PolicyAction.monitor else PolicyAction.block
    return Violation(policy.id, policy.name, scope, action, _BROKEN_RULE, "")


def _cannot_read(scope: PolicyScope, reason: str) -> str:
    return f"The gateway cannot inspect {_WHAT[scope]} ({reason})"


def _record(decision: RequestDecision, violation: Violation | None) -> None:
    if violation is None:
        return
    decision.violations.append(violation)
    if decision.blocked is None and blocks(violation):
        decision.blocked = violation
