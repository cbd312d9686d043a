"""Encryption at rest for provider credentials (Fernet, key derived from GATEWAY_SECRET_KEY)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class CredentialCipher:
    def __init__(self, secret_key: str) -> None:
        derived = hashlib.sha256(b"gateway-credential-encryption\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("credential cannot be decrypted: was GATEWAY_SECRET_KEY changed?") from exc


def last4(secret: str) -> str:
    return secret[-4:] if len(secret) >= 8 else ""
