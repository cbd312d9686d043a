"""The ID token checks, with tokens this test signs and a provider's discovery and keys served on loopback: a
token that is not exactly right (signature, issuer, audience, expiry, nonce, algorithm) is refused."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from gateway_api.accounts.sso.errors import SsoError
from gateway_api.accounts.sso.provider import OidcProvider
from gateway_api.core.settings import Settings

CLIENT_ID = "gateway-client"
NONCE = "the-nonce-of-this-sign-in"


class _ProviderDocuments(ThreadingHTTPServer):
    documents: dict[str, Any]
    fetches: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _ProviderDocuments

    def do_GET(self) -> None:
        self.server.fetches.append(self.path)
        body = json.dumps(self.server.documents.get(self.path, {})).encode()
        self.send_response(200 if self.path in self.server.documents else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def documents() -> Iterator[_ProviderDocuments]:
    server = _ProviderDocuments(("127.0.0.1", 0), _Handler)
    issuer = f"http://127.0.0.1:{server.server_port}"
    server.fetches = []
    server.documents = {
        "/.well-known/openid-configuration": {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
        }
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def issuer_of(server: _ProviderDocuments) -> str:
    return f"http://127.0.0.1:{server.server_port}"


def publish(server: _ProviderDocuments, *keys: RSAKey) -> None:
    server.documents["/jwks"] = KeySet(list(keys)).as_dict(private=False)


def provider_for(server: _ProviderDocuments, tmp_path: Path) -> OidcProvider:
    settings = Settings(
        data_dir=tmp_path, oidc_issuer=issuer_of(server), oidc_client_id=CLIENT_ID, public_url="http://gw.test"
    )
    return OidcProvider(settings)


def claims_for(server: _ProviderDocuments, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer_of(server),
        "sub": "user-1",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "email": "u@example.com",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def sign(key: RSAKey | OctKey, claims: dict[str, Any], alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


def check(provider: OidcProvider, token: str, nonce: str = NONCE) -> dict[str, Any]:
    return provider._checked_claims(provider.metadata(), token, nonce, "")


@pytest.fixture
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "key-1"})


def test_a_right_token_gives_its_claims(documents: _ProviderDocuments, key: RSAKey, tmp_path: Path) -> None:
    publish(documents, key)
    claims = check(provider_for(documents, tmp_path), sign(key, claims_for(documents)))
    assert claims["email"] == "u@example.com" and claims["sub"] == "user-1"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "https://another-issuer.example"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"nonce": "a-replayed-sign-ins-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"iss": None}, "iss"),
    ],
)
def test_wrong_claims_are_refused(
    documents: _ProviderDocuments, key: RSAKey, tmp_path: Path, changes: dict[str, Any], reason: str
) -> None:
    publish(documents, key)
    with pytest.raises(SsoError) as refused:
        check(provider_for(documents, tmp_path), sign(key, claims_for(documents, **changes)))
    assert reason in refused.value.message


def test_a_token_signed_by_another_key_is_refused(documents: _ProviderDocuments, key: RSAKey, tmp_path: Path) -> None:
    publish(documents, key)
    forger = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
    with pytest.raises(SsoError, match="refused"):
        check(provider_for(documents, tmp_path), sign(forger, claims_for(documents)))


def test_symmetric_and_unsigned_tokens_are_refused(documents: _ProviderDocuments, key: RSAKey, tmp_path: Path) -> None:
    publish(documents, key)
    provider = provider_for(documents, tmp_path)
    secret = OctKey.generate_key(256, parameters={"kid": "key-1"})
    with pytest.raises(SsoError):
        check(provider, sign(secret, claims_for(documents), alg="HS256"))
    header = jwt.encode({"alg": "RS256", "kid": "key-1"}, claims_for(documents), key).split(".")
    unsigned = ".".join(["eyJhbGciOiJub25lIn0", header[1], ""])
    with pytest.raises(SsoError):
        check(provider, unsigned)


def test_a_rotated_key_is_fetched_once_and_forged_key_ids_do_not_hammer_the_provider(
    documents: _ProviderDocuments, key: RSAKey, tmp_path: Path
) -> None:
    publish(documents, key)
    provider = provider_for(documents, tmp_path)
    check(provider, sign(key, claims_for(documents)))
    rotated = RSAKey.generate_key(2048, parameters={"kid": "key-2"})
    publish(documents, key, rotated)
    # The provider's new key is learnt at its first token...
    assert check(provider, sign(rotated, claims_for(documents)))["sub"] == "user-1"
    fetches = documents.fetches.count("/jwks")
    for attempt in range(5):
        stranger = RSAKey.generate_key(2048, parameters={"kid": f"unknown-{attempt}"})
        with pytest.raises(SsoError):
            check(provider, sign(stranger, claims_for(documents)))
    # ...but unknown key ids within the minute after do not trigger more fetches.
    assert documents.fetches.count("/jwks") == fetches


def test_a_discovery_naming_another_issuer_is_refused(documents: _ProviderDocuments, tmp_path: Path) -> None:
    documents.documents["/.well-known/openid-configuration"]["issuer"] = "https://impostor.example"
    with pytest.raises(SsoError, match="another issuer"):
        provider_for(documents, tmp_path).metadata()
