"""Gateway API keys: high-entropy secrets with a recognisable prefix, stored as an HMAC-SHA256 digest.

A fast keyed hash is safe here because the secret has 256 bits of entropy; it keeps the per-request lookup cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "gwk_"
_VISIBLE_CHARS = 8


@dataclass(frozen=True, slots=True)
class NewKey:
    secret: str  # shown once, never stored
    prefix: str  # stored and shown, identifies the key to humans
    digest: str  # stored, used for lookup


def digest_key(secret: str, pepper: bytes) -> str:
    return hmac.new(pepper, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def visible_prefix(secret: str) -> str:
    return secret[: len(KEY_PREFIX) + _VISIBLE_CHARS]


def new_api_key(pepper: bytes) -> NewKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewKey(secret=secret, prefix=visible_prefix(secret), digest=digest_key(secret, pepper))


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def key_pepper(secret_key: str) -> bytes:
    """The HMAC key for API-key digests, derived from (never equal to) the gateway secret key."""
    return hashlib.sha256(b"gateway-api-key-digest\x00" + secret_key.encode()).digest()
