from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.db.models import ConfigVersion, Group, Model, Policy, Provider, Role, User, UserGroup
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.passwords import verify_password
from gateway_api.startup.config_file import ConfigError, apply_config_file, load_config_file

CIPHER = CredentialCipher("config-test-secret-key")

GOOD = """
providers:
  - name: anthropic
    kind: anthropic
    api_key: ${TEST_ANTHROPIC_KEY}
    models:
      - name: claude-opus-4-8
        display_name: Claude Opus 4.8
        price: {input: 5, output: 25, cache_read: 0.5, cache_write: 6.25}
      - name: claude-sonnet-4-5
  - name: openai
    kind: openai
    base_url: http://127.0.0.1:9/v1/
    models:
      - name: gpt-5.5
groups: [eng]
users:
  - {email: Alice@Example.com, password: "${TEST_ALICE_PASSWORD}", role: admin, groups: [eng, ops]}
  - {email: bob@example.com, password: bob-password-1}
policies:
  - name: engineers
    subjects: ["group:eng", "user:bob@example.com"]
    models: ["claude-*", "gpt-5.5"]
"""


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-from-env-1234")
    monkeypatch.setenv("TEST_ALICE_PASSWORD", "alice-password-1")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return path


def snapshot_rows(engine: Engine) -> dict[str, list[tuple]]:
    with Session(engine) as session:
        return {
            "providers": [(p.name, p.kind, p.base_url, p.credential_last4) for p in session.exec(select(Provider))],
            "models": [
                (m.name, m.display_name, m.active, m.price_input, m.price_cache_write)
                for m in session.exec(select(Model))
            ],
            "users": [(u.email, u.role, u.active) for u in session.exec(select(User))],
            "groups": [(g.name,) for g in session.exec(select(Group))],
            "memberships": [(m.user_id, m.group_id) for m in session.exec(select(UserGroup))],
            "policies": [(p.name, tuple(p.subjects), tuple(p.models)) for p in session.exec(select(Policy))],
        }


@pytest.mark.usefixtures("config_env")
def test_apply_creates_everything_and_is_idempotent(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    apply_config_file(engine, path, CIPHER)
    first = snapshot_rows(engine)
    apply_config_file(engine, path, CIPHER)
    assert snapshot_rows(engine) == first

    assert ("anthropic", "anthropic", "https://api.anthropic.com", "1234") in first["providers"]
    assert ("openai", "openai", "http://127.0.0.1:9/v1", None) in first["providers"]
    assert ("claude-opus-4-8", "Claude Opus 4.8", True, 5.0, 6.25) in first["models"]
    sonnet = next(m for m in first["models"] if m[0] == "claude-sonnet-4-5")
    assert sonnet[3] is not None, "a well-known model gets the shipped price"
    assert ("alice@example.com", Role.admin, True) in first["users"]
    assert {g[0] for g in first["groups"]} == {"eng", "ops"}
    assert ("engineers", ("group:eng", "user:bob@example.com"), ("claude-*", "gpt-5.5")) in first["policies"]
    with Session(engine) as session:
        provider = session.exec(select(Provider).where(Provider.name == "anthropic")).one()
        assert "sk-ant-from-env" not in (provider.credential_encrypted or "")
        assert CIPHER.decrypt(provider.credential_encrypted or "") == "sk-ant-from-env-1234"
        alice = session.exec(select(User).where(User.email == "alice@example.com")).one()
        assert verify_password("alice-password-1", alice.password_hash)
        assert session.exec(select(ConfigVersion)).one().version >= 2


@pytest.mark.usefixtures("config_env")
def test_objects_not_in_the_file_are_left_alone(engine: Engine, tmp_path: Path) -> None:
    apply_config_file(engine, write(tmp_path, GOOD), CIPHER)
    smaller = "policies:\n  - {name: everyone, subjects: ['*'], models: ['gpt-5.5']}\n"
    apply_config_file(engine, write(tmp_path, smaller), CIPHER)
    rows = snapshot_rows(engine)
    assert {p[0] for p in rows["policies"]} == {"engineers", "everyone"}
    assert len(rows["models"]) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("providers: [{name: x, kind: azure}]", "providers[0].kind"),
        (
            "providers: [{name: x, kind: openai, models: [{name: m, price: {input: -1}}]}]",
            "providers[0].models[0].price.input",
        ),
        ("providers: [{name: x, kind: openai, api_key: '${NOPE_NOT_SET}'}]", "NOPE_NOT_SET is not set"),
        ("users: [{email: not-an-email}]", "users[0].email"),
        ("policies: [{name: p, subjects: [], models: ['*']}]", "policies[0].subjects"),
        ("policies: [{name: p, subjects: ['user:ghost@example.com'], models: ['*']}]", "ghost@example.com"),
        ("policies: [{name: p, subjects: ['group:nobody'], models: ['*']}]", "group 'nobody' does not exist"),
        ("providers: {name: x}", "providers"),
        ("unknown_section: 1", "unknown_section"),
        ("providers: [\n  - name: [unclosed\n", "not valid YAML"),
        ("- just a list", "top level"),
    ],
)
def test_a_broken_file_names_the_file_the_path_and_the_problem(
    engine: Engine, tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as excinfo:
        apply_config_file(engine, path, CIPHER)
    message = str(excinfo.value)
    assert str(path) in message
    assert expected in message
    assert snapshot_rows(engine)["providers"] == [], "a broken file changes nothing"


def test_duplicate_model_names_across_providers_are_refused(tmp_path: Path) -> None:
    text = (
        "providers:\n"
        "  - {name: a, kind: openai, models: [{name: m1}]}\n"
        "  - {name: b, kind: openai, models: [{name: m1}]}\n"
    )
    with pytest.raises(ConfigError, match=r"providers\[1\]\.models\[0\]\.name"):
        load_config_file(write(tmp_path, text))


def test_a_provider_moved_by_the_file_keeps_its_key_only_if_the_file_brings_it(engine: Engine, tmp_path: Path) -> None:
    """Issue 15: a credential is bound to its host, also when the YAML file moves the provider."""

    def apply(base_url: str, api_key: str | None) -> Provider:
        key_line = f"\n    api_key: {api_key}" if api_key else ""
        text = f"providers:\n  - name: p\n    kind: openai\n    base_url: {base_url}{key_line}\n"
        apply_config_file(engine, write(tmp_path, text), CIPHER)
        with Session(engine) as session:
            return session.exec(select(Provider).where(Provider.name == "p")).one()

    first = apply("https://one.example.com/v1", "sk-one-0000-1111")
    assert first.credential_origin == "https://one.example.com:443" and first.credential_last4 == "1111"
    assert apply("https://ONE.example.com:443/other", None).credential_last4 == "1111", "same origin: kept"
    moved = apply("https://two.example.com/v1", None)
    assert moved.credential_encrypted is None and moved.credential_origin is None
    rebound = apply("https://two.example.com/v1", "sk-one-0000-1111")
    assert rebound.credential_origin == "https://two.example.com:443" and rebound.credential_last4 == "1111"
