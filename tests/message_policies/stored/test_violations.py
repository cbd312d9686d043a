"""The violation recorder: queued on the loop, sealed and inserted in batches, kept while the database refuses,
bounded, flushed at close; old violations pruned with the call log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from gateway_api.calllog.retention import prune
from gateway_api.calllog.sealing import BodySealer
from gateway_api.db.models import MessagePolicyViolation
from gateway_api.message_policies.rules import PolicyAction, PolicyScope, Violation
from gateway_api.message_policies.stored import violations as violations_module
from gateway_api.message_policies.stored.violations import ViolationRecorder, violation_sealer

SECRET_KEY = "violations-test-secret-key"


def violation(content: str, policy_id: int = 1) -> Violation:
    return Violation(
        policy_id=policy_id,
        policy_name=f"p{policy_id}",
        scope=PolicyScope.tool_results,
        action=PolicyAction.monitor,
        explanation="x" * 2000,
        content=content,
    )


def stored(engine: Engine) -> list[MessagePolicyViolation]:
    with Session(engine) as session:
        return list(session.exec(select(MessagePolicyViolation).order_by(col(MessagePolicyViolation.id))))


def test_violations_are_sealed_and_written_in_batches(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(violations_module, "MAX_BATCH", 3)
    sealer = violation_sealer(SECRET_KEY)
    recorder = ViolationRecorder(engine, sealer, 0.01)
    recorder.record([violation(f"secret {i} AKIA", policy_id=i) for i in range(7)], 5, 9, "call-1")
    recorder.record([], 5, 9, "call-2")
    assert recorder.pending == 7
    assert asyncio.run(recorder.flush()) is True
    assert (recorder.pending, recorder.written) == (0, 7)
    rows = stored(engine)
    assert [r.policy_id for r in rows] == list(range(7))
    assert {(r.user_id, r.api_key_id, r.call_id, r.scope, r.action) for r in rows} == {
        (5, 9, "call-1", "tool_results", "monitor")
    }
    assert len(rows[0].explanation) == 1000, "explanations are cut to the column"
    assert b"AKIA" not in rows[0].content_sealed
    assert sealer.open(rows[0].content_sealed) == b"secret 0 AKIA"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        BodySealer(SECRET_KEY).open(rows[0].content_sealed)  # the call log's key does not open violations


def test_a_refused_batch_stays_queued_and_close_flushes(engine: Engine) -> None:
    recorder = ViolationRecorder(engine, violation_sealer(SECRET_KEY), 0.01)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE messagepolicyviolation RENAME TO mpv_away"))
    recorder.record([violation("a"), violation("b")], None, None, None)
    assert asyncio.run(recorder.flush()) is False
    assert (recorder.pending, recorder.write_failures) == (2, 1)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE mpv_away RENAME TO messagepolicyviolation"))
    asyncio.run(recorder.close(5.0))
    assert [r.call_id for r in stored(engine)] == [None, None] and recorder.pending == 0


def test_the_queue_is_bounded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(violations_module, "MAX_QUEUED_BYTES", 10_000)
    recorder = ViolationRecorder(engine, violation_sealer(SECRET_KEY), 0.01)
    recorder.record([violation("y" * 3000) for _ in range(5)], 1, 1, "c")
    assert (recorder.pending, recorder.dropped) == (1, 4), "each holds its content and its 2000-char explanation"


def test_old_violations_are_pruned_with_the_call_log(engine: Engine) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with Session(engine) as session:
        for age_days, count in ((120, 5), (10, 2)):
            for i in range(count):
                session.add(
                    MessagePolicyViolation(
                        created_at=now - timedelta(days=age_days, minutes=i),
                        policy_id=1,
                        policy_name="p",
                        scope="user_messages",
                        action="block",
                        content_sealed=b"x",
                        call_id=f"{age_days}-{i}",
                    )
                )
        session.commit()
    assert prune(engine, retention_days=90, holder="replica-a", now=now, batch=2) == 5
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(MessagePolicyViolation)).one() == 2
