"""Bounded decoders (issue 15, point 6): bombs stop within their budget, honest replies decode intact."""

from __future__ import annotations

import gzip
import os
import zlib

import brotli
import pytest
import zstandard

from gateway_api.proxy.content_decoding import (
    PIECE_LIMIT,
    DecodedTooLarge,
    DecodeLimits,
    make_decoder,
)
from tests.support.bombs import gzip_bomb, zstd_bomb

LIMITS = DecodeLimits(max_output_bytes=64 * 1024 * 1024, max_ratio=100.0)
ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def decode_all(coding: str, encoded: bytes, limits: DecodeLimits = LIMITS, step: int = 64 * 1024) -> tuple[int, int]:
    """(decoded bytes, largest piece) fed `step` bytes at a time, keeping nothing (as the scanner does)."""
    decoder = make_decoder(coding, limits)
    assert decoder is not None
    total = largest = 0
    for start in range(0, len(encoded), step):
        for piece in decoder.decode(encoded[start : start + step]):
            total += len(piece)
            largest = max(largest, len(piece))
    return total, largest


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_an_honest_reply_decodes_whole_in_bounded_pieces(coding: str) -> None:
    text = b"".join(b'data: {"type":"content_block_delta","delta":{"text":"%d"}}\n\n' % n for n in range(100_000))
    document = text + os.urandom(1024)

    total, largest = decode_all(coding, ENCODERS[coding](document), step=1000)

    assert total == len(document)
    assert largest <= 2 * PIECE_LIMIT  # brotli rounds its output buffer up to its own block size (about 2 MiB)


@pytest.mark.parametrize(("coding", "bomb"), [("zstd", zstd_bomb), ("gzip", gzip_bomb)])
def test_a_bomb_stops_at_the_ratio_cap(coding: str, bomb: object) -> None:
    encoded = bomb()  # type: ignore[operator]
    decoder = make_decoder(coding, LIMITS)
    assert decoder is not None
    seen = 0
    with pytest.raises(DecodedTooLarge, match="expands more than 100 times"):
        for start in range(0, len(encoded), 64 * 1024):
            for piece in decoder.decode(encoded[start : start + 64 * 1024]):
                seen += len(piece)
    # Stopped after at most a piece past 100 times what was read: megabytes, never the gigabyte inside.
    assert seen <= 100 * len(encoded) + PIECE_LIMIT
    assert seen < 256 * 1024 * 1024


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_the_output_cap_holds_for_replies_that_compress_plausibly(coding: str) -> None:
    document = os.urandom(512 * 1024).hex().encode()  # 1 MiB, compresses about 2:1
    limits = DecodeLimits(max_output_bytes=512 * 1024, max_ratio=100.0)

    with pytest.raises(DecodedTooLarge, match="exceeds 524288 bytes"):
        decode_all(coding, ENCODERS[coding](document), limits)


def test_each_coding_of_a_chain_has_its_own_budget() -> None:
    inner = zstd_bomb(64)
    chained = gzip.compress(inner)  # "zstd, gzip": gzip applied last, undone first
    decoder = make_decoder("zstd, gzip", LIMITS)
    assert decoder is not None
    with pytest.raises(DecodedTooLarge):
        list(decoder.decode(chained))
