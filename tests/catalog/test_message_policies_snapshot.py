"""The snapshot's message policies: enabled ones by name, per user by subject (memoised), the judge model, and a
revision that follows the rule."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway_api.accounts.audit import SystemActor
from gateway_api.accounts.users import create_user, set_user_groups
from gateway_api.catalog.snapshot import Catalog, empty_snapshot
from gateway_api.db.config_version import bump_config_version
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Model, Provider, ProviderKind
from gateway_api.message_policies.rules import FailChoice, PolicyAction, PolicyScope
from gateway_api.message_policies.stored.store import (
    PolicyFields,
    create_policy,
    find_policy,
    set_judge_model,
    update_policy,
)
from gateway_api.security.crypto import CredentialCipher

CIPHER = CredentialCipher("catalog-test-secret-key")


def fields(name: str, subjects: list[str], **changes: object) -> PolicyFields:
    values: dict[str, object] = {
        "name": name,
        "subjects": subjects,
        "scopes": [PolicyScope.user_messages],
        "action": PolicyAction.block,
        "pattern": "secret",
    }
    return PolicyFields(**{**values, **changes})  # type: ignore[arg-type]


def test_policies_per_user_and_judge(engine: Engine) -> None:
    with session_scope(engine) as session:
        alice = create_user(session, "alice@example.com", "pw-alice-123")
        bob = create_user(session, "bob@example.com", "pw-bob-123")
        set_user_groups(session, bob, ["support"])
        provider = Provider(name="anthropic", kind=ProviderKind.anthropic, base_url="http://x")
        session.add(provider)
        session.flush()
        session.add(Model(name="claude-haiku-4-5", provider_id=provider.id))
        session.flush()
        create_policy(session, fields("z-everyone", ["*"]), SystemActor.cli)
        create_policy(
            session,
            fields("a-support", ["group:support"], judge="No advice.", pattern=None, on_judge_error=FailChoice.allow),
            SystemActor.cli,
        )
        create_policy(session, fields("m-alice", ["user:ALICE@example.com"]), SystemActor.cli)
        create_policy(session, fields("off", ["*"], enabled=False), SystemActor.cli)
        set_judge_model(session, "claude-haiku-4-5", SystemActor.cli)
        bump_config_version(session)
    catalog = Catalog(engine, CIPHER)
    snapshot = catalog.reload()
    assert [p.name for p in snapshot.message_policies] == ["a-support", "m-alice", "z-everyone"]
    assert snapshot.message_policy_judge == "claude-haiku-4-5"
    users = {u.email: u for u in snapshot.users_by_id.values()}
    for_alice = snapshot.message_policies_for(users["alice@example.com"])
    assert [p.name for p in for_alice] == ["m-alice", "z-everyone"]
    assert snapshot.message_policies_for(users["alice@example.com"]) is for_alice, "memoised per user"
    judged = snapshot.message_policies_for(users["bob@example.com"])[0]
    assert (judged.name, judged.rule.judge, judged.rule.is_judged, judged.on_judge_error) == (
        "a-support",
        "No advice.",
        True,
        FailChoice.allow,
    )
    assert empty_snapshot().message_policies_for(users["bob@example.com"]) == ()
    revisions = {p.name: p.revision for p in snapshot.message_policies}
    assert revisions["m-alice"] == revisions["z-everyone"], "the same rule, the same revision"

    with session_scope(engine) as session:
        policy = find_policy(session, "z-everyone")
        assert policy is not None and alice.id is not None
        update_policy(session, policy, fields("z-everyone", ["*"], pattern="other"), SystemActor.cli)
        bump_config_version(session)
    assert catalog.reload_if_stale()
    changed = {p.name: p.revision for p in catalog.snapshot.message_policies}
    assert changed["z-everyone"] != revisions["z-everyone"] and changed["m-alice"] == revisions["m-alice"]
