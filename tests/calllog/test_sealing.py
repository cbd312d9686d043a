"""Bodies at rest: sealed with AES-GCM under a key of their own, old Fernet tokens still opened."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from cryptography.fernet import Fernet

from gateway_api.calllog.sealing import FORMAT_AES_GCM, SMALL_DOCUMENT_BYTES, BodySealer

SECRET = "s" * 43


@pytest.mark.parametrize("size", [0, 1, 2_000, SMALL_DOCUMENT_BYTES, SMALL_DOCUMENT_BYTES + 1, 3_000_000])
def test_what_is_sealed_opens_again_and_is_not_in_clear(size: int) -> None:
    document = (b'{"text": "patient record 4111 1111 1111 1111"}' * (size // 40 + 1))[:size]
    sealed = BodySealer(SECRET).seal(document)
    assert sealed.startswith(FORMAT_AES_GCM)
    assert size < 40 or b"patient record" not in sealed
    assert BodySealer(SECRET).open(sealed) == document


def test_incompressible_bytes_round_trip() -> None:
    document = os.urandom(100_000)
    assert BodySealer(SECRET).open(BodySealer(SECRET).seal(document)) == document


def test_two_seals_of_one_document_differ() -> None:
    sealer = BodySealer(SECRET)
    assert sealer.seal(b"same") != sealer.seal(b"same")  # a fresh nonce each time


def test_bodies_sealed_by_the_first_version_still_open() -> None:
    derived = hashlib.sha256(b"gateway-call-log-bodies\x00" + SECRET.encode()).digest()
    legacy = Fernet(base64.urlsafe_b64encode(derived)).encrypt(zlib.compress(b"an old body", 1))
    assert BodySealer(SECRET).open(legacy) == b"an old body"


@pytest.mark.parametrize(
    "opener",
    [BodySealer("another secret key, not the one that sealed"), BodySealer(SECRET, purpose=b"another use")],
)
def test_another_key_or_purpose_cannot_open(opener: BodySealer) -> None:
    sealed = BodySealer(SECRET).seal(b"a body")
    with pytest.raises(ValueError, match="cannot be decrypted"):
        opener.open(sealed)


def test_a_tampered_seal_is_refused() -> None:
    sealed = bytearray(BodySealer(SECRET).seal(b"a body that matters"))
    sealed[-1] ^= 1
    with pytest.raises(ValueError, match="cannot be decrypted"):
        BodySealer(SECRET).open(bytes(sealed))
