"""A stored message policy as the catalog snapshot holds it: immutable, subjects normalised, with the revision
that keys cached verdicts (a changed rule is judged afresh; a renamed or re-scoped one keeps its verdicts)."""

from __future__ import annotations

import hashlib

import orjson

from gateway_api.accounts.access import normalise_subject
from gateway_api.db.models import MessagePolicy, saved_id
from gateway_api.message_policies.rules import FailChoice, MessagePolicyEntry, PolicyAction, PolicyRule, PolicyScope


def rule_revision(rule: PolicyRule) -> str:
    document = orjson.dumps({"pattern": rule.pattern, "builtins": sorted(rule.builtins), "judge": rule.judge})
    return hashlib.sha256(document).hexdigest()[:16]


def policy_entry(row: MessagePolicy, unsaved: bool = False) -> MessagePolicyEntry:
    """`unsaved`: a policy only tried (the REST API's try-it on a draft), given id 0."""
    rule = PolicyRule(pattern=row.pattern, builtins=tuple(row.builtins), judge=row.judge)
    return MessagePolicyEntry(
        id=0 if unsaved else saved_id(row),
        name=row.name,
        subjects=frozenset(normalise_subject(s) for s in row.subjects),
        scopes=frozenset(PolicyScope(s) for s in row.scopes),
        action=PolicyAction(row.action),
        rule=rule,
        on_unreadable=FailChoice(row.on_unreadable),
        on_judge_error=FailChoice(row.on_judge_error),
        revision=rule_revision(rule),
    )
