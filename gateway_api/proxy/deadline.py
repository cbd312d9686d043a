"""The first-byte and idle limits of one upstream exchange, as one timer that moves lazily.

asyncio.timeout() cancels and re-arms a loop timer on every reschedule; the relay moves its deadline twice per
chunk (paused while the client is written to: a slow client is not an idle upstream), which cost a few µs per chunk
and two timeout objects per call (bench/README.md, issue 16). Here moving the deadline is an attribute write: the
one timer, when it fires, looks at where the deadline is now and either ends the exchange or waits again.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self


class UpstreamDeadline:
    """Cancels `task` once the upstream is late: past `first_byte_at` before `resume()` is first called, then more
    than `idle_timeout` seconds after the last `resume()`; never between `pause()` and `resume()`.

    Used as `with deadline:` around the awaits it bounds, it turns its own cancellation into TimeoutError, as
    asyncio.timeout() does; any other cancellation (the client left, the server shuts down) passes through.
    `close()` stops the timer."""

    __slots__ = ("_armed_at", "_cancelling", "_handle", "_idle_timeout", "_loop", "_task", "_when", "expired")

    def __init__(self, task: asyncio.Task[Any], first_byte_at: float, idle_timeout: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = task
        self._idle_timeout = idle_timeout
        self._cancelling = task.cancelling()
        self._when: float | None = first_byte_at
        self._armed_at = first_byte_at
        self._handle: asyncio.TimerHandle | None = self._loop.call_at(first_byte_at, self._on_timer)
        self.expired = False

    def pause(self) -> None:
        self._when = None

    def resume(self) -> None:
        """The upstream has until `idle_timeout` from now."""
        when = self._when = self._loop.time() + self._idle_timeout
        if when < self._armed_at and self._handle is not None:
            self._arm(when)  # an idle limit shorter than what is left of the first-byte limit

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._handle = None
        when, now = self._when, self._loop.time()
        if when is None:
            self._arm(now + self._idle_timeout)  # paused: resume() will move the deadline past this
        elif when > now:
            self._arm(when)
        else:
            self.expired = True
            self._task.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is asyncio.CancelledError and self.expired and self._task.uncancel() <= self._cancelling:
            self.expired = False  # taken back once
            raise TimeoutError from error
