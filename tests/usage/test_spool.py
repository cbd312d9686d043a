"""The usage spool on a real disk: durable within 0.2 s, private files, rotation that keeps calls in flight,
deleted when the database has everything, replayed exactly once by whoever finds it orphaned."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.db.models import Outcome, UsageRecord
from gateway_api.usage.batch_writes import BatchWriter
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.spool import UsageSpool
from gateway_api.usage.spool_format import HEADER
from gateway_api.usage.spool_replay import replay_orphans
from tests.support.usage_rows import make_usage_row


def spool_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("spool-*.jsonl"))


def spooled_text(directory: Path) -> str:
    return "".join(path.read_text() for path in spool_files(directory))


def stored(engine: Engine) -> list[UsageRecord]:
    with Session(engine) as session:
        return list(session.exec(select(UsageRecord).order_by(UsageRecord.call_id)))  # type: ignore[arg-type]


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data" / "usage-spool"


def test_a_finished_row_is_on_disk_within_200_ms_in_private_files(directory: Path) -> None:
    async def scenario() -> float:
        spool = UsageSpool(directory)
        spool.open()
        syncing = asyncio.create_task(spool.run())
        await asyncio.sleep(0.05)
        spool.finished(make_usage_row(call_id="call-durable"))
        appended = time.monotonic()
        while "call-durable" not in spooled_text(directory):
            await asyncio.sleep(0.005)
        durable_after = time.monotonic() - appended
        syncing.cancel()
        await spool.close()
        return durable_after

    assert asyncio.run(scenario()) < 0.2
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_files_are_0600_and_kept_until_the_database_has_every_row(directory: Path) -> None:
    async def scenario() -> None:
        spool = UsageSpool(directory)
        spool.open()
        [path] = spool_files(directory)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        spool.finished(make_usage_row(call_id="one"))
        spool.finished(make_usage_row(call_id="two"))
        spool.acknowledge(1)
        await spool.close()  # one row is not in the database: the file stays
        assert path.exists() and '"two"' in path.read_text()

        again = UsageSpool(directory)
        again.open()
        again.finished(make_usage_row(call_id="three"))
        again.acknowledge(1)
        await again.close()  # everything written: its file goes
        assert spool_files(directory) == [path]

    asyncio.run(scenario())


def test_a_full_file_is_sealed_carrying_calls_in_flight_and_deleted_once_acknowledged(directory: Path) -> None:
    async def scenario() -> None:
        spool = UsageSpool(directory, rotate_bytes=2048)
        spool.open()
        spool.started(make_usage_row(call_id="long-stream", outcome=Outcome.gateway_error))
        for n in range(20):
            spool.finished(make_usage_row(call_id=f"short-{n}"))
        await spool.sync()  # past 2 KiB: sealed, a second file begun
        _sealed, second = spool_files(directory)
        assert '"long-stream"' in second.read_text() and second.read_text().startswith(HEADER.decode())
        spool.acknowledge(20)
        await spool.sync()
        assert spool_files(directory) == [second]  # the sealed file's rows are all in the database
        spool.finished(make_usage_row(call_id="long-stream"))
        spool.acknowledge(1)
        await spool.close()
        assert spool_files(directory) == []

    asyncio.run(scenario())


def write_orphan(directory: Path, finished: list[UsageRow], started: list[UsageRow]) -> None:
    """A spool as a process killed with -9 leaves it: synced, never closed (its lock goes with the process)."""

    async def scenario() -> None:
        spool = UsageSpool(directory)
        spool.open()
        for row in started:
            spool.started(row)
        for row in finished:
            spool.finished(row)
        await spool.sync()
        for path in spool_files(directory):
            if spool.owns(path):
                os.close(spool._current.fd)  # type: ignore[union-attr]  # the kernel drops the lock, as at a crash

    asyncio.run(scenario())


def test_an_orphaned_spool_is_replayed_exactly_once_with_crash_rows(engine: Engine, directory: Path) -> None:
    crashed = make_usage_row(call_id="in-flight", outcome=Outcome.gateway_error, input_tokens=40, usage_estimated=True)
    done = [make_usage_row(call_id=f"done-{n}", input_tokens=10) for n in range(5)]
    started_and_done = make_usage_row(call_id="done-0", outcome=Outcome.gateway_error, usage_estimated=True)
    BatchWriter(engine).settle(done[:2])  # written before the crash: replay must not write them twice
    write_orphan(directory, finished=done, started=[crashed, started_and_done])

    def owns_nothing(_path: Path) -> bool:
        return False

    first = replay_orphans(directory, owns_nothing, BatchWriter(engine))
    second = replay_orphans(directory, owns_nothing, BatchWriter(engine))

    assert (first.written, first.skipped, first.crashed, first.files) == (4, 2, 1, 1)
    assert (second.written, second.files) == (0, 0)
    assert spool_files(directory) == []
    rows = {row.call_id: row for row in stored(engine)}
    assert sorted(rows) == ["done-0", "done-1", "done-2", "done-3", "done-4", "in-flight"]
    assert (rows["in-flight"].outcome, rows["in-flight"].usage_estimated, rows["in-flight"].input_tokens) == (
        Outcome.gateway_error,
        True,
        40,
    )
    assert rows["done-0"].outcome == Outcome.ok


def test_a_live_processs_spool_is_never_replayed(engine: Engine, directory: Path) -> None:
    async def scenario() -> None:
        live = UsageSpool(directory)
        live.open()
        live.finished(make_usage_row(call_id="live-row"))
        await live.sync()
        # Another process (or this one, for another app) scanning: the file is locked by its live owner.
        replayed = await asyncio.to_thread(replay_orphans, directory, lambda _path: False, BatchWriter(engine))
        assert replayed.files == 0 and stored(engine) == []
        live.acknowledge(1)
        await live.close()

    asyncio.run(scenario())


def test_a_truncated_last_line_costs_only_that_line(engine: Engine, directory: Path) -> None:
    write_orphan(directory, finished=[make_usage_row(call_id="whole")], started=[])
    [path] = spool_files(directory)
    with path.open("ab") as file:
        file.write(b'["f","2026-12-03T10:00:00+00:00",1,1,"anthr')  # the crash cut this write short

    replayed = replay_orphans(directory, lambda _path: False, BatchWriter(engine))

    assert replayed.written == 1 and [row.call_id for row in stored(engine)] == ["whole"]


def test_a_data_directory_that_cannot_be_written_leaves_the_gateway_serving_without_a_spool(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")

    async def scenario() -> UsageSpool:
        spool = UsageSpool(blocked / "usage-spool")
        spool.open()
        spool.started(make_usage_row(call_id="a"))
        spool.finished(make_usage_row(call_id="a"))
        await spool.sync()
        await spool.close()
        return spool

    spool = asyncio.run(scenario())
    assert not spool.available and spool.unacknowledged == 0
    assert any("no usage spool" in record.getMessage() for record in caplog.records)
