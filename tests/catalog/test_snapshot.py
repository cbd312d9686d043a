from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.accounts.api_keys import issue_key, revoke_key
from gateway_api.accounts.users import create_user, set_user_groups
from gateway_api.catalog.snapshot import Catalog
from gateway_api.db.config_version import bump_config_version, read_config_version
from gateway_api.db.engine import session_scope
from gateway_api.db.models import ApiKey, Model, Policy, Provider, ProviderKind, Role, Scope, User, utcnow
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.keys import key_pepper

CIPHER = CredentialCipher("catalog-test-secret-key")
PEPPER = key_pepper("catalog-test-secret-key")


def seed(engine: Engine) -> dict[str, str]:
    secrets: dict[str, str] = {}
    with session_scope(engine) as session:
        provider = Provider(
            name="anthropic",
            kind=ProviderKind.anthropic,
            base_url="http://x",
            credential_encrypted=CIPHER.encrypt("sk-1"),
            credential_origin="http://x:80",
        )
        session.add(provider)
        session.flush()
        for name, active in [("claude-a", True), ("claude-b", True), ("claude-off", False), ("other", True)]:
            session.add(Model(name=name, provider_id=provider.id, active=active))
        alice = create_user(session, "alice@example.com", "pw-alice-123", role=Role.user)
        bob = create_user(session, "bob@example.com", "pw-bob-123")
        set_user_groups(session, bob, ["eng"])
        session.add(Policy(name="p1", subjects=["user:Alice@example.com"], models=["claude-a"]))
        session.add(Policy(name="p2", subjects=["group:eng"], models=["claude-*"]))
        _, secrets["live"] = issue_key(session, PEPPER, alice, {Scope.llm}, expires_at=None)
        _, secrets["expired"] = issue_key(
            session, PEPPER, alice, {Scope.llm}, expires_at=utcnow() - timedelta(seconds=1)
        )
        revoked, secrets["revoked"] = issue_key(session, PEPPER, alice, {Scope.llm}, expires_at=None)
        revoke_key(session, revoked)
    return secrets


def test_snapshot_has_live_keys_grants_and_decrypted_credentials(engine: Engine) -> None:
    from gateway_api.security.keys import digest_key

    secrets = seed(engine)
    catalog = Catalog(engine, CIPHER)
    snapshot = catalog.reload()
    assert digest_key(secrets["live"], PEPPER) in snapshot.keys_by_digest
    assert digest_key(secrets["expired"], PEPPER) not in snapshot.keys_by_digest
    assert digest_key(secrets["revoked"], PEPPER) not in snapshot.keys_by_digest
    users = {u.email: u for u in snapshot.users_by_id.values()}
    alice, bob = users["alice@example.com"], users["bob@example.com"]
    assert snapshot.is_granted(alice, "claude-a") and not snapshot.is_granted(alice, "claude-b")
    assert [m.name for m in snapshot.granted_models(bob)] == ["claude-a", "claude-b"]
    assert [m.name for m in snapshot.granted_models(bob, "openai")] == []
    assert snapshot.models_by_name["claude-a"].provider.credential == "sk-1"


def test_changes_are_seen_after_a_version_bump(engine: Engine) -> None:
    seed(engine)
    catalog = Catalog(engine, CIPHER)
    catalog.reload()
    assert not catalog.reload_if_stale()
    before = read_config_version(engine)
    with session_scope(engine) as session:
        key = session.exec(select(ApiKey)).first()
        assert key is not None
        revoke_key(session, key)
    assert read_config_version(engine) == before + 1
    assert catalog.reload_if_stale()
    assert key.digest not in catalog.snapshot.keys_by_digest


def test_bump_creates_the_version_row_when_missing(engine: Engine) -> None:
    with Session(engine) as session:
        bump_config_version(session)
        session.commit()
    assert read_config_version(engine) == 1


def test_key_secrets_are_stored_nowhere_in_the_database(engine: Engine) -> None:
    secrets = seed(engine)
    with Session(engine) as session:
        dumped = repr([row for table in (ApiKey, User) for row in session.exec(select(table))])
    for secret in secrets.values():
        assert secret not in dumped
        assert secret[4:] not in dumped
