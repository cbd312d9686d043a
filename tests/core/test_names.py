"""One name rule (issue 15) for models, providers, policies, users, groups and keys, from the API, the CLI and the
YAML file alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from gateway_api.accounts.sso.identity import identity_from_claims
from gateway_api.core.names import Name, check_name
from gateway_api.core.settings import Settings
from gateway_api.security.crypto import CredentialCipher
from gateway_api.startup.config_file import ConfigError, apply_config_file

GOOD = [
    "claude-opus-4-8",
    "openai/gpt-oss-120b",
    "claude-3-5-sonnet@20240620",
    "llama3:8b",
    "Zoë O'Brien",
    "R&D (EU) #2",
    "CLI on alice-laptop 2026-12-03 14.05 UTC",
]
BAD = ["", " leading", "trailing ", "<script>", 'say "hi"', "back`tick", "new\nline", "tab\there", "-flag", "a\u202eb"]


class _Named(BaseModel):
    name: Name


@pytest.mark.parametrize("name", GOOD)
def test_names_people_and_providers_use(name: str) -> None:
    assert check_name(name, "name") == name
    assert _Named(name=name).name == name, "pydantic's regex engine agrees with Python's"


@pytest.mark.parametrize("name", BAD)
def test_markup_quotes_controls_and_edges_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        check_name(name, "name")
    with pytest.raises(ValidationError):
        _Named(name=name)


def test_every_api_name_follows_it(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    provider = api_client.post("/api/providers", json={"name": "P'1", "kind": "openai"}, headers=admin_headers)
    assert provider.status_code == 201
    refused = {
        "/api/providers": {"name": "<p>", "kind": "openai"},
        "/api/models": {"name": "m<1>", "provider_id": provider.json()["id"]},
        "/api/policies": {"name": 'p"1', "subjects": ["*"], "models": ["*"]},
        "/api/groups": {"name": "g`1"},
        "/api/users": {"email": "x@example.com", "name": "<img src=x>", "password": "long-enough-1"},
        "/api/keys": {"name": "k<1>"},
    }
    for path, body in refused.items():
        answer = api_client.post(path, json=body, headers=admin_headers)
        assert answer.status_code == 422 and "name" in answer.text, path
    quoted = api_client.post(
        "/api/models", json={"name": "o'brien-1", "provider_id": provider.json()["id"]}, headers=admin_headers
    )
    assert quoted.status_code == 201


def test_the_yaml_file_follows_it(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("providers:\n  - name: p\n    kind: openai\n    models:\n      - name: '<b>bold</b>'\n")
    with pytest.raises(ConfigError, match="name"):
        apply_config_file(engine, path, CredentialCipher("names-test-secret-key"))


def test_the_cli_follows_it(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {"GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_SECRET_KEY": "names-test-secret-key", "PYTHONPATH": str(repo)}
    command = [sys.executable, "-m", "gateway_api.cli.main", "users", "create", "--email", "a@example.com"]
    done = subprocess.run(
        [*command, "--name", "<script>", "--password", "long-enough-1"],
        env=env,
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "name" in done.stderr


def test_single_sign_on_claims_follow_it(settings: Settings) -> None:
    claims = {
        "sub": "s-1",
        "email": "zoe@example.com",
        "name": "Zoë O'Brien",
        "groups": ["/eng/platform", "<b>ops</b>", "R&D (EU)"],
    }
    identity = identity_from_claims(claims, settings)
    assert identity.name == "Zoë O'Brien" and identity.groups == ("R&D (EU)", "eng/platform")
    marked_up = identity_from_claims({**claims, "name": "<script>x</script>"}, settings)
    assert marked_up.name == "", "a name outside the rule is not stored"
