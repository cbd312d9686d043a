"""The config file's message policies and judge model: the issue's YAML applied, idempotent, audited as config,
and one-line errors naming the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway_api.db.models import AuditEvent, MessagePolicy, MessagePolicySettings
from gateway_api.startup.config_file import ConfigError, apply_config_file
from tests.startup.test_config_file import CIPHER, write

BASE = """
providers:
  - name: anthropic
    kind: anthropic
    models:
      - name: claude-haiku-4-5
groups: [support]
"""
POLICIES = """
message_policy_judge: claude-haiku-4-5        # a model in the catalog
message_policies:
  - name: no-cloud-keys
    subjects: ["*"]
    scope: [user_messages, tool_results]
    action: redact
    rule: {pattern: "AKIA[0-9A-Z]{16}"}
  - name: no-medical-advice
    subjects: ["group:support"]
    scope: [user_messages]
    action: block
    rule: {judge: "Block requests for a medical diagnosis or for treatment advice."}
"""


def rows(engine: Engine) -> dict[str, tuple]:
    with Session(engine) as session:
        return {
            p.name: (
                tuple(p.subjects),
                tuple(p.scopes),
                p.action,
                p.pattern,
                tuple(p.builtins),
                p.judge,
                p.on_unreadable,
                p.on_judge_error,
                p.enabled,
                p.updated_at,
            )
            for p in session.exec(select(MessagePolicy))
        }


def judge(engine: Engine) -> str | None:
    with Session(engine) as session:
        settings = session.get(MessagePolicySettings, 1)
        return settings.judge_model if settings else None


def events(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        found = session.exec(
            select(AuditEvent).where(col(AuditEvent.action).startswith("message_policy")).order_by(col(AuditEvent.id))
        )
        return [(e.actor_email, e.action, e.target_id) for e in found]


def test_the_issues_yaml_is_applied_idempotently_and_audited(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, BASE + POLICIES)
    apply_config_file(engine, path, CIPHER)
    first = rows(engine)
    assert first["no-cloud-keys"][:9] == (
        ("*",),
        ("user_messages", "tool_results"),
        "redact",
        "AKIA[0-9A-Z]{16}",
        (),
        None,
        "block",
        "block",
        True,
    )
    assert first["no-medical-advice"][:3] == (("group:support",), ("user_messages",), "block")
    assert first["no-medical-advice"][5].startswith("Block requests for a medical diagnosis")
    assert judge(engine) == "claude-haiku-4-5"
    created = events(engine)
    assert [(actor, action) for actor, action, _ in created] == [
        ("config", "message_policy.create"),
        ("config", "message_policy.create"),
        ("config", "message_policy.judge"),
    ]

    apply_config_file(engine, path, CIPHER)
    assert rows(engine) == first, "a second start changes nothing, not even updated_at"
    assert events(engine) == created, "and writes no event"

    changed = POLICIES.replace(
        '"AKIA[0-9A-Z]{16}"}', '"AKIA[0-9A-Z]{16}", builtins: [private_key]}\n    enabled: false'
    )
    apply_config_file(
        engine, write(tmp_path, BASE + changed.replace("message_policy_judge: claude-haiku-4-5", "")), CIPHER
    )
    after = rows(engine)
    assert after["no-cloud-keys"][4] == ("private_key",) and after["no-cloud-keys"][8] is False
    assert after["no-medical-advice"] == first["no-medical-advice"]
    assert judge(engine) == "claude-haiku-4-5", "an absent message_policy_judge leaves the model as it is"
    assert events(engine)[len(created) :] == [("config", "message_policy.update", created[0][2])]

    apply_config_file(engine, write(tmp_path, BASE + "message_policy_judge: null\n"), CIPHER)
    assert judge(engine) is None, "an explicit null removes it"
    assert len(rows(engine)) == 2, "policies not in the file are left alone"


def test_a_single_scope_may_be_written_without_a_list(engine: Engine, tmp_path: Path) -> None:
    text = "message_policies:\n  - {name: m, subjects: ['*'], scope: tool_calls, action: monitor, rule: {builtins: [private_key]}}\n"
    apply_config_file(engine, write(tmp_path, text), CIPHER)
    assert rows(engine)["m"][1] == ("tool_calls",)


def entry(**fields: str) -> str:
    values = {"name": "p", "subjects": "['*']", "scope": "[user_messages]", "action": "block", "rule": "{pattern: x}"}
    values.update(fields)
    inner = ", ".join(f"{k}: {v}" for k, v in values.items())
    return f"message_policies:\n  - {{{inner}}}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (entry(rule="{judge: be kind}", action="redact"), "message_policies[0].action: redact needs a pattern rule"),
        (entry(rule="{pattern: '(x'}"), "message_policies[0].rule.pattern: unsupported or invalid regular expression"),
        (entry(rule="{pattern: x, judge: y}"), "message_policies[0].rule: a rule is either"),
        (entry(rule="{}"), "message_policies[0].rule: a rule needs"),
        (entry(rule="{builtins: [nope]}"), "message_policies[0].rule.builtins: unknown built-in set 'nope'"),
        (entry(rule="{regex: x}"), "message_policies[0].rule.regex"),
        (entry(scope="[everything]"), "message_policies[0].scope[0]"),
        (entry(scope="[]"), "message_policies[0].scope: at least one"),
        (entry(scope="[tool_calls]", action="redact"), "message_policies[0].action: redact is not allowed"),
        (entry(on_judge_error="maybe"), "message_policies[0].on_judge_error"),
        (entry(subjects="['group:ghosts']"), 'message_policies[0].subjects: group "ghosts" does not exist'),
        (entry(subjects="['user:nobody@example.com']"), "message_policies[0].subjects: user"),
        (entry(subjects="[]"), "message_policies[0].subjects: at least one"),
        (
            entry() + "  - {name: p, subjects: ['*'], scope: [user_messages], action: monitor, rule: {pattern: y}}\n",
            "message_policies[1].name: message policy 'p' is listed twice",
        ),
        ("message_policy_judge: no-such-model\n", 'message_policy_judge: model "no-such-model" does not exist'),
    ],
)
def test_a_broken_entry_names_the_entry_and_the_field(engine: Engine, tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as excinfo:
        apply_config_file(engine, path, CIPHER)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: ") and expected in message, message
    assert "\n" not in message
    assert rows(engine) == {} and judge(engine) is None, "a broken file changes nothing"
