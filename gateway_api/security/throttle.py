"""Slow down guessing: count failures per client address in a sliding window."""

from __future__ import annotations

import time
from collections import deque


class FailureThrottle:
    def __init__(self, max_failures: int, window_seconds: float, max_tracked: int = 100_000) -> None:
        self._max_failures = max_failures
        self._window = window_seconds
        self._max_tracked = max_tracked
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again; 0 when it is not blocked."""
        failures = self._failures.get(client)
        if not failures:
            return 0.0
        now = time.monotonic()
        while failures and now - failures[0] > self._window:
            failures.popleft()
        if len(failures) < self._max_failures:
            return 0.0
        return max(0.0, self._window - (now - failures[0]))

    def record_failure(self, client: str) -> None:
        if len(self._failures) >= self._max_tracked and client not in self._failures:
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque()).append(time.monotonic())

    def reset(self, client: str) -> None:
        self._failures.pop(client, None)
