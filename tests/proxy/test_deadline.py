"""UpstreamDeadline on a real event loop: the first-byte limit, then the idle limit from each resume(), nothing
while paused, its own cancellation turned into TimeoutError and any other passed through."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gateway_api.proxy.deadline import UpstreamDeadline


def _run(body: Callable[[asyncio.Task[None], asyncio.AbstractEventLoop], Awaitable[None]]) -> None:
    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        await body(task, asyncio.get_running_loop())

    asyncio.run(main())


def test_the_first_byte_limit_ends_a_wait_with_timeout_error() -> None:
    async def body(task: asyncio.Task[None], loop: asyncio.AbstractEventLoop) -> None:
        deadline = UpstreamDeadline(task, loop.time() + 0.05, 60)
        with pytest.raises(TimeoutError), deadline:
            await asyncio.sleep(30)
        assert task.cancelling() == 0, "its cancellation is taken back"
        await asyncio.sleep(0)  # the task runs on normally

    _run(body)


def test_each_resume_gives_the_upstream_the_idle_limit_again() -> None:
    async def body(task: asyncio.Task[None], loop: asyncio.AbstractEventLoop) -> None:
        deadline = UpstreamDeadline(task, loop.time() + 0.5, 0.5)
        with deadline:
            for _ in range(20):  # 1 s in all, past both limits, never 0.5 s without a resume
                await asyncio.sleep(0.05)
                deadline.resume()
        started = loop.time()
        with pytest.raises(TimeoutError), deadline:
            await asyncio.sleep(30)
        assert loop.time() - started < 10
        deadline.close()

    _run(body)


def test_nothing_ends_while_paused() -> None:
    async def body(task: asyncio.Task[None], loop: asyncio.AbstractEventLoop) -> None:
        deadline = UpstreamDeadline(task, loop.time() + 0.05, 0.05)
        with deadline:
            deadline.pause()  # a slow client being written to
            await asyncio.sleep(0.4)
            deadline.resume()
        with pytest.raises(TimeoutError), deadline:
            await asyncio.sleep(30)

    _run(body)


def test_an_idle_limit_shorter_than_the_first_byte_limit_applies_from_the_first_resume() -> None:
    async def body(task: asyncio.Task[None], loop: asyncio.AbstractEventLoop) -> None:
        deadline = UpstreamDeadline(task, loop.time() + 60, 0.05)
        deadline.resume()
        started = loop.time()
        with pytest.raises(TimeoutError), deadline:
            await asyncio.sleep(30)
        assert loop.time() - started < 30, "the 60 s first-byte limit did not decide"

    _run(body)


def test_another_cancellation_passes_through_and_close_stops_the_timer() -> None:
    async def body(task: asyncio.Task[None], loop: asyncio.AbstractEventLoop) -> None:
        deadline = UpstreamDeadline(task, loop.time() + 60, 60)
        loop.call_later(0.05, task.cancel)  # the client left, or the server shuts down
        with pytest.raises(asyncio.CancelledError), deadline:
            await asyncio.sleep(30)
        task.uncancel()
        deadline.close()

        closed = UpstreamDeadline(task, loop.time() + 0.05, 0.05)
        closed.close()
        with closed:
            await asyncio.sleep(0.2)
        assert not closed.expired

    _run(body)
