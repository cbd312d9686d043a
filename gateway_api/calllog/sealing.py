"""Bodies at rest: compressed, then encrypted (Fernet: AES-128-CBC with HMAC-SHA256) with a key derived from
GATEWAY_SECRET_KEY for each use alone (`purpose`), so the database never holds a body in clear and a value sealed
for one use cannot be opened as another's."""

from __future__ import annotations

import base64
import hashlib
import zlib

from cryptography.fernet import Fernet, InvalidToken

CALL_LOG_BODIES = b"gateway-call-log-bodies"
MESSAGE_POLICY_VIOLATIONS = b"gateway-message-policy-violations"


class BodySealer:
    def __init__(self, secret_key: str, purpose: bytes = CALL_LOG_BODIES) -> None:
        derived = hashlib.sha256(purpose + b"\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, document: bytes) -> bytes:
        return self._fernet.encrypt(zlib.compress(document, 1))

    def open(self, sealed: bytes) -> bytes:
        try:
            return zlib.decompress(self._fernet.decrypt(sealed))
        except (InvalidToken, zlib.error) as exc:
            raise ValueError("sealed value cannot be decrypted: was GATEWAY_SECRET_KEY changed?") from exc
