"""`gateway usage replay FILE`: a spool brought from another machine is written once, then deleted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import Session, select

from gateway_api.db.engine import make_engine
from gateway_api.db.models import Outcome, UsageRecord
from tests.cli.test_cli import cli_env, invoke  # noqa: F401 - the fixture, used by name
from tests.support.usage_rows import make_usage_row
from tests.usage.test_spool import write_orphan


def stored(database_url: str) -> list[UsageRecord]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(UsageRecord).order_by(UsageRecord.call_id)))  # type: ignore[arg-type]
    finally:
        engine.dispose()


@pytest.mark.usefixtures("cli_env")
def test_a_spool_from_another_machine_is_replayed_once(tmp_path: Path, database_url: str) -> None:
    elsewhere = tmp_path / "other-machine" / "usage-spool"
    finished = [make_usage_row(call_id=f"remote-{n}", input_tokens=7) for n in range(3)]
    interrupted = make_usage_row(call_id="remote-cut", outcome=Outcome.gateway_error, usage_estimated=True)
    write_orphan(elsewhere, finished=finished, started=[interrupted])
    [spool] = elsewhere.glob("spool-*.jsonl")
    copy = tmp_path / "copied" / spool.name
    copy.parent.mkdir()
    shutil.copy(spool, copy)

    code, out, err = invoke("usage", "replay", str(spool))
    assert (code, err) == (0, "")
    assert "4 usage rows written (1 of calls a crash interrupted), 0 already stored" in out
    assert not spool.exists()

    code, out, _ = invoke("usage", "replay", str(copy))  # the same rows again: nothing written twice
    assert code == 0 and "0 usage rows written" in out and "4 already stored" in out

    rows = stored(database_url)
    assert [row.call_id for row in rows] == ["remote-0", "remote-1", "remote-2", "remote-cut"]
    assert rows[-1].usage_estimated and rows[-1].outcome == Outcome.gateway_error


@pytest.mark.usefixtures("cli_env")
def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = invoke("usage", "replay", str(tmp_path / "nope.jsonl"))
    assert code != 0 and "no such file" in err
