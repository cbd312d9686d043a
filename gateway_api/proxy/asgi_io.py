"""Small raw-ASGI helpers for the proxy: read a bounded body, read headers, notice a client leaving."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from gateway_api.server.asgi import Message, Receive, Scope


class BodyTooLarge(Exception):
    """The request body is larger than the configured limit."""


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def header_value(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return cast(bytes, value).decode("latin-1")
    return None


def accepts_encoding(accept_encoding: str | None, coding: str) -> bool:
    """Whether an Accept-Encoding value lists `coding` (or `*`) with a non-zero quality."""
    if not accept_encoding:
        return False
    coding = coding.strip().lower()
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name not in (coding, "*"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class DisconnectWatch:
    """Cancels `task` when the client disconnects while the response is still being relayed.

    uvicorn's `send` silently drops data for a gone client, so without this a long upstream stream would run
    (and be paid for) to its end. `stop()` must be called before the last body message: after it, uvicorn
    reports the finished response as a disconnect too.

    Listening costs a task per call, which shows at full load, so it starts only once the call has run for
    `delay` seconds: a call answered sooner never pays for it, and a client that leaves is noticed at most
    `delay` late (uvicorn remembers the disconnect, so the late listener hears it at once).
    """

    __slots__ = ("_active", "_receive", "_start_timer", "_task", "_waiter", "fired")

    def __init__(self, receive: Receive, task: asyncio.Task[Any], delay: float) -> None:
        self.fired = False
        self._task = task
        self._receive = receive
        self._active = True
        self._waiter: asyncio.Future[Message] | None = None
        self._start_timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(delay, self._listen)

    def _listen(self) -> None:
        self._start_timer = None
        if self._active:
            self._waiter = asyncio.ensure_future(self._receive())
            self._waiter.add_done_callback(self._on_message)

    def _on_message(self, waiter: asyncio.Future[Message]) -> None:
        if not self._active or waiter.cancelled() or waiter.exception() is not None:
            return
        if waiter.result().get("type") == "http.disconnect":
            self.fired = True
            self._active = False
            self._task.cancel()

    def stop(self) -> None:
        self._active = False
        if self._start_timer is not None:
            self._start_timer.cancel()
            self._start_timer = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()
