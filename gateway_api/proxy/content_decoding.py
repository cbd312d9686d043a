"""Incremental decoders for compressed upstream bodies (gzip, deflate, br, zstd).

The usage scanner sees the bytes exactly as they are relayed to the client, so when the upstream
compresses, the scanner has to decompress a private copy. Output is produced in bounded pieces so a
small compressed chunk cannot balloon into one huge allocation (decompression bombs).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Protocol

import brotli
import zstandard

PIECE_LIMIT = 1 << 20


class StreamDecoder(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...


class _ZlibDecoder:
    """gzip or zlib-wrapped deflate; falls back to raw deflate, which some servers send as "deflate"."""

    def __init__(self, wbits: int) -> None:
        self._decompressor = zlib.decompressobj(wbits)
        self._wbits = wbits
        self._may_fall_back_to_raw = wbits == zlib.MAX_WBITS
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        if not self._started and data:
            self._started = True
            if self._may_fall_back_to_raw and not _looks_like_zlib_header(data):
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
        piece = self._decompressor.decompress(data, PIECE_LIMIT)
        while piece:
            yield piece
            if not self._decompressor.unconsumed_tail:
                break
            piece = self._decompressor.decompress(self._decompressor.unconsumed_tail, PIECE_LIMIT)
        if self._decompressor.eof and self._decompressor.unused_data and self._wbits > zlib.MAX_WBITS:
            # A second gzip member follows (concatenated gzip is legal); decode it too.
            rest = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(self._wbits)
            yield from self.decode(rest)


def _looks_like_zlib_header(data: bytes) -> bool:
    if len(data) < 2:
        return True
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0


class _BrotliDecoder:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes) -> Iterator[bytes]:
        piece = self._decompressor.process(data, output_buffer_limit=PIECE_LIMIT)
        while True:
            if piece:
                yield piece
            if self._decompressor.can_accept_more_data() or self._decompressor.is_finished():
                return
            piece = self._decompressor.process(b"", output_buffer_limit=PIECE_LIMIT)


class _ZstdDecoder:
    def __init__(self) -> None:
        self._decompressor = zstandard.ZstdDecompressor().decompressobj(read_across_frames=True)

    def decode(self, data: bytes) -> Iterator[bytes]:
        piece = self._decompressor.decompress(data)
        if piece:
            yield piece


class _DecoderChain:
    """Several codings ("gzip, br") are undone in reverse order of application."""

    def __init__(self, decoders: list[StreamDecoder]) -> None:
        self._decoders = decoders

    def decode(self, data: bytes) -> Iterator[bytes]:
        pieces: list[bytes] = [data]
        for decoder in self._decoders:
            pieces = [out for piece in pieces for out in decoder.decode(piece)]
        yield from pieces


_FACTORIES: MappingProxyType[str, Callable[[], StreamDecoder]] = MappingProxyType(
    {
        "gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
        "x-gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
        "deflate": lambda: _ZlibDecoder(zlib.MAX_WBITS),
        "br": _BrotliDecoder,
        "zstd": _ZstdDecoder,
    }
)


class UnsupportedEncodingError(ValueError):
    """The response uses a content coding this module cannot undo."""


def make_decoder(content_encoding: str | None) -> StreamDecoder | None:
    """Return a decoder for a Content-Encoding header value, or None when the body is not encoded."""
    if not content_encoding:
        return None
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    try:
        decoders = [_FACTORIES[coding]() for coding in reversed(codings)]
    except KeyError as unknown:
        raise UnsupportedEncodingError(f"unsupported content-encoding {unknown.args[0]!r}") from None
    return decoders[0] if len(decoders) == 1 else _DecoderChain(decoders)
