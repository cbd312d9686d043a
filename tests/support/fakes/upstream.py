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
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Self

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.support.fakes.behaviour import FakeBehaviour, RecordedRequest
from tests.support.fakes.responders import error_body, find_responder, send_body, split_flavour

__all__ = ["FakeBehaviour", "FakeUpstream", "RecordedRequest"]

ECHOED_REQUEST_ID_HEADERS = ("request-id", "x-request-id")
ANTHROPIC_RATE_LIMIT_HEADERS = MappingProxyType(
    {
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-tokens-limit": "2000000",
        "anthropic-ratelimit-tokens-remaining": "1999000",
    }
)
OPENAI_RATE_LIMIT_HEADERS = MappingProxyType(
    {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-tokens": "29999000",
    }
)


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
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), name="fake-upstream", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure or self._port is None:
            raise RuntimeError("fake upstream failed to start") from (failure[0] if failure else None)

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
                    raise AssertionError(f"expected {count} upstream requests, got {len(self._requests)}")
                self._requests_changed.wait(remaining)
            return list(self._requests)

    def wait_until(self, condition: Callable[[list[RecordedRequest]], bool], timeout: float = 5.0) -> None:
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
        flavour, route = split_flavour(recorded.path, recorded.headers)
        headers = self._common_headers(flavour, recorded.headers, behaviour)
        if behaviour.headers_delay:
            await asyncio.sleep(behaviour.headers_delay)
        build = find_responder(recorded.method, route)
        if build is None:
            body = error_body(flavour, 404, f"no route {recorded.method} {recorded.path}")
            return web.Response(status=404, body=body, headers=headers, content_type="application/json")
        if behaviour.error_status is not None and self._should_fail(behaviour):
            headers.update(behaviour.error_headers)
            body = behaviour.error_body or error_body(flavour, behaviour.error_status, "fake upstream error")
            # A test may set the content type itself (a hostile reply labelled as a stream, say).
            content_type = None if "content-type" in headers else "application/json"
            return web.Response(status=behaviour.error_status, body=body, headers=headers, content_type=content_type)
        try:
            request_json = orjson.loads(recorded.body) if recorded.body else {}
        except orjson.JSONDecodeError:
            body = error_body(flavour, 400, "body is not JSON")
            return web.Response(status=400, body=body, headers=headers, content_type="application/json")
        status, payload, streaming = build(flavour, route, request_json, behaviour)
        if status != 200:
            return web.Response(status=status, body=payload[0], headers=headers, content_type="application/json")
        return await send_body(request, recorded, payload, streaming, headers, behaviour)

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
