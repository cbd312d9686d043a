"""What one admission asks of a counter store, atomically: every check passes, then every addition is made and
every concurrency slot taken; or nothing changes and the first failing check says why.

The same `Ask` is answered in this process (local_store.py), by the counter owner of `gateway serve --workers N`
(owner.py, over a Unix socket) and by one Redis script (redis_admission.py), so all three agree on the rules:
a limit refuses once the use counted in its window (finished calls plus the reservations of calls in flight)
has reached it, and a concurrency limit once that many slots are held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway_api.limits.counters import Increment, Reading
from gateway_api.limits.windows import DailyWindow, MonthlyWindow, RollingWindow, Window


@dataclass(frozen=True, slots=True)
class Check:
    """Refuse when the use of `subject` in `window` (or, with no window, its slots held) has reached `limit`."""

    subject: str
    window: Window | None
    limit: float


@dataclass(frozen=True, slots=True)
class Ask:
    checks: tuple[Check, ...]
    adds: tuple[Increment, ...]  # the request's count and its reservation, made only when every check passes
    slots: tuple[str, ...]  # subjects whose concurrency slot this call takes, under `lease`
    lease: str
    lease_until: float  # wall-clock time the slots come back unless renewed


@dataclass(frozen=True, slots=True)
class Refused:
    """The first check that failed (its index in `Ask.checks`) and the reading it failed on (for the wait)."""

    check: int
    reading: Reading


# --- the wire form the counter owner understands (JSON-ready) ----------------------------------------------------


def window_to_wire(window: Window | None) -> list[Any] | None:
    match window:
        case None:
            return None
        case RollingWindow(metric, length, width):
            return ["r", metric, length, width]
        case DailyWindow():
            return ["d", window.metric]
        case MonthlyWindow():
            return ["m", window.metric]


def window_from_wire(wire: list[Any] | None) -> Window | None:
    if wire is None:
        return None
    if wire[0] == "r":
        return RollingWindow(str(wire[1]), int(wire[2]), int(wire[3]))
    return DailyWindow(str(wire[1])) if wire[0] == "d" else MonthlyWindow(str(wire[1]))


def increment_to_wire(increment: Increment) -> list[Any]:
    return [increment.subject, window_to_wire(increment.window), increment.bucket, increment.amount]


def increment_from_wire(wire: list[Any]) -> Increment:
    window = window_from_wire(wire[1])
    assert window is not None
    return Increment(str(wire[0]), window, int(wire[2]), float(wire[3]))


def ask_to_wire(ask: Ask) -> dict[str, Any]:
    return {
        "checks": [[c.subject, window_to_wire(c.window), c.limit] for c in ask.checks],
        "adds": [increment_to_wire(i) for i in ask.adds],
        "slots": list(ask.slots),
        "lease": ask.lease,
        "until": ask.lease_until,
    }


def ask_from_wire(wire: dict[str, Any]) -> Ask:
    return Ask(
        checks=tuple(Check(str(s), window_from_wire(w), float(limit)) for s, w, limit in wire["checks"]),
        adds=tuple(increment_from_wire(i) for i in wire["adds"]),
        slots=tuple(str(s) for s in wire["slots"]),
        lease=str(wire["lease"]),
        lease_until=float(wire["until"]),
    )
