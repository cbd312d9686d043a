import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from gateway_api.accounts.access import subject_tokens
from gateway_api.message_policies.engine import applicable, blocks, check_request, check_tool_calls
from gateway_api.message_policies.patterns import MAX_SCAN_CHARS, PatternCache
from gateway_api.message_policies.requests.extraction import Inspection, inspect_request
from gateway_api.message_policies.rules import (
    FailChoice,
    MessagePolicyEntry,
    PolicyAction,
    PolicyRule,
    PolicyScope,
)
from gateway_api.message_policies.verdicts import JudgeVerdict, RequestDecision, ToolCallText
from gateway_api.providers.spec import EndpointKind

USER = PolicyScope.user_messages
TOOL = PolicyScope.tool_results
CALLS = PolicyScope.tool_calls
KEY = "AKIAIOSFODNN7EXAMPLE"


@dataclass
class ScriptedJudge:
    """A real Judge: answers from a script keyed by (policy name, text); records what it was asked."""

    script: dict[tuple[str, str], JudgeVerdict] = field(default_factory=dict)
    calls: list[tuple[str, PolicyScope, str]] = field(default_factory=list)
    raises: bool = False

    async def judge(self, policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> JudgeVerdict:
        self.calls.append((policy.name, scope, text))
        await asyncio.sleep(0)
        if self.raises:
            raise RuntimeError("upstream exploded")
        return self.script.get((policy.name, text), JudgeVerdict(violation=False, explanation="fine"))


@dataclass
class BarrierJudge:
    """Answers only once `expected` judgements are in flight together: a sequential engine would time out."""

    expected: int
    started: int = 0
    everyone: asyncio.Event = field(default_factory=asyncio.Event)

    async def judge(self, policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> JudgeVerdict:
        self.started += 1
        if self.started == self.expected:
            self.everyone.set()
        await asyncio.wait_for(self.everyone.wait(), timeout=2)
        return JudgeVerdict(violation=False, explanation="fine")


def policy(
    name: str,
    action: PolicyAction = PolicyAction.block,
    *,
    pattern: str | None = None,
    builtins: tuple[str, ...] = (),
    judge: str | None = None,
    scopes: frozenset[PolicyScope] = frozenset({USER, TOOL}),
    subjects: frozenset[str] = frozenset({"*"}),
    on_unreadable: FailChoice = FailChoice.block,
    on_judge_error: FailChoice = FailChoice.block,
    policy_id: int | None = None,
) -> MessagePolicyEntry:
    return MessagePolicyEntry(
        id=policy_id if policy_id is not None else abs(hash(name)) % 10_000,
        name=name,
        subjects=subjects,
        scopes=scopes,
        action=action,
        rule=PolicyRule(pattern=pattern, builtins=builtins, judge=judge),
        on_unreadable=on_unreadable,
        on_judge_error=on_judge_error,
        revision="r1",
    )


def messages(*turns: Any, system: Any = None) -> dict[str, Any]:
    document: dict[str, Any] = {"model": "claude-x", "max_tokens": 5, "messages": list(turns)}
    if system is not None:
        document["system"] = system
    return document


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def decide(
    policies: list[MessagePolicyEntry], document: dict[str, Any], judge: Any = None
) -> tuple[RequestDecision, Inspection]:
    inspection = inspect_request("anthropic", _kind(document), document)
    decision = asyncio.run(check_request(policies, inspection, judge or ScriptedJudge(), PatternCache()))
    return decision, inspection


def _kind(document: dict[str, Any]) -> EndpointKind:
    return EndpointKind.RESPONSES if "input" in document else EndpointKind.MESSAGES


# applicable


def test_applicable_matches_everyone_users_and_groups_in_name_order() -> None:
    everyone = policy("c-all")
    bob = policy("a-bob", subjects=frozenset({"user:Bob@Example.com"}))
    support = policy("b-support", subjects=frozenset({"group:support"}))
    other = policy("d-other", subjects=frozenset({"user:eve@example.com", "group:ops"}))
    pool = (everyone, other, support, bob)
    assert applicable(pool, subject_tokens("bob@example.com", ["support"])) == (bob, support, everyone)
    assert applicable(pool, subject_tokens("carol@example.com", [])) == (everyone,)
    assert applicable((other,), subject_tokens("carol@example.com", ["dev"])) == ()


# pattern rules


def test_pattern_block_names_what_matched_without_the_secret() -> None:
    decision, _ = decide([policy("no-keys", builtins=("aws_access_key",))], messages(user(f"my key {KEY}")))
    assert decision.blocked is not None
    assert decision.blocked.policy_name == "no-keys" and decision.blocked.scope is USER
    assert decision.blocked.explanation == "The message matched built-in set aws_access_key"
    assert KEY not in decision.blocked.explanation and decision.blocked.content == KEY
    assert decision.violations == [decision.blocked] and not decision.redacted


def test_first_blocking_policy_by_name_wins_and_all_are_recorded() -> None:
    rules = [policy("zeta", pattern="forbidden"), policy("alpha", pattern="forbidden")]
    decision, _ = decide(rules, messages(user("a forbidden word")))
    assert decision.blocked is not None and decision.blocked.policy_name == "alpha"
    assert [v.policy_name for v in decision.violations] == ["alpha", "zeta"]


def test_compliant_request_passes_untouched() -> None:
    document = messages(user("hello"), system="be nice")
    before = orjson.dumps(document)
    decision, _ = decide([policy("p", builtins=("aws_access_key",), action=PolicyAction.redact)], document)
    assert decision == RequestDecision() and orjson.dumps(document) == before


def test_redact_rewrites_the_document_and_records_the_match() -> None:
    document = messages(
        user([{"type": "tool_result", "tool_use_id": "t", "content": f"cat ~/.aws: {KEY}"}]), system=f"ctx {KEY}"
    )
    decision, _ = decide([policy("no-keys", PolicyAction.redact, builtins=("aws_access_key",))], document)
    assert decision.blocked is None and decision.redacted
    assert document["system"] == "ctx [REDACTED:no-keys]"
    assert document["messages"][0]["content"][0]["content"] == "cat ~/.aws: [REDACTED:no-keys]"
    assert {(v.scope, v.action, v.content) for v in decision.violations} == {
        (USER, PolicyAction.redact, KEY),
        (TOOL, PolicyAction.redact, KEY),
    }
    assert KEY not in orjson.dumps(document).decode()


def test_redaction_reaches_resent_history_without_recording_it_again() -> None:
    document = messages(user(f"key {KEY}"), assistant("noted"), user("thanks"))
    decision, _ = decide([policy("no-keys", PolicyAction.redact, builtins=("aws_access_key",))], document)
    assert decision.redacted and decision.violations == []
    assert document["messages"][0]["content"] == "key [REDACTED:no-keys]"


def test_a_blocked_secret_still_in_the_history_blocks_again() -> None:
    document = messages(user(f"key {KEY}"), assistant("blocked"), user("something else"))
    decision, _ = decide([policy("no-keys", builtins=("aws_access_key",))], document)
    assert decision.blocked is not None
    assert decision.blocked.explanation.startswith("An earlier message of this conversation matched")


def test_monitor_records_the_newest_turn_only_and_never_blocks() -> None:
    document = messages(user("old secret-1"), assistant("ok"), user("new secret-2"))
    decision, _ = decide([policy("watch", PolicyAction.monitor, pattern=r"secret-\d")], document)
    assert decision.blocked is None and not decision.redacted
    assert [(v.action, v.content) for v in decision.violations] == [(PolicyAction.monitor, "secret-2")]


def test_policies_only_read_their_scopes() -> None:
    document = messages(
        user([{"type": "tool_result", "tool_use_id": "t", "content": "x"}, {"type": "text", "text": "bad"}])
    )
    decision, _ = decide([policy("tools-only", pattern="bad", scopes=frozenset({TOOL}))], document)
    assert decision.blocked is None and decision.violations == []


def test_unicode_escaped_secret_in_the_raw_body_is_still_found() -> None:
    raw = b'{"model":"m","messages":[{"role":"user","content":"k \\u0041\\u004bIAIOSFODNN7EXAMPLE"}]}'
    decision, _ = decide([policy("no-keys", builtins=("aws_access_key",))], orjson.loads(raw))
    assert decision.blocked is not None


def test_a_text_too_large_to_scan_follows_on_unreadable() -> None:
    huge = "x" * (MAX_SCAN_CHARS + 1)
    blocked, _ = decide([policy("p", pattern="secret")], messages(user(huge)))
    assert blocked.blocked is not None and "cannot inspect the message" in blocked.blocked.explanation
    allowed, _ = decide([policy("p", pattern="secret", on_unreadable=FailChoice.allow)], messages(user(huge)))
    assert allowed == RequestDecision()


# unreadable content


def test_unreadable_content_blocks_by_default() -> None:
    document = messages(user([{"type": "mystery", "text": "hidden"}]))
    decision, _ = decide([policy("p", pattern="secret")], document)
    assert decision.blocked is not None
    assert decision.blocked.explanation == "The gateway cannot inspect the message (a content block of type 'mystery')"


def test_unreadable_content_passes_when_the_policy_allows_or_does_not_cover_that_scope() -> None:
    document = messages(user([{"type": "mystery", "text": "hidden"}]))
    assert decide([policy("p", pattern="s", on_unreadable=FailChoice.allow)], document)[0] == RequestDecision()
    assert decide([policy("p", pattern="s", scopes=frozenset({TOOL}))], document)[0] == RequestDecision()


def test_a_monitor_policy_records_unreadable_content_but_does_not_block() -> None:
    decision, _ = decide([policy("m", PolicyAction.monitor, pattern="s")], messages(user([{"type": "mystery"}])))
    assert decision.blocked is None
    assert [v.action for v in decision.violations] == [PolicyAction.monitor]


# judged rules


def test_judge_violation_blocks_with_the_judges_explanation() -> None:
    judge = ScriptedJudge(
        {("no-medical", "diagnose me"): JudgeVerdict(True, "Medical diagnosis requests are blocked.")}
    )
    decision, _ = decide([policy("no-medical", judge="no diagnoses")], messages(user("diagnose me")), judge)
    assert decision.blocked is not None
    assert decision.blocked.explanation == "Medical diagnosis requests are blocked."
    assert decision.blocked.content == "diagnose me"


def test_judge_sees_each_distinct_text_once_system_apart_from_the_user_turn() -> None:
    judge = ScriptedJudge()
    document = messages(
        user("old question"),
        assistant("answer"),
        user([{"type": "text", "text": "same"}, {"type": "text", "text": "same"}, {"type": "text", "text": "new"}]),
        system=[{"type": "text", "text": "system prompt"}],
    )
    decision, _ = decide([policy("j", judge="rule", scopes=frozenset({USER}))], document, judge)
    assert decision == RequestDecision()
    assert judge.calls == [("j", USER, "system prompt"), ("j", USER, "same"), ("j", USER, "new")]


def test_tool_results_are_judged_with_their_scope() -> None:
    judge = ScriptedJudge({("j", "rm -rf output"): JudgeVerdict(True, "dangerous output")})
    document = messages(user([{"type": "tool_result", "tool_use_id": "t", "content": "rm -rf output"}]))
    decision, _ = decide([policy("j", PolicyAction.monitor, judge="rule", scopes=frozenset({TOOL}))], document, judge)
    assert judge.calls == [("j", TOOL, "rm -rf output")]
    assert decision.blocked is None and [v.scope for v in decision.violations] == [TOOL]


def test_all_judgements_run_in_parallel() -> None:
    rules = [policy(f"j{i}", judge="rule") for i in range(3)]
    document = messages(user([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]))
    decision, _ = decide(rules, document, BarrierJudge(expected=6))
    assert decision == RequestDecision()


@pytest.mark.parametrize("raises", [False, True])
def test_judge_failure_blocks_by_default_and_allows_when_chosen(raises: bool) -> None:
    judge = ScriptedJudge({("j", "text"): JudgeVerdict(False, "timeout after 10 s", failed=True)}, raises=raises)
    decision, _ = decide([policy("j", judge="rule")], messages(user("text")), judge)
    assert decision.blocked is not None
    assert decision.blocked.explanation.startswith("The policy judge could not decide (")
    allowing = policy("j", judge="rule", on_judge_error=FailChoice.allow)
    assert decide([allowing], messages(user("text")), judge)[0] == RequestDecision()


def test_a_blocking_pattern_means_nothing_is_judged() -> None:
    judge = ScriptedJudge()
    rules = [policy("a-judge", judge="rule"), policy("b-keys", builtins=("aws_access_key",))]
    decision, _ = decide(rules, messages(user(KEY)), judge)
    assert decision.blocked is not None and decision.blocked.policy_name == "b-keys" and judge.calls == []


def test_the_judge_sees_text_after_redaction() -> None:
    judge = ScriptedJudge()
    rules = [policy("judge", judge="rule"), policy("keys", PolicyAction.redact, builtins=("aws_access_key",))]
    decide(rules, messages(user(f"use {KEY} please")), judge)
    assert judge.calls == [("judge", USER, "use [REDACTED:keys] please")]


def test_a_judged_redact_policy_blocks_instead_of_passing() -> None:
    judge = ScriptedJudge({("r", "x"): JudgeVerdict(True, "bad")})
    decision, _ = decide([policy("r", PolicyAction.redact, judge="rule")], messages(user("x")), judge)
    assert decision.blocked is not None and decision.blocked.action is PolicyAction.block


def test_responses_string_input_is_checked() -> None:
    document = {"model": "gpt-x", "input": f"here {KEY}", "instructions": "sys"}
    decision, _ = decide([policy("keys", PolicyAction.redact, builtins=("aws_access_key",))], document)
    assert decision.redacted and document["input"] == "here [REDACTED:keys]"


# tool calls


def test_tool_calls_pattern_and_judge_per_call() -> None:
    judge = ScriptedJudge({("judge-calls", 'shell\n{"cmd": "rm -rf /"}'): JudgeVerdict(True, "Deleting / is blocked.")})
    rules = [
        policy("judge-calls", judge="rule", scopes=frozenset({CALLS})),
        policy("keys-in-calls", builtins=("aws_access_key",), scopes=frozenset({CALLS})),
        policy("not-for-calls", pattern="shell", scopes=frozenset({USER})),
    ]
    calls = [
        ToolCallText("shell", '{"cmd": "ls"}'),
        ToolCallText("shell", '{"cmd": "rm -rf /"}'),
        ToolCallText("http", f'{{"key": "{KEY}"}}'),
    ]
    found = asyncio.run(check_tool_calls(rules, calls, judge, PatternCache()))
    assert found[0] == []
    assert [(v.policy_name, v.explanation) for v in found[1]] == [("judge-calls", "Deleting / is blocked.")]
    assert [(v.policy_name, v.scope, v.content) for v in found[2]] == [("keys-in-calls", CALLS, KEY)]
    assert all(blocks(v) for v in found[1] + found[2])
    assert sorted(text for _, _, text in judge.calls) == sorted(call.text for call in calls)


def test_tool_call_name_is_part_of_the_text() -> None:
    rules = [policy("no-deploy", pattern=r"(?m)^deploy_prod$", scopes=frozenset({CALLS}))]
    found = asyncio.run(check_tool_calls(rules, [ToolCallText("deploy_prod", "{}")], ScriptedJudge(), PatternCache()))
    assert [v.explanation for v in found[0]] == ["The tool call matched the policy's pattern"]


def test_identical_tool_calls_are_judged_once_and_monitor_failures_do_not_block() -> None:
    judge = ScriptedJudge(raises=True)
    rules = [policy("watch", PolicyAction.monitor, judge="rule", scopes=frozenset({CALLS}))]
    calls = [ToolCallText("a", "{}"), ToolCallText("a", "{}")]
    found = asyncio.run(check_tool_calls(rules, calls, judge, PatternCache()))
    assert len(judge.calls) == 1
    assert [[blocks(v) for v in per_call] for per_call in found] == [[False], [False]]


def test_no_tool_call_policies_means_no_judging() -> None:
    judge = ScriptedJudge()
    found = asyncio.run(check_tool_calls([policy("u", judge="r")], [ToolCallText("a", "{}")], judge, PatternCache()))
    assert found == [[]] and judge.calls == []


def test_a_redact_policy_on_tool_calls_blocks_the_call() -> None:
    rules = [policy("r", PolicyAction.redact, builtins=("aws_access_key",), scopes=frozenset({CALLS}))]
    found = asyncio.run(check_tool_calls(rules, [ToolCallText("a", KEY)], ScriptedJudge(), PatternCache()))
    assert [blocks(v) for v in found[0]] == [True]


def test_a_rule_that_does_not_compile_blocks_instead_of_letting_content_through() -> None:
    broken = policy("broken", pattern=r"(a)\1")
    decision, _ = decide([broken], messages(user("aa")))
    assert decision.blocked is not None and "cannot be compiled" in decision.blocked.explanation
    broken_calls = policy("broken", pattern=r"(a)\1", scopes=frozenset({CALLS}))
    found = asyncio.run(check_tool_calls([broken_calls], [ToolCallText("a", "{}")], ScriptedJudge(), PatternCache()))
    assert [blocks(v) for v in found[0]] == [True]
