"""The config file's changes in the audit trail: actor `config`, what changed, no secret, nothing on a re-apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway_api.db.models import AuditEvent
from gateway_api.startup.config_file import apply_config_file
from tests.startup.test_config_file import CIPHER, GOOD, config_env, write  # noqa: F401 (fixture)


def events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


@pytest.mark.usefixtures("config_env")
def test_applying_the_file_is_audited_once_per_change(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    apply_config_file(engine, path, CIPHER)
    created = events(engine)
    assert {e.actor_email for e in created} == {"config"}
    assert all(e.actor_user_id is None for e in created)
    by_action: dict[str, list[AuditEvent]] = {}
    for event in created:
        by_action.setdefault(event.action, []).append(event)
    assert sorted(by_action) == [
        "group.create",
        "model.create",
        "policy.create",
        "provider.create",
        "user.create",
    ]
    assert len(by_action["model.create"]) == 3 and len(by_action["user.create"]) == 2
    alice = next(e for e in by_action["user.create"] if e.after and e.after["email"] == "alice@example.com")
    assert alice.after is not None and alice.after["role"] == "admin" and alice.after["groups"] == ["eng", "ops"]
    anthropic = next(e for e in by_action["provider.create"] if e.after and e.after["name"] == "anthropic")
    assert anthropic.after is not None and anthropic.after["credential_last4"] == "1234"
    everything = json.dumps([(e.before, e.after) for e in created])
    assert "sk-ant-from-env" not in everything and "alice-password-1" not in everything

    apply_config_file(engine, path, CIPHER)
    assert len(events(engine)) == len(created), "re-applying an unchanged file adds nothing"

    changed = GOOD.replace("role: admin", "role: user").replace('models: ["claude-*", "gpt-5.5"]', 'models: ["*"]')
    apply_config_file(engine, write(tmp_path, changed), CIPHER)
    new = events(engine)[len(created) :]
    assert [(e.action, e.actor_email) for e in new] == [("user.update", "config"), ("policy.update", "config")]
    role_change, policy_change = new
    assert role_change.before is not None and role_change.after is not None
    assert (role_change.before["role"], role_change.after["role"]) == ("admin", "user")
    assert policy_change.after is not None and policy_change.after["models"] == ["*"]


@pytest.mark.usefixtures("config_env")
def test_a_new_credential_is_noted_without_its_value(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_config_file(engine, write(tmp_path, GOOD), CIPHER)
    seen = len(events(engine))
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-rotated-9991234")  # same last four characters
    apply_config_file(engine, write(tmp_path, GOOD), CIPHER)
    (update,) = events(engine)[seen:]
    assert update.action == "provider.update" and update.after is not None
    assert update.after["credential_replaced"] is True
    assert "sk-ant-rotated" not in json.dumps([update.before, update.after])
