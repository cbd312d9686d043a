"""Bounds on client connections for `gateway serve`: timeouts per connection phase and a file-descriptor reserve.

uvicorn times out nothing before a request's first response: a socket that never sends, or sends its head or body
a byte at a time, stays open forever, and at the common 1024 open-file limit 1,100 such sockets made `/healthz`
fail for everyone. So the process raises its soft open-file limit to the hard one at start, every connection is
timed in each phase (protocol.py), and once the open connections reach the limit minus a reserve, each new one
closes the longest-waiting connection that has not yet sent a whole request head: idle sockets cannot crowd out
a health check or a real call, and the reserve leaves descriptors for the database, upstream calls and logs.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from gateway_api.core.settings import Settings

log = logging.getLogger("gateway.server")

# Descriptors kept back from client connections: the database pool, upstream connections, log files, the loop.
MIN_RESERVED_DESCRIPTORS = 64
RESERVED_FRACTION = 8  # at least one eighth of the limit
# An unlimited hard limit is not a number setrlimit takes back as a soft one; this is plenty for one process.
UNLIMITED_CEILING = 1 << 20


class Phase(Enum):
    """Where a client connection is; only the first two may be evicted (nothing was asked of the gateway yet)."""

    IDLE = "idle"  # no byte of a request since the connection opened or the last response ended
    HEAD = "head"  # a request head is arriving
    BODY = "body"  # the head is complete, the body is arriving
    BUSY = "busy"  # the request is complete; the app is answering


EVICTABLE = frozenset({Phase.IDLE, Phase.HEAD})


@dataclass(frozen=True, slots=True)
class ConnectionPolicy:
    header_timeout: float  # GATEWAY_HTTP_HEADER_TIMEOUT: connect (or first byte) to a complete request head
    keepalive_timeout: float  # GATEWAY_HTTP_KEEPALIVE_TIMEOUT: idle between two requests
    body_timeout: float  # GATEWAY_HTTP_BODY_TIMEOUT: longest pause inside a request body
    max_connections: int  # the open-file soft limit minus the reserve

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionPolicy:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return cls(
            header_timeout=settings.http_header_timeout,
            keepalive_timeout=settings.http_keepalive_timeout,
            body_timeout=settings.http_body_timeout,
            max_connections=max(1, soft - reserved_descriptors(soft)),
        )


def reserved_descriptors(soft_limit: int) -> int:
    return max(MIN_RESERVED_DESCRIPTORS, soft_limit // RESERVED_FRACTION)


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one (capped when unlimited); returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # a container may forbid it; the reserve still applies
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
    log.info(
        "open-file limit %d; client connections beyond %d close idle ones", soft, soft - reserved_descriptors(soft)
    )
    return soft


class TimedConnection(Protocol):
    """What eviction needs of a connection (protocol.py's TimedHttpProtocol)."""

    phase: Phase
    phase_since: float

    def evict(self) -> None: ...


def evict_one(connections: Iterable[object], newcomer: object) -> bool:
    """Close the evictable connection waiting longest (not the newcomer); False when none is evictable."""
    oldest: TimedConnection | None = None
    for connection in connections:
        if connection is newcomer or getattr(connection, "phase", None) not in EVICTABLE:
            continue
        candidate: TimedConnection = connection  # type: ignore[assignment]  # has phase, so it is a TimedConnection
        if oldest is None or candidate.phase_since < oldest.phase_since:
            oldest = candidate
    if oldest is None:
        return False
    oldest.evict()
    return True
