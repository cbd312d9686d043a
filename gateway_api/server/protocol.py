"""uvicorn's httptools protocol, with a response head and the body part that follows it sent in one system call,
and every connection timed in each phase (connection_limits.py).

uvicorn writes a response head as soon as the app sends `http.response.start` and each body part as it comes,
one `write` each. On loopback and on VMs a socket write is the most expensive step of a proxied call (it runs
the peer's TCP receive path and wakes it; bench/README.md has the figures). Here a write is held back until the
next one, which then leaves together with it in one `writev`; a write that no other follows in the same event-loop
turn is flushed at the start of the next turn (`call_soon`), so nothing waits longer than that. `close()` flushes first; `abort()` drops what is held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway_api.core.settings import load_settings
from gateway_api.server.connection_limits import ConnectionPolicy, Phase, evict_one

log = logging.getLogger("gateway.server")
_POLICY_ATTRIBUTE = "gateway_connection_policy"


class WriteCombiningTransport:
    """Wraps the server's transport for one connection; everything but writing is passed through."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._held = None
        if not self._transport.is_closing():
            self._transport.writelines((held, data))

    def writelines(self, lines: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        held = self._held
        if held is None:
            return
        self._held = None
        if not self._transport.is_closing():  # else the connection is gone: there is no one to write to
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def __getattr__(self, name: str) -> Any:
        # get_extra_info, pause_reading, resume_reading, set_protocol, ...: the real transport's own.
        return getattr(self._transport, name)


class CombinedWritesHttpProtocol(HttpToolsProtocol):
    """`gateway serve`'s HTTP protocol: uvicorn's httptools implementation over a WriteCombiningTransport, with a
    deadline per phase (head, body pause, keep-alive idle) and eviction of idle connections near the open-file
    limit. One timer per connection checks the deadline when it fires, so a request moving through its phases
    costs a few attribute stores, not timer churn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._policy = _policy_of(self.server_state)
        # uvicorn's own timer closes a connection idle after a response (armed per response anyway): it gets the
        # policy's keep-alive timeout, so that phase costs this class nothing.
        self.timeout_keep_alive = self._policy.keepalive_timeout  # type: ignore[assignment]  # uvicorn types it int
        self.phase = Phase.IDLE
        self.phase_since = self.loop.time()
        self._deadline: float | None = None  # of the current phase (BODY: counted from the last body bytes)
        self._body_seen_at = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows it too
        # Not a Transport subclass on purpose: Transport's own methods would bypass the pass-through __getattr__.
        super().connection_made(WriteCombiningTransport(transport, self.loop))  # type: ignore[arg-type]  # duck-typed
        self._enter(Phase.IDLE, self._policy.header_timeout)
        if len(self.connections) > self._policy.max_connections and not evict_one(self.connections, self):
            log.warning("open connections at the limit (%d), all busy: refusing one", self._policy.max_connections)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self.phase, self._deadline = Phase.BUSY, None  # the connection now belongs to the websocket protocol
        super().handle_websocket_upgrade()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._enter(Phase.HEAD, self._policy.header_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._body_seen_at = self._enter(Phase.BODY, self._policy.body_timeout)

    def on_body(self, body: bytes) -> None:
        self._body_seen_at = self.loop.time()
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Busy: no deadline (an armed timer finds none and lapses); eviction skips it, so no time is needed.
        self.phase, self._deadline = Phase.BUSY, None

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # uvicorn starts the next pipelined request in the call below
        super().on_response_complete()  # arms uvicorn's keep-alive timer (with the policy's timeout) when idle
        if not pipelined and self.phase is Phase.BUSY:  # else a pipelined request goes on, or its body is arriving
            self.phase, self.phase_since = Phase.IDLE, self.loop.time()

    def evict(self) -> None:
        log.info("closing a %s connection to make room near the open-file limit", self.phase.value)
        self.transport.close()

    def _enter(self, phase: Phase, timeout: float) -> float:
        """Start a phase with a deadline; returns the time it started."""
        now = self.loop.time()
        self.phase, self.phase_since = phase, now
        self._deadline = deadline = now + timeout
        timer = self._timer
        if timer is None:
            self._timer = self.loop.call_at(deadline, self._on_timer)
        elif timer.when() > deadline:  # armed for a later phase's deadline: too late for this one
            timer.cancel()
            self._timer = self.loop.call_at(deadline, self._on_timer)
        return now

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self.transport.is_closing():
            return  # busy: the next phase arms the timer again
        if self.phase is Phase.BODY:
            if self.flow.read_paused:  # the app is not reading the body yet: the client is not slow
                self._body_seen_at = self.loop.time()
            deadline = self._body_seen_at + self._policy.body_timeout
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._on_timer)
            return
        log.info("closing a connection that timed out in its %s phase", self.phase.value)
        self.transport.close()


def _policy_of(server_state: Any) -> ConnectionPolicy:
    """One policy per server (uvicorn's ServerState is shared by its connections), read from the settings once."""
    policy: ConnectionPolicy | None = getattr(server_state, _POLICY_ATTRIBUTE, None)
    if policy is None:
        policy = ConnectionPolicy.from_settings(load_settings())
        setattr(server_state, _POLICY_ATTRIBUTE, policy)
    return policy
