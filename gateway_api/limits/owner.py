"""The counter owner of `gateway serve --workers N` without Redis: one store for every worker of the machine.

The `gateway serve` parent runs it in a thread (it is otherwise idle, supervising its workers) on a Unix socket
in the data directory (0600); each worker connects once and sends newline-delimited JSON. Admission, counts,
reads, concurrency slots and the sign-in throttles all run on one event loop against one LocalStore, so every
worker sees every other worker's calls at once: the limits are exact across workers, as with one process.

Chosen by measurement (README, Limits, "Several workers on one machine"): a shared SQLite file with a lock answers an uncontended
admission in ~8 us but blocks the worker's event loop, and under contention SQLite's busy handler sleeps whole
milliseconds (p99 80-140 us, worst cases 100-600 ms with 2-4 writers); the owner costs one socket round trip
(40-60 us of a worker's CPU, bench/admission.py) that never blocks its event loop and has no lock to wait on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from gateway_api.limits.admission import ask_from_wire, increment_from_wire, window_from_wire
from gateway_api.limits.local_store import LocalStore
from gateway_api.security.throttle import FailureThrottle

log = logging.getLogger("gateway.limits")

SOCKET_NAME = "limits.sock"
MAX_SOCKET_PATH = 100  # a Unix socket path must fit in 108 bytes
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
Handler = Callable[[dict[str, Any]], dict[str, Any] | None]


def socket_path(data_dir: Path) -> Path:
    """The socket in the data directory, or in a private temporary directory when that path is too long."""
    path = data_dir / SOCKET_NAME
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    return Path(tempfile.mkdtemp(prefix="gateway-limits-")) / SOCKET_NAME


class CounterOwner:
    """Answers the workers' messages; a reply only to the ones that ask for something (see owner_client.py)."""

    def __init__(self) -> None:
        self.store = LocalStore()
        self._seeded = False
        self._throttles: dict[str, FailureThrottle] = {}
        self._handlers: dict[str, Handler] = {
            "admit": self._admit,
            "add": self._add,
            "read": self._read,
            "held": self._held,
            "release": self._release,
            "renew": self._renew,
            "claim_seeding": self._claim_seeding,
            "throttle": self._throttle,
        }

    def handle(self, message: dict[str, Any]) -> dict[str, Any] | None:
        return self._handlers[message["op"]](message)

    def _admit(self, message: dict[str, Any]) -> dict[str, Any]:
        refused = self.store.admit(ask_from_wire(message["ask"]), time.time())
        return {"ok": True} if refused is None else {"refused": [refused.check, refused.reading]}

    def _add(self, message: dict[str, Any]) -> None:
        self.store.add((increment_from_wire(i) for i in message["incs"]), time.time())

    def _read(self, message: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        readings = []
        for subject, wire in message["specs"]:
            window = window_from_wire(wire)
            assert window is not None
            readings.append(self.store.read(subject, window, now))
        return {"readings": readings}

    def _held(self, message: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        return {"held": [self.store.held(subject, now) for subject in message["subjects"]]}

    def _release(self, message: dict[str, Any]) -> None:
        self.store.release(message["lease"], message["subjects"])

    def _renew(self, message: dict[str, Any]) -> None:
        self.store.renew(((lease, tuple(subjects)) for lease, subjects in message["leases"]), message["until"])

    def _claim_seeding(self, _message: dict[str, Any]) -> dict[str, Any]:
        claimed, self._seeded = not self._seeded, True
        return {"claimed": claimed}

    def _throttle(self, message: dict[str, Any]) -> dict[str, Any]:
        name = message["name"]
        throttle = self._throttles.get(name)
        if throttle is None:
            throttle = self._throttles[name] = FailureThrottle(int(message["max"]), float(message["window"]))
        client = message["client"]
        match message["action"]:
            case "fail":
                throttle.record_failure(client)
            case "reset":
                throttle.reset(client)
        return {"wait": throttle.retry_after(client)}

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    reply = self.handle(orjson.loads(line))
                except Exception:  # a bad message costs its own answer, never the owner
                    log.exception("counter owner: bad message")
                    reply = {"error": "bad message"}
                if reply is not None:
                    writer.write(orjson.dumps(reply) + b"\n")
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()


class OwnerThread:
    """The owner's event loop in a daemon thread of the `gateway serve` parent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.owner = CounterOwner()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="gateway-counter-owner", daemon=True)

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a previous run's socket
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the counter owner did not start")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        server = loop.run_until_complete(
            asyncio.start_unix_server(self.owner.serve_connection, str(self.path), limit=MAX_MESSAGE_BYTES)
        )
        os.chmod(self.path, 0o600)  # only this account's processes may count
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.close()
