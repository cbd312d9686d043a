"""Incremental decoders for compressed upstream bodies (gzip, deflate, br, zstd), bounded against bombs.

The usage scanner sees the bytes exactly as they are relayed to the client, so when the upstream
compresses, the scanner has to decompress a private copy. Output is produced in bounded pieces so a
small compressed chunk cannot balloon into one huge allocation, and every decoder has a budget
(`DecodeLimits`): a total output cap and a cap on output per input byte. A reply past either raises
`DecodedTooLarge` while decoding, before the excess is ever held (a 32 KiB zstd frame can hold 2 GB).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

import brotli
import zstandard

PIECE_LIMIT = 1 << 20
# Below this much output the ratio is not checked: a short reply's first chunk may well compress 100:1.
RATIO_FLOOR_BYTES = 1 << 20


class StreamDecoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...


class DecodedTooLarge(ValueError):
    """The decoded reply exceeds the output cap or the expansion ratio cap (a decompression bomb)."""


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    max_output_bytes: int  # GATEWAY_MAX_DECODED_BYTES
    max_ratio: float  # GATEWAY_MAX_DECODE_RATIO: decoded bytes per encoded byte, past RATIO_FLOOR_BYTES


DEFAULT_DECODE_LIMITS = DecodeLimits(max_output_bytes=256 * 1024 * 1024, max_ratio=100.0)


class _Budget:
    """Counts one decoder's input and output and raises as soon as the output breaks a limit."""

    __slots__ = ("_limits", "_read", "_written")

    def __init__(self, limits: DecodeLimits) -> None:
        self._limits = limits
        self._read = 0
        self._written = 0

    def take_input(self, size: int) -> None:
        self._read += size

    def spend(self, size: int) -> None:
        self._written = written = self._written + size
        limits = self._limits
        if written > limits.max_output_bytes:
            raise DecodedTooLarge(f"decoded reply exceeds {limits.max_output_bytes} bytes")
        if written > RATIO_FLOOR_BYTES and written > limits.max_ratio * self._read:
            raise DecodedTooLarge(f"reply expands more than {limits.max_ratio:g} times when decoded")


class _ZlibDecoder:
    """gzip or zlib-wrapped deflate; falls back to raw deflate, which some servers send as "deflate"."""

    def __init__(self, wbits: int, budget: _Budget) -> None:
        self._budget = budget
        self._decompressor = zlib.decompressobj(wbits)
        self._wbits = wbits
        self._may_fall_back_to_raw = wbits == zlib.MAX_WBITS
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        self._budget.take_input(len(data))
        yield from self._decode(data)

    def _decode(self, data: bytes) -> Iterator[bytes]:
        if not self._started and data:
            self._started = True
            if self._may_fall_back_to_raw and not _looks_like_zlib_header(data):
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        piece = self._decompressor.decompress(data, PIECE_LIMIT)
        while piece:
            self._budget.spend(len(piece))
            yield piece
            if not self._decompressor.unconsumed_tail:
                break
            piece = self._decompressor.decompress(self._decompressor.unconsumed_tail, PIECE_LIMIT)
        if self._decompressor.eof and self._decompressor.unused_data and self._wbits > zlib.MAX_WBITS:
            # A second gzip member follows (concatenated gzip is legal); decode it too.
            rest = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(self._wbits)
            yield from self._decode(rest)


def _looks_like_zlib_header(data: bytes) -> bool:
    if len(data) < 2:
        return True
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0


class _BrotliDecoder:
    def __init__(self, budget: _Budget) -> None:
        self._budget = budget
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        self._budget.take_input(len(data))
        piece = self._decompressor.process(data, output_buffer_limit=PIECE_LIMIT)
        while True:
            if piece:
                self._budget.spend(len(piece))
                yield piece
            if self._decompressor.can_accept_more_data() or self._decompressor.is_finished():
                return
            piece = self._decompressor.process(b"", output_buffer_limit=PIECE_LIMIT)


class _BudgetedSink:
    """Where zstandard's stream writer puts decoded pieces; spending the budget here stops a bomb mid-frame
    (zstandard's decompressobj would return the whole expansion of a chunk at once)."""

    __slots__ = ("_budget", "pieces")

    def __init__(self, budget: _Budget) -> None:
        self._budget = budget
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._budget.spend(len(data))
        self.pieces.append(bytes(data))
        return len(data)


class _ZstdDecoder:
    def __init__(self, budget: _Budget) -> None:
        self._budget = budget
        self._sink = _BudgetedSink(budget)
        # The stream writer goes on across frames, as a concatenation of zstd frames is one valid body.
        self._writer = zstandard.ZstdDecompressor().stream_writer(
            self._sink,  # type: ignore[arg-type]  # only write() is called: no full IO object needed
            write_size=PIECE_LIMIT,
            write_return_read=True,
            closefd=False,
        )

    def decode(self, data: bytes) -> Iterator[bytes]:
        self._budget.take_input(len(data))
        self._writer.write(data)
        pieces, self._sink.pieces = self._sink.pieces, []
        yield from pieces


class _DecoderChain:
    """Several codings ("gzip, br") are undone in reverse order of application."""

    def __init__(self, decoders: list[StreamDecoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> Iterator[bytes]:
        pieces: list[bytes] = [data]
        for decoder in self._decoders:
            pieces = [out for piece in pieces for out in decoder.decode(piece)]
        yield from pieces


_FACTORIES: MappingProxyType[str, Callable[[_Budget], StreamDecoder]] = MappingProxyType(
    {
        "gzip": lambda budget: _ZlibDecoder(16 + zlib.MAX_WBITS, budget),
        "x-gzip": lambda budget: _ZlibDecoder(16 + zlib.MAX_WBITS, budget),
        "deflate": lambda budget: _ZlibDecoder(zlib.MAX_WBITS, budget),
        "br": _BrotliDecoder,
        "zstd": _ZstdDecoder,
    }
)


class UnsupportedEncodingError(ValueError):
    """The response uses a content coding this module cannot undo."""


def make_decoder(content_encoding: str | None, limits: DecodeLimits) -> StreamDecoder | None:
    """Return a decoder for a Content-Encoding header value, or None when the body is not encoded. Each coding
    of a chain has its own budget (its output against its own input)."""
    if not content_encoding:
        return None
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    try:
        decoders = [_FACTORIES[coding](_Budget(limits)) for coding in reversed(codings)]
    except KeyError as unknown:
        raise UnsupportedEncodingError(f"unsupported content-encoding {unknown.args[0]!r}") from None
    return decoders[0] if len(decoders) == 1 else _DecoderChain(decoders)
