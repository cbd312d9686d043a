"""A provider credential is bound to the origin (scheme, host, port) it was saved for.

Moving a provider to another host must not carry its key along: whoever can change a base URL could otherwise
have the gateway hand the real provider key to a host of their choosing (the proxy forwarding, the admin test).
A credential therefore counts only while the provider's base URL still has the origin it was saved for.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway_api.db.models import Provider
from gateway_api.security.crypto import CredentialCipher, last4

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port spelled out, lower-case: equal origins compare equal."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, 0)}"


def set_credential(provider: Provider, cipher: CredentialCipher, credential: str | None) -> None:
    """Store (or, with None, remove) the credential, bound to the provider's current base URL."""
    provider.credential_encrypted = cipher.encrypt(credential) if credential else None
    provider.credential_last4 = last4(credential) if credential else None
    provider.credential_origin = origin_of(provider.base_url) if credential else None


def move_provider(provider: Provider, base_url: str) -> bool:
    """Point the provider at `base_url`; a credential saved for another origin is removed. True if it was."""
    provider.base_url = base_url
    if provider.credential_encrypted is None or credential_bound_here(provider):
        return False
    provider.credential_encrypted = None
    provider.credential_last4 = None
    provider.credential_origin = None
    return True


def credential_bound_here(provider: Provider) -> bool:
    """Whether the stored credential was saved for the origin the provider now points at."""
    return provider.credential_origin is not None and provider.credential_origin == origin_of(provider.base_url)
