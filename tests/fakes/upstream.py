"""A fake Anthropic + OpenAI upstream: real HTTP on a loopback port, in a background thread.

It runs its own event loop, so sync tests, SDK clients, subprocess clients and async tests can all
talk to it. Every request is recorded; per-test `FakeBehaviour` switches on errors, delays, odd
chunking, compression, dropped connections and malformed SSE.

Routes (each also under the `/anthropic` and `/openai` prefixes, see the `*_base_url` properties):
  POST /v1/messages, /v1/messages/count_tokens            Anthropic
  POST /v1/responses, /v1/chat/completions                OpenAI
  GET  /v1/models, /v1/models/{id}                        format by prefix, else by anthropic-version
Anything else answers 404 in the provider's envelope (and is recorded, so tests can assert that
nothing unexpected reached the upstream).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import brotli
import orjson
import zstandard
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fakes import provider_bodies as bodies
from tests.fakes.provider_bodies import FakeUsage

ECHOED_REQUEST_ID_HEADERS = ("request-id", "x-request-id")
ANTHROPIC_RATE_LIMIT_HEADERS = {
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3999",
    "anthropic-ratelimit-tokens-limit": "2000000",
    "anthropic-ratelimit-tokens-remaining": "1999000",
}
OPENAI_RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-tokens": "29999000",
}


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str  # raw (still percent-encoded) path, without the query
    query_string: str  # raw, exactly as received
    headers: CIMultiDictProxy[str]
    body: bytes
    completed: bool = False  # the whole response was written (False: error, drop or client gone)

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(slots=True)
class FakeBehaviour:
    usage: FakeUsage = field(default_factory=FakeUsage)
    reply_text: str = "Hello from the fake upstream, one word at a time."
    response_model: str | None = None  # model reported back (default: the requested one)
    anthropic_models: list[str] = field(default_factory=lambda: list(bodies.ANTHROPIC_MODELS))
    openai_models: list[str] = field(default_factory=lambda: list(bodies.OPENAI_MODELS))
    error_status: int | None = None  # answer inference and model calls with this status
    error_body: bytes | None = None  # default: the provider's envelope
    error_headers: dict[str, str] = field(default_factory=dict)  # e.g. retry-after
    error_count: int | None = None  # fail only the first N calls (None: all)
    extra_headers: dict[str, str] = field(default_factory=dict)
    headers_delay: float = 0.0  # seconds before the response head
    chunk_delay: float = 0.0  # seconds between body chunks
    chunk_size: int | None = None  # re-split the (encoded) body into pieces of this many bytes
    content_encoding: str | None = None  # gzip | deflate | br | zstd
    drop_after_bytes: int | None = None  # close the connection after this many body bytes
    malformed_sse: bool = False  # interleave garbage events (usage must still come out exact)
    pretty_json: bool = False  # indent non-streaming JSON bodies
    usage_on_last_content_chunk: bool = False  # chat completions streaming variant


class FakeUpstream:
    def __init__(self) -> None:
        self.behaviour = FakeBehaviour()
        self._requests: list[RecordedRequest] = []
        self._requests_changed = threading.Condition()
        self._failures_served = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="fake-upstream", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        if failure or self._port is None:
            raise RuntimeError("fake upstream failed to start") from (
                failure[0] if failure else None
            )

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown timeout: a test may leave a deliberately slow response hanging.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self._port = runner.addresses[0][1]
        except Exception as error:  # noqa: BLE001 - handed to start(), which re-raises it
            failure.append(error)
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # -- test-facing API ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def anthropic_base_url(self) -> str:
        return f"{self.url}/anthropic"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/openai"

    def reset(self) -> None:
        self.behaviour = FakeBehaviour()
        self._failures_served = 0
        with self._requests_changed:
            self._requests.clear()

    def configure(self, **changes: Any) -> FakeBehaviour:
        """Replace behaviour fields for the current test, e.g. configure(error_status=429)."""
        self.behaviour = dataclasses.replace(self.behaviour, **changes)
        return self.behaviour

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._requests_changed:
            return list(self._requests)

    def last_request(self) -> RecordedRequest:
        requests = self.requests
        if not requests:
            raise AssertionError("the fake upstream received no request")
        return requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        with self._requests_changed:
            while len(self._requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} upstream requests, got {len(self._requests)}"
                    )
                self._requests_changed.wait(remaining)
            return list(self._requests)

    def wait_until(
        self, condition: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0
    ) -> None:
        """Wait until `condition(requests)` holds, e.g. for a response to finish or be abandoned."""
        deadline = time.monotonic() + timeout
        while not condition(self.requests):
            if time.monotonic() > deadline:
                raise AssertionError("fake upstream condition not met in time")
            time.sleep(0.01)

    # -- serving -------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        behaviour = self.behaviour  # one consistent behaviour for the whole response
        recorded = RecordedRequest(
            method=request.method,
            path=request.rel_url.raw_path,
            query_string=request.rel_url.raw_query_string,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            body=await request.read(),
        )
        with self._requests_changed:
            self._requests.append(recorded)
            self._requests_changed.notify_all()
        flavour, route = _split_flavour(recorded.path, recorded.headers)
        headers = self._common_headers(flavour, recorded.headers, behaviour)
        if behaviour.headers_delay:
            await asyncio.sleep(behaviour.headers_delay)
        build = _ROUTES.get((recorded.method, route))
        if build is None and recorded.method == "GET" and route.startswith("/v1/models/"):
            build = _model_by_id
        if build is None:
            body = _error_body(flavour, 404, f"no route {recorded.method} {recorded.path}")
            return web.Response(
                status=404, body=body, headers=headers, content_type="application/json"
            )
        if behaviour.error_status is not None and self._should_fail(behaviour):
            headers.update(behaviour.error_headers)
            body = behaviour.error_body or _error_body(
                flavour, behaviour.error_status, "fake upstream error"
            )
            return web.Response(
                status=behaviour.error_status,
                body=body,
                headers=headers,
                content_type="application/json",
            )
        try:
            request_json = orjson.loads(recorded.body) if recorded.body else {}
        except orjson.JSONDecodeError:
            body = _error_body(flavour, 400, "body is not JSON")
            return web.Response(
                status=400, body=body, headers=headers, content_type="application/json"
            )
        status, payload, streaming = build(flavour, route, request_json, behaviour)
        if status != 200:
            return web.Response(
                status=status, body=payload[0], headers=headers, content_type="application/json"
            )
        return await _send(request, recorded, payload, streaming, headers, behaviour)

    def _should_fail(self, behaviour: FakeBehaviour) -> bool:
        if behaviour.error_count is None:
            return True
        if self._failures_served < behaviour.error_count:
            self._failures_served += 1
            return True
        return False

    @staticmethod
    def _common_headers(
        flavour: str, request_headers: CIMultiDictProxy[str], behaviour: FakeBehaviour
    ) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        if flavour == "anthropic":
            headers["request-id"] = f"req_{uuid.uuid4().hex[:24]}"
            headers.update(ANTHROPIC_RATE_LIMIT_HEADERS)
        else:
            headers["x-request-id"] = f"req_{uuid.uuid4().hex}"
            headers.update(OPENAI_RATE_LIMIT_HEADERS)
        for name in ECHOED_REQUEST_ID_HEADERS:
            if name in request_headers:
                headers[name] = request_headers[name]
        headers.update(behaviour.extra_headers)
        return headers


def _split_flavour(path: str, headers: CIMultiDictProxy[str]) -> tuple[str, str]:
    for flavour in ("anthropic", "openai"):
        prefix = f"/{flavour}"
        if path.startswith(prefix + "/"):
            return flavour, path[len(prefix) :]
    if path.startswith(("/v1/responses", "/v1/chat/")):
        return "openai", path
    if path.startswith("/v1/messages") or "anthropic-version" in headers:
        return "anthropic", path
    return "openai", path


def _error_body(flavour: str, status: int, message: str) -> bytes:
    envelope = (
        bodies.anthropic_error(status, message)
        if flavour == "anthropic"
        else bodies.openai_error(status, message)
    )
    return orjson.dumps(envelope)


# A route builder returns (status, body pieces, streaming).
_Built = tuple[int, list[bytes], bool]


def _json(document: dict[str, Any], behaviour: FakeBehaviour) -> list[bytes]:
    return [orjson.dumps(document, option=orjson.OPT_INDENT_2 if behaviour.pretty_json else 0)]


def _model_for(request_json: dict[str, Any], behaviour: FakeBehaviour, fallback: str) -> str:
    requested = request_json.get("model") if isinstance(request_json, dict) else None
    return behaviour.response_model or (requested if isinstance(requested, str) else fallback)


def _messages(
    flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour
) -> _Built:
    model = _model_for(request_json, behaviour, bodies.ANTHROPIC_MODELS[0])
    thinking = (
        isinstance(request_json.get("thinking"), dict)
        and request_json["thinking"].get("type") != "disabled"
    )
    if request_json.get("stream"):
        events = bodies.anthropic_stream(
            model, behaviour.reply_text, behaviour.usage, thinking=thinking
        )
        return 200, _with_garbage(events, behaviour), True
    message = bodies.anthropic_message(
        model, behaviour.reply_text, behaviour.usage, thinking=thinking
    )
    return 200, _json(message, behaviour), False


def _count_tokens(
    flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour
) -> _Built:
    return 200, _json({"input_tokens": behaviour.usage.input_tokens}, behaviour), False


def _responses(
    flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour
) -> _Built:
    model = _model_for(request_json, behaviour, bodies.OPENAI_MODELS[0])
    if request_json.get("stream"):
        events = bodies.openai_response_stream(model, behaviour.reply_text, behaviour.usage)
        return 200, _with_garbage(events, behaviour), True
    return (
        200,
        _json(bodies.openai_response(model, behaviour.reply_text, behaviour.usage), behaviour),
        False,
    )


def _chat_completions(
    flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour
) -> _Built:
    model = _model_for(request_json, behaviour, bodies.OPENAI_MODELS[0])
    if request_json.get("stream"):
        options = request_json.get("stream_options") or {}
        events = bodies.chat_completion_stream(
            model,
            behaviour.reply_text,
            behaviour.usage,
            include_usage=bool(options.get("include_usage")),
            usage_on_last_content_chunk=behaviour.usage_on_last_content_chunk,
        )
        return 200, _with_garbage(events, behaviour), True
    return (
        200,
        _json(bodies.chat_completion(model, behaviour.reply_text, behaviour.usage), behaviour),
        False,
    )


def _models(
    flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour
) -> _Built:
    if flavour == "anthropic":
        return 200, _json(bodies.anthropic_models(behaviour.anthropic_models), behaviour), False
    return 200, _json(bodies.openai_models(behaviour.openai_models), behaviour), False


def _model_by_id(
    flavour: str, route: str, request_json: dict[str, Any], behaviour: FakeBehaviour
) -> _Built:
    model_id = route[len("/v1/models/") :]
    known = behaviour.anthropic_models if flavour == "anthropic" else behaviour.openai_models
    if model_id not in known:
        return 404, [_error_body(flavour, 404, f"model: {model_id}")], False
    document = (
        bodies.anthropic_model(model_id)
        if flavour == "anthropic"
        else bodies.openai_model(model_id)
    )
    return 200, _json(document, behaviour), False


_ROUTES: dict[tuple[str, str], Callable[[str, str, dict[str, Any], FakeBehaviour], _Built]] = {
    ("POST", "/v1/messages"): _messages,
    ("POST", "/v1/messages/count_tokens"): _count_tokens,
    ("POST", "/v1/responses"): _responses,
    ("POST", "/v1/chat/completions"): _chat_completions,
    ("GET", "/v1/models"): _models,
}


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
        encoded = [
            compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH) for piece in pieces
        ]
        return [*encoded, compressor.flush()]
    if coding == "br":
        brotli_compressor = brotli.Compressor()
        encoded = [brotli_compressor.process(piece) + brotli_compressor.flush() for piece in pieces]
        return [*encoded, brotli_compressor.finish()]
    if coding == "zstd":
        zstd_compressor = zstandard.ZstdCompressor().compressobj()
        flush_block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        encoded = [
            zstd_compressor.compress(piece) + zstd_compressor.flush(flush_block) for piece in pieces
        ]
        return [*encoded, zstd_compressor.flush()]
    raise ValueError(f"the fake upstream cannot encode {coding!r}")


def _rechunk(pieces: list[bytes], size: int | None) -> list[bytes]:
    if size is None:
        return [piece for piece in pieces if piece]
    whole = b"".join(pieces)
    return [whole[start : start + size] for start in range(0, len(whole), size)]


async def _send(
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
            if (
                behaviour.drop_after_bytes is not None
                and sent + len(chunk) >= behaviour.drop_after_bytes
            ):
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
