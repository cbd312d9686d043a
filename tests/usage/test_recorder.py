"""The recorder with the batch writer: a refused row costs only itself, settled rows are acknowledged in order (the
spool's truncation depends on it), and an unreachable database keeps every row queued."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Engine

from gateway_api.db.engine import make_engine
from gateway_api.usage.recorder import UsageRecorder
from tests.support.usage_rows import make_usage_row


def test_a_refused_row_is_dead_lettered_and_every_row_acknowledged(engine: Engine) -> None:
    acknowledged: list[int] = []
    recorder = UsageRecorder(engine, flush_interval=1.0, on_settled=acknowledged.append)
    for call_id in ("a", "b", "a", "c"):  # the second "a" is refused by the unique call id
        recorder.record(make_usage_row(call_id=call_id))

    assert asyncio.run(recorder.flush()) is True

    assert (recorder.written, recorder.dead_letters, recorder.pending, sum(acknowledged)) == (3, 1, 0, 4)
    assert recorder.failing_seconds() == 0.0


def test_an_unreachable_database_keeps_the_rows_and_acknowledges_none(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'gateway.db'}")
    acknowledged: list[int] = []
    recorder = UsageRecorder(engine, flush_interval=1.0, on_settled=acknowledged.append)
    try:
        recorder.record(make_usage_row(call_id="x", input_tokens=10**12))  # corrected as it is queued
        assert asyncio.run(recorder.flush()) is False
    finally:
        engine.dispose()

    assert (recorder.pending, recorder.dead_letters, acknowledged, recorder.write_failures) == (1, 0, [], 1)
    assert recorder.failing_seconds() > 0 and recorder.last_error == "OperationalError"
    assert recorder.corrected_values == 1
