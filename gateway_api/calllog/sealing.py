"""Bodies at rest: compressed, then encrypted with AES-256-GCM under a key derived from GATEWAY_SECRET_KEY for this
use alone, so the database never holds a body in clear.

AES-GCM rather than the Fernet tokens of the first version: a token needs no base64 and one pass instead of
CBC + HMAC, about half the sealing cost per call (bench/README.md, issue 16). Fernet tokens written before are
still opened (they start with Fernet's version byte 0x80; the new format starts with FORMAT_AES_GCM)."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CALL_LOG_BODIES = b"gateway-call-log-bodies"
MESSAGE_POLICY_VIOLATIONS = b"gateway-message-policy-violations"
FORMAT_AES_GCM = b"\x01"
NONCE_BYTES = 12  # random per body: 2^-32 collision odds only after ~2^32 bodies under one secret key
# Setting up zlib's default 32 KiB window and hash tables costs more than compressing a few KiB: small documents
# get a 4 KiB window (about 8x faster for a 1 KB call, the same size), large ones the full window.
SMALL_DOCUMENT_BYTES = 64 * 1024


class BodySealer:
    """`purpose` separates keys: a body sealed for one use cannot be opened as another's."""

    def __init__(self, secret_key: str, purpose: bytes = CALL_LOG_BODIES) -> None:
        legacy = hashlib.sha256(purpose + b"\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(legacy))
        self._aead = AESGCM(hashlib.sha256(purpose + b"\x00aes-256-gcm\x00" + secret_key.encode()).digest())

    def seal(self, document: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_AES_GCM + nonce + self._aead.encrypt(nonce, _compressed(document), None)

    def open(self, sealed: bytes) -> bytes:
        try:
            if sealed[:1] == FORMAT_AES_GCM:
                nonce = sealed[1 : 1 + NONCE_BYTES]
                return zlib.decompress(self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], None))
            return zlib.decompress(self._fernet.decrypt(sealed))
        except (InvalidTag, InvalidToken, zlib.error, ValueError) as exc:
            raise ValueError("sealed content cannot be decrypted: was GATEWAY_SECRET_KEY changed?") from exc


def _compressed(document: bytes) -> bytes:
    """A zlib stream; zlib.decompress's default window opens every window size."""
    if len(document) > SMALL_DOCUMENT_BYTES:
        return zlib.compress(document, 1)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 12, 5)
    return compressor.compress(document) + compressor.flush()
