"""The identity provider, through authlib: discovery, the authorization URL (code flow with PKCE) and the ID token
of a finished sign-in, checked for signature, issuer, audience, expiry and nonce."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from gateway_api.accounts.sso.errors import SsoError
from gateway_api.core.settings import Settings

HTTP_TIMEOUT_SECONDS = 10.0
METADATA_TTL_SECONDS = 3600.0
# A token signed with a key we do not know triggers one JWKS refetch (the provider rotated its keys), at most this
# often, so forged tokens cannot make us hammer the provider.
JWKS_REFRESH_MIN_SECONDS = 60.0
CLOCK_LEEWAY_SECONDS = 120
# Asymmetric signatures only: "none" and HMAC with the client secret are refused.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


class OidcProvider:
    """One configured provider. Discovery and the signing keys are fetched on first use and cached."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.redirect_uri = settings.oidc_redirect_uri
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_refreshed_at = float("-inf")

    def _client(self) -> OAuth2Client:
        return OAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret or None,
            scope=self.scopes,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=HTTP_TIMEOUT_SECONDS,
        )

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_SECONDS:
                self._metadata = self._discover()
                self._metadata_at = time.monotonic()
            return self._metadata

    def _discover(self) -> ProviderMetadata:
        document = _get_json(f"{self.issuer}/.well-known/openid-configuration", "discovery")
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise SsoError("the identity provider's discovery names another issuer than GATEWAY_OIDC_ISSUER", 502)
        try:
            offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
            return ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                algorithms=tuple(alg for alg in offered if alg in SIGNING_ALGORITHMS) or ("RS256",),
            )
        except KeyError as missing:
            raise SsoError(f"the identity provider's discovery has no {missing}", 502) from None

    def _key_set(self, metadata: ProviderMetadata, *, refresh: bool) -> KeySet:
        with self._lock:
            now = time.monotonic()
            refetch = refresh and now - self._keys_refreshed_at > JWKS_REFRESH_MIN_SECONDS
            if self._keys is None or refetch:
                try:
                    self._keys = KeySet.import_key_set(_get_json(metadata.jwks_uri, "signing keys"))  # type: ignore[arg-type]
                except (ValueError, JoseError):
                    raise SsoError("the identity provider's signing keys cannot be read", 502) from None
                if refresh:
                    self._keys_refreshed_at = now
            return self._keys

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        metadata = self.metadata()
        with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint, state=state, code_verifier=code_verifier, nonce=nonce
            )
        return str(url)

    def finish(self, *, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Exchange the authorization code and return the ID token's claims, checked."""
        metadata = self.metadata()
        try:
            with self._client() as client:
                token = client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except OAuth2Error as exc:
            # invalid_grant: the code was already used, has expired, or was made for another client.
            raise SsoError(f"the identity provider refused the sign-in code ({exc.error})") from None
        except (httpx.HTTPError, ValueError):
            raise SsoError("the identity provider's token endpoint did not answer properly", 502) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoError("the identity provider returned no ID token (is the openid scope allowed?)", 502)
        return self._checked_claims(metadata, id_token, nonce, str(token.get("access_token", "")))

    def _checked_claims(
        self, metadata: ProviderMetadata, id_token: str, nonce: str, access_token: str
    ) -> dict[str, Any]:
        registry = JWSRegistry(algorithms=list(metadata.algorithms))
        try:
            try:
                decoded = jwt.decode(id_token, self._key_set(metadata, refresh=False), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, self._key_set(metadata, refresh=True), registry=registry)
            options = {
                "iss": {"essential": True, "value": metadata.issuer},
                "aud": {"essential": True, "value": self.client_id},
            }
            params = {"nonce": nonce, "client_id": self.client_id}
            if access_token:
                params["access_token"] = access_token
            claims = CodeIDToken(decoded.claims, decoded.header, options, params)
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except JoseError as exc:
            raise SsoError(f"the ID token was refused: {exc.description or exc.error}") from None
        except ValueError:
            raise SsoError("the ID token cannot be read") from None
        return dict(decoded.claims)


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS, headers={"accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError):
        raise SsoError(f"the identity provider's {what} cannot be fetched from {url}", 502) from None
    if not isinstance(document, dict):
        raise SsoError(f"the identity provider's {what} is not a JSON object", 502)
    return document
