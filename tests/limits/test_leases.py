"""Concurrency slots held in a shared store (the counter owner, Redis) are leases: a process that dies without
giving its slots back loses them after the lease, a process still running renews them, and a worker that cannot
reach the counter owner fails closed. A reservation made in the shared store is seen by every process and
settles there to the call's real figures."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_api.core.settings import Settings
from gateway_api.db.engine import make_engine
from gateway_api.limits.limiter import Exceeded, Limiter, LimitsUnavailable
from gateway_api.limits.owner import OwnerThread
from gateway_api.limits.reservations import Expected, Ticket
from gateway_api.limits.rules import NO_LIMITS, LimitKind, LimitValues, effective_rules
from tests.limits.conftest import REDIS_URL, GatewayFactory
from tests.proxy.conftest import ALICE
from tests.support.usage_rows import make_usage_row

LEASE = 3.0
ONE_AT_A_TIME = effective_rules(LimitValues(max_concurrent_calls=1), 7, False, NO_LIMITS)


@pytest.fixture(params=["owner", pytest.param("redis", marks=pytest.mark.skipif(not REDIS_URL, reason="no Redis"))])
def shared_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings of processes that share their counters through the counter owner, or through Redis."""
    base = Settings(data_dir=tmp_path, concurrency_lease_seconds=LEASE, limits_redis_timeout_seconds=5)
    if request.param == "redis":
        yield base.model_copy(
            update={"redis_url": REDIS_URL, "limits_redis_prefix": f"gateway-test:{uuid.uuid4().hex[:12]}:"}
        )
        return
    running = OwnerThread(tmp_path / "limits.sock")
    running.start()
    try:
        yield base.model_copy(update={"limits_socket": str(running.path)})
    finally:
        running.stop()


def limiter(settings: Settings) -> Limiter:
    return Limiter(settings, make_engine(f"sqlite:///{settings.data_dir / 'limits.db'}"))


def test_the_slots_of_a_process_that_died_come_back_after_the_lease(shared_settings: Settings) -> None:
    async def die_holding_a_slot() -> None:
        assert isinstance(await limiter(shared_settings).admit(ONE_AT_A_TIME, 7), Ticket)
        # no end(), no close(): the process is gone, its renewals with it

    asyncio.run(die_holding_a_slot())

    async def other_process() -> None:
        other = limiter(shared_settings)
        refused = await other.admit(ONE_AT_A_TIME, 7)
        assert isinstance(refused, Exceeded) and refused.message.startswith("limit of 1 concurrent calls reached")
        await asyncio.sleep(LEASE + 0.5)
        ticket = await other.admit(ONE_AT_A_TIME, 7)
        assert isinstance(ticket, Ticket)
        other.end(ticket)
        await other.close()

    asyncio.run(other_process())


def test_a_long_call_keeps_its_slot_past_the_lease(shared_settings: Settings) -> None:
    async def scenario() -> None:
        holder, other = limiter(shared_settings), limiter(shared_settings)
        ticket = await holder.admit(ONE_AT_A_TIME, 7)
        assert isinstance(ticket, Ticket)
        await asyncio.sleep(LEASE * 1.5)  # renewed every third of a lease meanwhile
        assert isinstance(await other.admit(ONE_AT_A_TIME, 7), Exceeded)
        holder.end(ticket)
        await asyncio.sleep(0.2)
        assert isinstance(await other.admit(ONE_AT_A_TIME, 7), Ticket)
        await holder.close()
        await other.close()

    asyncio.run(scenario())


def test_a_worker_that_cannot_reach_the_counter_owner_fails_closed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, limits_socket=str(tmp_path / "nobody-listens.sock"))

    async def scenario() -> None:
        with pytest.raises(LimitsUnavailable):
            await limiter(settings).admit(ONE_AT_A_TIME, 7)

    asyncio.run(scenario())


def test_the_proxy_answers_503_in_the_providers_envelope_without_its_counters(
    start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gateway = start_gateway(default_requests_per_minute=100, limits_socket=str(tmp_path / "nobody-listens.sock"))
    _, secret = gateway.new_key(ALICE)

    anthropic = gateway.anthropic_call(secret)
    openai = gateway.openai_call(secret)

    assert anthropic.status_code == 503 and anthropic.json()["type"] == "error"
    assert "cannot reach its limit counters" in anthropic.json()["error"]["message"]
    assert openai.status_code == 503 and "cannot reach its limit counters" in openai.json()["error"]["message"]
    assert gateway.env.fake.requests == []  # nothing went upstream uncounted


def test_a_reservation_counts_until_the_calls_row_settles_it_to_the_real_figures(shared_settings: Settings) -> None:
    quota = effective_rules(LimitValues(input_token_quota=10**6, daily_budget_usd=100.0), 7, False, NO_LIMITS)

    async def scenario() -> None:
        counting, other = limiter(shared_settings), limiter(shared_settings)
        ticket = await counting.admit(quota, 7, 70, Expected(500, 100, 0.01), "call-1")
        assert isinstance(ticket, Ticket)
        for subject in ("u7", "k70"):  # every process sees the call in flight, for its user and its key
            used = (await other.used([subject]))[subject]
            assert (used[LimitKind.input_tokens], used[LimitKind.output_tokens]) == (500, 100)
            assert used[LimitKind.daily_spend] == pytest.approx(0.01)

        counting.count(
            make_usage_row(
                user_id=7, api_key_id=70, input_tokens=120, output_tokens=30, cost_usd=0.002, call_id="call-1"
            )
        )
        assert await counting.flush()

        used = (await other.used(["u7"]))["u7"]
        assert (used[LimitKind.input_tokens], used[LimitKind.output_tokens]) == (120, 30)
        assert used[LimitKind.daily_spend] == pytest.approx(0.002)
        await counting.close()
        await other.close()

    asyncio.run(scenario())
