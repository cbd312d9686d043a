"""Bodies at rest: zstd-compressed and sealed with AES-GCM under a key of their own; what earlier versions sealed
(zlib inside AES-GCM, Fernet tokens) still opens."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway_api.calllog.sealing import FORMAT_AES_GCM_ZLIB, FORMAT_AES_GCM_ZSTD, NONCE_BYTES, BodySealer

SECRET = "s" * 43


@pytest.mark.parametrize("size", [0, 1, 2_000, 64 * 1024, 3_000_000])
def test_what_is_sealed_opens_again_and_is_not_in_clear(size: int) -> None:
    document = (b'{"text": "patient record 4111 1111 1111 1111"}' * (size // 40 + 1))[:size]
    sealed = BodySealer(SECRET).seal(document)
    assert sealed.startswith(FORMAT_AES_GCM_ZSTD)
    assert size < 2_000 or len(sealed) < size / 5  # compressed
    assert size < 40 or b"patient record" not in sealed
    assert BodySealer(SECRET).open(sealed) == document


def test_incompressible_bytes_round_trip() -> None:
    document = os.urandom(100_000)
    assert BodySealer(SECRET).open(BodySealer(SECRET).seal(document)) == document


def test_two_seals_of_one_document_differ() -> None:
    sealer = BodySealer(SECRET)
    assert sealer.seal(b"same") != sealer.seal(b"same")  # a fresh nonce each time


def test_one_sealer_is_shared_by_threads() -> None:
    """The body writer's thread seals while the REST API's threads open: each has its own zstd contexts."""
    sealer = BodySealer(SECRET)
    documents = [f"document {i} ".encode() * (i + 50) for i in range(64)]

    def round_trip(document: bytes) -> bool:
        return all(sealer.open(sealer.seal(document)) == document for _ in range(20))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(round_trip, documents))


def test_bodies_sealed_with_zlib_inside_aes_gcm_still_open() -> None:
    key = hashlib.sha256(b"gateway-call-log-bodies\x00aes-256-gcm\x00" + SECRET.encode()).digest()
    nonce = os.urandom(NONCE_BYTES)
    sealed = FORMAT_AES_GCM_ZLIB + nonce + AESGCM(key).encrypt(nonce, zlib.compress(b"a zlib-era body", 1), None)
    assert BodySealer(SECRET).open(sealed) == b"a zlib-era body"


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
