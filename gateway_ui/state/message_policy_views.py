"""The Message Policies page's pure parts (no Reflex): a policy as a table row, the form's choices as the body the
API takes, and the API's validation messages sorted onto the form's fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway_ui.api.message_policies import MessagePolicy, MessagePolicyDraft, MessageRule, PolicyTestResult
from gateway_ui.state.policies import EVERYONE, SubjectChip, subject_chip

SCOPES = ("user_messages", "tool_results", "tool_calls")
SCOPE_LABELS = {"user_messages": "User messages", "tool_results": "Tool results", "tool_calls": "Tool calls"}
ACTIONS = ("block", "redact", "monitor")
FAIL_CHOICES = ("block", "allow")
RULE_KINDS = ("pattern", "judge")
# The form's inputs, by the name the API gives the field a message is about ("rule.pattern" and a nested rule's
# "rule" both belong to the rule's part of the form).
FORM_FIELDS = (
    "name", "subjects", "scope", "action", "rule", "pattern", "builtins", "judge", "on_unreadable", "on_judge_error",
    "enabled",
)  # fmt: skip
SUMMARY_CHARS = 80


@dataclass
class MessagePolicyRow:
    id: int = 0
    name: str = ""
    subjects: list[SubjectChip] = field(default_factory=list)
    subject_entries: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)  # the API's names, for the edit form
    scope_labels: list[str] = field(default_factory=list)
    action: str = ""
    rule_kind: str = ""  # pattern | judge
    rule_summary: str = ""
    pattern: str = ""
    builtins: list[str] = field(default_factory=list)
    judge: str = ""
    on_unreadable: str = "block"
    on_judge_error: str = "block"
    enabled: bool = True


def shortened(text: str, limit: int = SUMMARY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rule_summary(rule: MessageRule) -> str:
    """One line a table cell can hold: the judge's rule, or the pattern and the built-in sets by name."""
    if rule.judge is not None:
        return shortened(rule.judge)
    parts = [*([rule.pattern] if rule.pattern else []), *(f"built-in: {name}" for name in rule.builtins)]
    return shortened(" + ".join(parts))


def policy_row(policy: MessagePolicy) -> MessagePolicyRow:
    return MessagePolicyRow(
        id=policy.id,
        name=policy.name,
        subjects=[subject_chip(s) for s in policy.subjects],
        subject_entries=list(policy.subjects),
        scope=list(policy.scope),
        scope_labels=[SCOPE_LABELS.get(s, s) for s in policy.scope],
        action=policy.action,
        rule_kind="judge" if policy.rule.judge is not None else "pattern",
        rule_summary=rule_summary(policy.rule),
        pattern=policy.rule.pattern or "",
        builtins=list(policy.rule.builtins),
        judge=policy.rule.judge or "",
        on_unreadable=policy.on_unreadable,
        on_judge_error=policy.on_judge_error,
        enabled=policy.enabled,
    )


@dataclass(frozen=True)
class FormChoices:
    """What the dialog holds, as typed and ticked."""

    name: str
    everyone: bool
    users: Sequence[str]
    groups: Sequence[str]
    scope: Sequence[str]
    action: str
    rule_kind: str
    pattern: str
    builtins: Sequence[str]
    judge: str
    on_unreadable: str
    on_judge_error: str
    enabled: bool


def subject_entries(everyone: bool, users: Sequence[str], groups: Sequence[str]) -> list[str]:
    if everyone:
        return [EVERYONE]
    return [f"user:{u}" for u in users] + [f"group:{g}" for g in groups]


def draft(choices: FormChoices) -> MessagePolicyDraft:
    """The body the API takes; the rule carries only the kind chosen (a judge rule and a pattern are exclusive, and
    what was typed under the other kind stays in the form, not in the policy)."""
    if choices.rule_kind == "judge":
        rule = MessageRule(judge=choices.judge.strip())
    else:
        rule = MessageRule(pattern=choices.pattern or None, builtins=list(choices.builtins))
    return MessagePolicyDraft(
        name=choices.name.strip(),
        subjects=subject_entries(choices.everyone, choices.users, choices.groups),
        # In the order the page lists them, whatever order they were ticked in.
        scope=[s for s in SCOPES if s in choices.scope],
        action=choices.action,
        rule=rule,
        on_unreadable=choices.on_unreadable,
        on_judge_error=choices.on_judge_error,
        enabled=choices.enabled,
    )


def form_field_of(api_field: str) -> str:
    """The form input an API message is about: "rule.pattern" is the pattern box, "rule.judge" the judge's text."""
    head, _, rest = api_field.partition(".")
    if head == "rule" and rest in ("pattern", "builtins", "judge"):
        return rest
    return head


def sort_field_errors(errors: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """(messages by form input, the rest as one line above the buttons) for the API's messages by field."""
    by_input: dict[str, str] = {}
    others: list[str] = []
    for api_field, message in errors.items():
        name = form_field_of(api_field)
        if name in FORM_FIELDS:
            by_input[name] = f"{by_input[name]} {message}" if name in by_input else message
        else:
            others.append(f"{api_field}: {message}")
    return by_input, " ".join(others)


@dataclass(frozen=True)
class Verdict:
    """The "try it" box's answer, as the dialog shows it."""

    headline: str
    tone: str  # red | amber | green: violation, judge failed, compliant
    explanation: str
    redacted_text: str


def verdict(result: PolicyTestResult) -> Verdict:
    if result.judge_failed:
        return Verdict(
            headline=f"The judge could not decide: on_judge_error decides ({result.action})",
            tone="amber",
            explanation=result.explanation,
            redacted_text=result.redacted_text or "",
        )
    if result.violation:
        count = len(result.matches)
        matched = f" ({count} match{'es' if count != 1 else ''})" if count else ""
        return Verdict(
            headline=f"Violation: {result.action}{matched}",
            tone="red",
            explanation=result.explanation,
            redacted_text=result.redacted_text or "",
        )
    return Verdict(headline="No violation", tone="green", explanation=result.explanation, redacted_text="")
