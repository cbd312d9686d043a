"""Route handlers of the fake upstream: build provider bodies, then encode, chunk and send them."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import brotli
import orjson
import zstandard
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes import tool_bodies as tools
from tests.support.fakes.behaviour import FakeBehaviour, RecordedRequest


def split_flavour(path: str, headers: CIMultiDictProxy[str]) -> tuple[str, str]:
    for flavour in ("anthropic", "openai"):
        prefix = f"/{flavour}"
        if path.startswith(prefix + "/"):
            return flavour, path[len(prefix) :]
    if path.startswith(("/v1/responses", "/v1/chat/")):
        return "openai", path
    if path.startswith("/v1/messages") or "anthropic-version" in headers:
        return "anthropic", path
    return "openai", path


def error_body(flavour: str, status: int, message: str) -> bytes:
    envelope = (
        bodies.anthropic_error(status, message) if flavour == "anthropic" else bodies.openai_error(status, message)
    )
    return orjson.dumps(envelope)


# A route builder returns (status, body pieces, streaming).
_Built = tuple[int, list[bytes], bool]


def _json(document: dict[str, Any], behaviour: FakeBehaviour) -> list[bytes]:
    return [bodies.dumps(document, orjson.OPT_INDENT_2 if behaviour.pretty_json else 0)]


def _model_for(request_json: dict[str, Any], behaviour: FakeBehaviour, fallback: str) -> str:
    requested = request_json.get("model") if isinstance(request_json, dict) else None
    return behaviour.response_model or (requested if isinstance(requested, str) else fallback)


def _text_for(request_json: dict[str, Any], behaviour: FakeBehaviour) -> str:
    chosen = behaviour.reply_for(request_json) if behaviour.reply_for is not None else None
    return chosen if chosen is not None else behaviour.reply_text


def _messages(flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour) -> _Built:
    model = _model_for(request_json, behaviour, bodies.ANTHROPIC_MODELS[0])
    text, call = _text_for(request_json, behaviour), behaviour.tool_call_for_request(request_json)
    if call is not None:
        if request_json.get("stream"):
            return 200, tools.anthropic_tool_stream(model, text, call, behaviour.usage, "toolu_fake01"), True
        return (
            200,
            _json(tools.anthropic_tool_message(model, text, call, behaviour.usage, "toolu_fake01"), behaviour),
            False,
        )
    thinking = isinstance(request_json.get("thinking"), dict) and request_json["thinking"].get("type") != "disabled"
    if request_json.get("stream"):
        events = bodies.anthropic_stream(model, text, behaviour.usage, thinking=thinking)
        return 200, _with_garbage(events, behaviour), True
    message = bodies.anthropic_message(model, text, behaviour.usage, thinking=thinking)
    return 200, _json(message, behaviour), False


def _count_tokens(flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour) -> _Built:
    return 200, _json({"input_tokens": behaviour.usage.input_tokens}, behaviour), False


def _responses(flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour) -> _Built:
    model = _model_for(request_json, behaviour, bodies.OPENAI_MODELS[0])
    text, call = _text_for(request_json, behaviour), behaviour.tool_call_for_request(request_json)
    if call is not None:
        if request_json.get("stream"):
            return 200, tools.response_tool_stream(model, text, call, behaviour.usage, "call_fake01"), True
        return 200, _json(tools.response_with_tool(model, text, call, behaviour.usage, "call_fake01"), behaviour), False
    if request_json.get("stream"):
        events = bodies.openai_response_stream(model, text, behaviour.usage)
        return 200, _with_garbage(events, behaviour), True
    return 200, _json(bodies.openai_response(model, text, behaviour.usage), behaviour), False


def _chat_completions(flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour) -> _Built:
    model = _model_for(request_json, behaviour, bodies.OPENAI_MODELS[0])
    text, call = _text_for(request_json, behaviour), behaviour.tool_call_for_request(request_json)
    options = request_json.get("stream_options") or {}
    if call is not None:
        if request_json.get("stream"):
            include_usage = bool(options.get("include_usage"))
            stream = tools.chat_tool_stream(
                model, text, call, behaviour.usage, "call_fake01", include_usage=include_usage
            )
            return 200, stream, True
        return (
            200,
            _json(tools.chat_tool_completion(model, text, call, behaviour.usage, "call_fake01"), behaviour),
            False,
        )
    if request_json.get("stream"):
        events = bodies.chat_completion_stream(
            model,
            text,
            behaviour.usage,
            include_usage=bool(options.get("include_usage")),
            usage_on_last_content_chunk=behaviour.usage_on_last_content_chunk,
        )
        return 200, _with_garbage(events, behaviour), True
    return 200, _json(bodies.chat_completion(model, text, behaviour.usage), behaviour), False


def _models(flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour) -> _Built:
    if flavour == "anthropic":
        listing = bodies.anthropic_models(behaviour.anthropic_models, behaviour.anthropic_display_names)
        return 200, _json(listing, behaviour), False
    return 200, _json(bodies.openai_models(behaviour.openai_models), behaviour), False


def _model_by_id(flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour) -> _Built:
    model_id = route[len("/v1/models/") :]
    known = behaviour.anthropic_models if flavour == "anthropic" else behaviour.openai_models
    if model_id not in known:
        return 404, [error_body(flavour, 404, f"model: {model_id}")], False
    document = (
        bodies.anthropic_model(model_id, behaviour.anthropic_display_names.get(model_id))
        if flavour == "anthropic"
        else bodies.openai_model(model_id)
    )
    return 200, _json(document, behaviour), False


Responder = Callable[[str, str, dict[str, Any], FakeBehaviour], _Built]
_ROUTES: MappingProxyType[tuple[str, str], Responder] = MappingProxyType(
    {
        ("POST", "/v1/messages"): _messages,
        ("POST", "/v1/messages/count_tokens"): _count_tokens,
        ("POST", "/v1/responses"): _responses,
        ("POST", "/v1/chat/completions"): _chat_completions,
        ("GET", "/v1/models"): _models,
    }
)


def _with_garbage(events: list[bytes], behaviour: FakeBehaviour) -> list[bytes]:
    if not behaviour.malformed_sse:
        return events
    return events[:1] + list(bodies.MALFORMED_SSE_EVENTS) + events[1:]


def _encode(pieces: list[bytes], coding: str | None) -> list[bytes]:
    """Compress as a stream, flushed after every piece, so SSE stays incremental when compressed."""
    if not coding:
        return pieces
    if coding in ("gzip", "deflate"):
        compressor = zlib.compressobj(wbits=31 if coding == "gzip" else zlib.MAX_WBITS)
        encoded = [compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH) for piece in pieces]
        return [*encoded, compressor.flush()]
    if coding == "br":
        brotli_compressor = brotli.Compressor()
        encoded = [brotli_compressor.process(piece) + brotli_compressor.flush() for piece in pieces]
        return [*encoded, brotli_compressor.finish()]
    if coding == "zstd":
        zstd_compressor = zstandard.ZstdCompressor().compressobj()
        flush_block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        encoded = [zstd_compressor.compress(piece) + zstd_compressor.flush(flush_block) for piece in pieces]
        return [*encoded, zstd_compressor.flush()]
    raise ValueError(f"the fake upstream cannot encode {coding!r}")


def _rechunk(pieces: list[bytes], size: int | None) -> list[bytes]:
    if size is None:
        return [piece for piece in pieces if piece]
    whole = b"".join(pieces)
    return [whole[start : start + size] for start in range(0, len(whole), size)]


async def send_body(
    request: web.Request,
    recorded: RecordedRequest,
    pieces: list[bytes],
    streaming: bool,
    headers: CIMultiDict[str],
    behaviour: FakeBehaviour,
) -> web.StreamResponse:
    chunks = _rechunk(_encode(pieces, behaviour.content_encoding), behaviour.chunk_size)
    response = web.StreamResponse(status=200, headers=headers)
    if streaming:
        response.content_type = "text/event-stream"
        response.charset = "utf-8"
        response.headers["cache-control"] = "no-cache"
        response.enable_chunked_encoding()
    else:
        response.content_type = "application/json"
        response.content_length = sum(len(chunk) for chunk in chunks)
    if behaviour.content_encoding:
        response.headers["content-encoding"] = behaviour.content_encoding
    try:
        await response.prepare(request)
        sent = 0
        for index, chunk in enumerate(chunks):
            if index and behaviour.chunk_delay:
                await asyncio.sleep(behaviour.chunk_delay)
            if not index and behaviour.first_chunk_delay:
                await asyncio.sleep(behaviour.first_chunk_delay)  # the head is already out (StreamResponse)
            if behaviour.drop_after_bytes is not None and sent + len(chunk) >= behaviour.drop_after_bytes:
                await response.write(chunk[: behaviour.drop_after_bytes - sent])
                _drop_connection(request)
                return response
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        return response  # the client went away; recorded.completed stays False
    recorded.completed = True
    return response


def _drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()  # close() flushes what was written, then ends the TCP connection


def find_responder(method: str, route: str) -> Responder | None:
    responder = _ROUTES.get((method, route))
    if responder is None and method == "GET" and route.startswith("/v1/models/"):
        return _model_by_id
    return responder
