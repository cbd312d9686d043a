"""The counter store of one process: the bucket counters and the concurrency slots, answered without an await.

Under `make run` and `gateway serve --workers 1` (no Redis) this is the store; under `gateway serve --workers N`
without Redis the counter owner runs one for all workers (owner.py); with Redis each process keeps one as its
fallback while Redis is away.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway_api.limits.admission import Ask, Refused
from gateway_api.limits.counters import Increment, LocalCounters, Reading
from gateway_api.limits.windows import Window


class LocalStore:
    def __init__(self) -> None:
        self.counters = LocalCounters()
        self._slots: dict[str, dict[str, float]] = {}  # subject -> lease -> wall-clock expiry

    def admit(self, ask: Ask, now: float) -> Refused | None:
        """Check everything, then add everything: atomic because nothing here awaits."""
        counters = self.counters
        for index, check in enumerate(ask.checks):
            if check.window is None:
                if self.held(check.subject, now) >= check.limit:
                    return Refused(index, [])
                continue
            reading = counters.read(check.subject, check.window, now)
            if sum(value for _, value in reading) >= check.limit:
                return Refused(index, reading)
        self.add(ask.adds, now)
        for subject in ask.slots:
            self._slots.setdefault(subject, {})[ask.lease] = ask.lease_until
        return None

    def add(self, increments: Iterable[Increment], now: float) -> None:
        for increment in increments:
            self.counters.add(increment, now)

    def read(self, subject: str, window: Window, now: float) -> Reading:
        return self.counters.read(subject, window, now)

    def held(self, subject: str, now: float) -> int:
        """Slots of `subject` in use; expired leases (a crashed worker's) are dropped here."""
        leases = self._slots.get(subject)
        if not leases:
            return 0
        expired = [lease for lease, until in leases.items() if until <= now]
        for lease in expired:
            del leases[lease]
        return len(leases)

    def release(self, lease: str, subjects: Iterable[str]) -> None:
        for subject in subjects:
            leases = self._slots.get(subject)
            if leases is not None:
                leases.pop(lease, None)
                if not leases:
                    del self._slots[subject]

    def renew(self, leases: Iterable[tuple[str, tuple[str, ...]]], until: float) -> None:
        for lease, subjects in leases:
            for subject in subjects:
                held = self._slots.get(subject)
                if held is not None and lease in held:
                    held[lease] = until
