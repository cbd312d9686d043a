"""The threaded batch writer: a flush writes everything queued in batches from a worker thread, keeps a refused
batch and those after it queued in order whatever the error; close retries until its deadline, then says what it
left unwritten."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from sqlalchemy.exc import OperationalError

from gateway_api.db.threaded_batches import ThreadedBatchWriter


class RecordingWriter(ThreadedBatchWriter[str]):
    """Writes into a list; the batch numbered `refuse_at` is refused once (with `error`)."""

    def __init__(self, max_batch: int, refuse_at: int | None = None, error: Exception | None = None) -> None:
        super().__init__(0.01, 1_000, max_batch, logging.getLogger("test"))
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()
        self._refuse_at = refuse_at
        self._error = error or OperationalError("INSERT", {}, Exception("database is locked"))

    def add(self, item: str) -> None:
        self._queue(item, len(item))

    def _write(self, batch: list[str]) -> None:
        self.threads.add(threading.get_ident())
        if self._refuse_at is not None and len(self.batches) == self._refuse_at:
            self._refuse_at = None
            raise self._error
        self.batches.append(batch)


def test_one_flush_writes_everything_queued_in_batches_from_a_worker_thread() -> None:
    writer = RecordingWriter(max_batch=2)
    for item in "abcde":
        writer.add(item)
    assert asyncio.run(writer.flush()) is True
    assert writer.batches == [["a", "b"], ["c", "d"], ["e"]]
    assert (writer.written, writer.pending, writer._queued_bytes) == (5, 0, 0)
    assert writer.threads and threading.get_ident() not in writer.threads


@pytest.mark.parametrize("error", [None, ValueError("a fault of the writer, not of the database")])
def test_a_refused_batch_and_those_after_it_stay_queued_in_order(error: Exception | None) -> None:
    writer = RecordingWriter(max_batch=2, refuse_at=1, error=error)
    for item in ["a", "b", "cc", "d", "e"]:
        writer.add(item)
    assert asyncio.run(writer.flush()) is False
    assert writer.batches == [["a", "b"]]
    assert (writer.written, writer.pending, writer.write_failures, writer._queued_bytes) == (2, 3, 1, 4)
    writer.add("f")
    assert asyncio.run(writer.flush()) is True
    assert writer.batches == [["a", "b"], ["cc", "d"], ["e", "f"]]
    assert (writer.written, writer.pending, writer._queued_bytes) == (6, 0, 0)


def test_close_retries_a_refused_batch_until_it_is_written() -> None:
    writer = RecordingWriter(max_batch=10, refuse_at=0)
    writer.add("a")
    asyncio.run(writer.close(5.0))
    assert writer.batches == [["a"]] and (writer.pending, writer.write_failures) == (0, 1)


def test_close_gives_up_at_its_deadline_and_says_what_it_left(caplog: pytest.LogCaptureFixture) -> None:
    class Refusing(RecordingWriter):
        def _write(self, batch: list[str]) -> None:
            raise OperationalError("INSERT", {}, Exception("unable to open database file"))

    writer = Refusing(max_batch=10)
    writer.add("a")
    with caplog.at_level(logging.ERROR, logger="test"):
        asyncio.run(writer.close(0.2))
    assert writer.pending == 1 and writer.write_failures >= 2
    assert "shutting down with 1 rows unwritten" in caplog.text
