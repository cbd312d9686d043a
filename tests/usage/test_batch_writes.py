"""A batch the database refuses is bisected: the refused rows become dead letters with the reason, every other row
and its rollup sums are written; an unreachable database dead-letters nothing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from gateway_api.db.engine import make_engine
from gateway_api.db.models import UsageDaily, UsageDeadLetter, UsageRecord
from gateway_api.usage.batch_writes import BatchWriter
from tests.support.usage_rows import make_usage_row


def stored(engine: Engine) -> tuple[list[str | None], int, list[UsageDeadLetter]]:
    with Session(engine) as session:
        ids = list(session.exec(select(UsageRecord.call_id).order_by(UsageRecord.call_id)).scalars())  # type: ignore[call-overload]
        rollup = session.exec(select(func.sum(UsageDaily.input_tokens))).scalar()  # type: ignore[call-overload]
        letters = list(session.exec(select(UsageDeadLetter).order_by(UsageDeadLetter.call_id)).scalars())  # type: ignore[call-overload]
    return ids, int(rollup or 0), letters


def test_refused_rows_are_isolated_and_every_other_row_is_written(engine: Engine) -> None:
    rows = [make_usage_row(call_id=f"call-{n:02}", input_tokens=10) for n in range(20)]
    rows[3].tokens.input_tokens = 2**70  # past any integer column (the validation would have clamped it)
    rows[15].call_id = "call-01"  # a call id already in the batch: the unique index refuses it

    settled = BatchWriter(engine).settle(rows)

    assert (settled.done, settled.dead, settled.error) == (20, 2, None)
    ids, rollup_input, letters = stored(engine)
    assert ids == [f"call-{n:02}" for n in range(20) if n not in (3, 15)]
    assert rollup_input == 18 * 10  # the rollups hold exactly the written rows
    assert [letter.call_id for letter in letters] == ["call-01", "call-03"]
    assert all(letter.reason for letter in letters)
    assert "[SQL" not in letters[0].reason and "parameters" not in letters[0].reason  # the database's words only
    assert json.loads(letters[1].row)["input_tokens"] == 2**70


def test_a_replay_skips_the_calls_already_stored(engine: Engine) -> None:
    writer = BatchWriter(engine)
    writer.settle([make_usage_row(call_id="a", input_tokens=1), make_usage_row(call_id="b", input_tokens=2)])

    again = [make_usage_row(call_id=name, input_tokens=5) for name in ("a", "b", "c", "c")]
    settled = writer.settle(again, skip_existing=True)

    assert (settled.done, settled.skipped, settled.dead) == (4, 3, 0)
    ids, rollup_input, letters = stored(engine)
    assert (ids, rollup_input, letters) == (["a", "b", "c"], 1 + 2 + 5, [])


def test_an_unreachable_database_dead_letters_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'gateway.db'}")  # its directory does not exist
    try:
        settled = BatchWriter(engine).settle([make_usage_row(call_id=f"c{n}") for n in range(4)])
    finally:
        engine.dispose()

    assert (settled.done, settled.dead) == (0, 0)
    assert settled.error is not None
