"""The Message Policies page's pure parts: a policy as a row, the form's choices as the API's body, the API's
validation messages sorted onto the form's inputs, and a trial's verdict as the dialog words it."""

from __future__ import annotations

from gateway_ui.api.message_policies import MessagePolicy, MessageRule, PolicyTestResult, Span
from gateway_ui.state.message_policy_views import FormChoices, draft, policy_row, sort_field_errors, verdict


def _choices(**changes: object) -> FormChoices:
    base: dict[str, object] = {
        "name": "  no-keys ",
        "everyone": False,
        "users": ["a@example.com"],
        "groups": ["support"],
        "scope": ["tool_results", "user_messages"],
        "action": "redact",
        "rule_kind": "pattern",
        "pattern": "AKIA[0-9A-Z]{16}",
        "builtins": ["private_keys"],
        "judge": "typed, then the pattern kind chosen",
        "on_unreadable": "allow",
        "on_judge_error": "block",
        "enabled": False,
    }
    base.update(changes)
    return FormChoices(**base)  # type: ignore[arg-type]


def test_a_pattern_form_becomes_a_pattern_rule_with_its_scope_in_the_pages_order() -> None:
    body = draft(_choices()).body()
    assert body == {
        "name": "no-keys",
        "subjects": ["user:a@example.com", "group:support"],
        "scope": ["user_messages", "tool_results"],
        "action": "redact",
        "rule": {"pattern": "AKIA[0-9A-Z]{16}", "builtins": ["private_keys"], "judge": None},
        "on_unreadable": "allow",
        "on_judge_error": "block",
        "enabled": False,
    }


def test_a_judge_form_sends_only_the_judge_and_all_users_is_the_star() -> None:
    body = draft(_choices(rule_kind="judge", judge=" No medical advice. ", everyone=True)).body()
    assert body["rule"] == {"pattern": None, "builtins": [], "judge": "No medical advice."}
    assert body["subjects"] == ["*"]


def test_an_empty_pattern_is_sent_as_none_so_builtins_alone_are_a_rule() -> None:
    assert draft(_choices(pattern="")).body()["rule"] == {"pattern": None, "builtins": ["private_keys"], "judge": None}


def test_rows_summarise_the_rule_and_name_the_subjects() -> None:
    judged = MessagePolicy(
        id=3,
        name="no-medical",
        subjects=["*", "group:support"],
        scope=["user_messages"],
        action="block",
        rule=MessageRule(judge="Block requests for a diagnosis.\n\nOr " + "treatment " * 20),
    )
    row = policy_row(judged)
    assert (row.rule_kind, row.scope_labels) == ("judge", ["User messages"])
    assert row.rule_summary.startswith("Block requests for a diagnosis. Or treatment")
    assert row.rule_summary.endswith("…") and len(row.rule_summary) == 80
    assert [(chip.kind, chip.label) for chip in row.subjects] == [("everyone", "All users"), ("group", "support")]

    patterned = policy_row(
        judged.model_copy(update={"rule": MessageRule(pattern="sk-[a-z]+", builtins=["cloud_keys"])})
    )
    assert (patterned.rule_kind, patterned.rule_summary) == ("pattern", "sk-[a-z]+ + built-in: cloud_keys")


def test_api_messages_go_beside_their_inputs_and_the_rest_above_the_buttons() -> None:
    by_input, others = sort_field_errors(
        {"rule.pattern": "Not a valid RE2 expression.", "name": "Required.", "rule": "Pick one.", "weird": "No."}
    )
    assert by_input == {"pattern": "Not a valid RE2 expression.", "name": "Required.", "rule": "Pick one."}
    assert others == "weird: No."


def test_verdicts_say_violation_judge_failure_or_none() -> None:
    hit = PolicyTestResult(
        violation=True,
        action="redact",
        explanation="Matched no-keys",
        redacted_text="key [REDACTED:no-keys]",
        matches=[Span(start=4, end=24)],
    )
    shown = verdict(hit)
    assert (shown.headline, shown.tone, shown.redacted_text) == (
        "Violation: redact (1 match)",
        "red",
        hit.redacted_text,
    )
    failed = verdict(PolicyTestResult(violation=True, action="block", judge_failed=True, explanation="no judge"))
    assert (failed.tone, failed.explanation) == ("amber", "no judge")
    assert "on_judge_error" in failed.headline
    clean = verdict(PolicyTestResult(violation=False, action="block", redacted_text="unchanged"))
    assert (clean.headline, clean.tone, clean.redacted_text) == ("No violation", "green", "")
