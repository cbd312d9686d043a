"""Bodies at rest: compressed, then encrypted (Fernet: AES-128-CBC with HMAC-SHA256) with a key derived from
GATEWAY_SECRET_KEY for this use alone, so the database never holds a body in clear."""

from __future__ import annotations

import base64
import hashlib
import zlib

from cryptography.fernet import Fernet, InvalidToken


class BodySealer:
    def __init__(self, secret_key: str) -> None:
        derived = hashlib.sha256(b"gateway-call-log-bodies\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, document: bytes) -> bytes:
        return self._fernet.encrypt(zlib.compress(document, 1))

    def open(self, sealed: bytes) -> bytes:
        try:
            return zlib.decompress(self._fernet.decrypt(sealed))
        except (InvalidToken, zlib.error) as exc:
            raise ValueError("call body cannot be decrypted: was GATEWAY_SECRET_KEY changed?") from exc
