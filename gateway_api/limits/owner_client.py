"""A worker's side of the counter owner (owner.py): the shared store the limiter uses, and the shared sign-in
throttle.

One connection per worker, newline-delimited JSON. Messages that ask for something are answered in the order
they were sent, so a queue of futures matches replies to questions; counts, releases and renewals are sent
without an answer. Any failure (no socket, a lost connection, no answer in time) raises OwnerUnavailable, and the
limiter fails closed: a worker that cannot count must not let calls through uncounted.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson

from gateway_api.core.settings import Settings
from gateway_api.limits.admission import Ask, Refused, ask_to_wire, increment_to_wire, window_to_wire
from gateway_api.limits.counters import Increment, Reading
from gateway_api.limits.owner import MAX_MESSAGE_BYTES
from gateway_api.limits.windows import Window
from gateway_api.security.throttle import FailureThrottle

log = logging.getLogger("gateway.limits")


class OwnerUnavailable(Exception):
    """The counter owner cannot be reached."""


class OwnerStore:
    fails_closed = True
    name = "the counter owner"

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: deque[asyncio.Future[dict[str, Any]]] = deque()
        self._connecting: asyncio.Lock | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        writer = self._writer or await self._connect()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        writer.write(orjson.dumps(message) + b"\n")
        try:
            async with asyncio.timeout(self._timeout):
                return await future
        except TimeoutError:
            self._drop("no answer in time")
            raise OwnerUnavailable("the counter owner did not answer in time") from None

    async def _tell(self, message: dict[str, Any]) -> None:
        writer = self._writer or await self._connect()
        writer.write(orjson.dumps(message) + b"\n")

    async def _connect(self) -> asyncio.StreamWriter:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is not None:
                return self._writer
            try:
                async with asyncio.timeout(self._timeout):
                    reader, writer = await asyncio.open_unix_connection(self._path, limit=MAX_MESSAGE_BYTES)
            except (OSError, TimeoutError) as exc:
                raise OwnerUnavailable(f"cannot reach the counter owner ({type(exc).__name__})") from None
            self._writer = writer
            self._reader_task = asyncio.get_running_loop().create_task(self._read_replies(reader))
            return writer

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                if self._waiting:
                    future = self._waiting.popleft()
                    if not future.done():
                        future.set_result(orjson.loads(line))
        except (OSError, ValueError, asyncio.LimitOverrunError):
            pass
        self._drop("connection lost")

    def _drop(self, why: str) -> None:
        """Forget the connection: every question in flight fails, the next one reconnects."""
        if self._writer is not None:
            log.warning("counter owner: %s", why)
            self._writer.close()
            self._writer = None
        waiting, self._waiting = self._waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(OwnerUnavailable(f"counter owner: {why}"))

    # --- the shared store ------------------------------------------------------------------------------------

    async def admit(self, ask: Ask, now: float) -> Refused | None:
        reply = await self._ask({"op": "admit", "ask": ask_to_wire(ask)})
        refused = reply.get("refused")
        if refused is None:
            return None
        return Refused(int(refused[0]), [(int(b), float(v)) for b, v in refused[1]])

    async def add(self, increments: Iterable[tuple[Increment, int]]) -> None:
        await self._tell({"op": "add", "incs": [increment_to_wire(i) for i, _ttl in increments]})

    async def read(self, specs: list[tuple[str, Window]], now: float) -> list[Reading]:
        reply = await self._ask({"op": "read", "specs": [[s, window_to_wire(w)] for s, w in specs]})
        return [[(int(b), float(v)) for b, v in reading] for reading in reply["readings"]]

    async def held(self, subjects: list[str], now: float) -> list[int]:
        return [int(n) for n in (await self._ask({"op": "held", "subjects": subjects}))["held"]]

    async def release(self, lease: str, subjects: Iterable[str]) -> None:
        await self._tell({"op": "release", "lease": lease, "subjects": list(subjects)})

    async def renew(self, leases: Iterable[tuple[str, tuple[str, ...]]], until: float) -> None:
        await self._tell({"op": "renew", "leases": [[lease, list(s)] for lease, s in leases], "until": until})

    async def claim_seeding(self) -> bool:
        return bool((await self._ask({"op": "claim_seeding"}))["claimed"])

    async def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()


class SharedThrottle(FailureThrottle):
    """A FailureThrottle kept by the counter owner, so failures on any worker count on every worker.

    Its callers are synchronous (sign-in runs in FastAPI's thread pool), so this is a short blocking exchange on a
    connection per thread. If the owner cannot be reached, this worker's own throttle answers (logged)."""

    def __init__(self, path: str, name: str, max_failures: int, window_seconds: float, timeout: float) -> None:
        super().__init__(max_failures, window_seconds)
        self._path = path
        self._name = name
        self._timeout = timeout
        self._local = threading.local()

    def retry_after(self, client: str) -> float:
        return self._exchange("check", client, super().retry_after)

    def record_failure(self, client: str) -> None:
        super().record_failure(client)  # the fallback's own count, in case the owner goes away
        self._exchange("fail", client, lambda _client: 0.0)

    def reset(self, client: str) -> None:
        super().reset(client)
        self._exchange("reset", client, lambda _client: 0.0)

    def _exchange(self, action: str, client: str, fallback: Any) -> float:
        message = {
            "op": "throttle",
            "name": self._name,
            "max": self._max_failures,
            "window": self._window,
            "action": action,
            "client": client,
        }
        try:
            connection = self._connection()
            connection.sendall(orjson.dumps(message) + b"\n")
            return float(orjson.loads(_read_line(connection))["wait"])
        except (OSError, ValueError, KeyError) as exc:
            self._local.connection = None
            log.warning(
                "sign-in throttle: counter owner unavailable (%s); this worker counts alone", type(exc).__name__
            )
            return float(fallback(client))

    def _connection(self) -> socket.socket:
        connection: socket.socket | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            connection.settimeout(self._timeout)
            connection.connect(self._path)
            self._local.connection = connection
        return connection


def _read_line(connection: socket.socket) -> bytes:
    chunks = []
    while True:
        chunk = connection.recv(4096)
        if not chunk:
            raise ConnectionError("counter owner closed the connection")
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


def failure_throttle(settings: Settings, name: str) -> FailureThrottle:
    """Failures per client address (sign-in, key guessing): kept by the counter owner when `gateway serve --workers
    N` runs one, so they count on every worker; else in this process."""
    if settings.limits_socket and not settings.redis_url:
        return SharedThrottle(
            settings.limits_socket,
            name,
            settings.login_max_failures,
            settings.login_failure_window_seconds,
            settings.limits_redis_timeout_seconds,
        )
    return FailureThrottle(settings.login_max_failures, settings.login_failure_window_seconds)
