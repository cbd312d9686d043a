"""The usage ledger: the calls that end in one event-loop turn become rows together at the end of that turn, a
shutdown's settle-then-flush never leaves one behind, and one bad call costs only its own row."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import find_user
from gateway_api.app import build_services, usage_sink
from gateway_api.catalog.snapshot import KeyEntry, ModelEntry, ProviderEntry
from gateway_api.core.settings import Settings
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Outcome, Scope, UsageRecord
from gateway_api.limits.rules import LimitKind, key_subject
from gateway_api.metrics.registry import GatewayMetrics
from gateway_api.proxy.accounting.ledger import CallTrace, UsageLedger
from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.services import AppServices
from tests.conftest import ADMIN_EMAIL

REPLY = b'{"type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":12,"output_tokens":3}}'
SONNET = ModelEntry(
    id=1,
    name="claude-sonnet-4-5",
    display_name="Claude Sonnet 4.5",
    active=True,
    provider=ProviderEntry(id=1, name="anthropic", kind="anthropic", base_url="http://127.0.0.1:9", credential="k"),
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
    price_input=3.0,
    price_output=15.0,
    price_cache_read=None,
    price_cache_write=None,
)


async def admin_key(services: AppServices) -> KeyEntry:
    def issue() -> KeyEntry:
        with session_scope(services.engine) as session:
            user = find_user(session, ADMIN_EMAIL)
            assert user is not None and user.id is not None
            key, _ = issue_key(session, services.key_pepper, user, {Scope.llm}, expires_at=None)
            assert key.id is not None
            return KeyEntry(id=key.id, user_id=user.id, prefix=key.prefix, scopes=frozenset({"llm"}), expires_at=None)

    return await asyncio.to_thread(issue)


def ended_call(key: KeyEntry, loop: asyncio.AbstractEventLoop) -> tuple[CallTrace, UsageScanner, float]:
    trace = CallTrace(provider="anthropic", endpoint="messages", key=key, model=SONNET, started=loop.time())
    trace.status_code = 200
    scanner = UsageScanner("anthropic", streaming=False)
    scanner.feed(REPLY)
    return trace, scanner, loop.time()


def written_rows(services: AppServices) -> list[UsageRecord]:
    with Session(services.engine) as session:
        return list(session.exec(select(UsageRecord)))


def run_with_services(settings: Settings, scenario: Callable[[AppServices], Awaitable[None]]) -> None:
    async def main() -> None:
        services = await build_services(settings, GatewayMetrics())
        try:
            await scenario(services)
        finally:
            services.engine.dispose()

    asyncio.run(main())


def test_calls_ending_in_one_turn_are_recorded_together_at_its_end(settings: Settings) -> None:
    async def scenario(services: AppServices) -> None:
        ledger, loop, key = UsageLedger(usage_sink(services)), asyncio.get_running_loop(), await admin_key(services)

        for _ in range(3):
            ledger.add(*ended_call(key, loop))
        assert services.recorder.pending == 0  # still this turn: nothing built yet

        await asyncio.sleep(0)
        assert services.recorder.pending == 3
        ledger.add(*ended_call(key, loop))
        await asyncio.sleep(0)
        assert services.recorder.pending == 4
        subject = key_subject(key.id)
        used = (await services.limits.used([subject]))[subject]
        assert (used[LimitKind.input_tokens], used[LimitKind.output_tokens]) == (48, 12)  # requests count at admission

        assert await services.recorder.flush()
        rows = written_rows(services)
        assert len(rows) == 4
        assert {(row.input_tokens, row.output_tokens, row.outcome) for row in rows} == {(12, 3, Outcome.ok)}
        assert rows[0].cost_usd == pytest.approx((12 * 3.0 + 3 * 15.0) / 1e6)

    run_with_services(settings, scenario)


def test_settling_then_flushing_in_the_current_turn_writes_its_calls_once(settings: Settings) -> None:
    async def scenario(services: AppServices) -> None:
        ledger, loop, key = UsageLedger(usage_sink(services)), asyncio.get_running_loop(), await admin_key(services)

        ledger.add(*ended_call(key, loop))
        ledger.add(*ended_call(key, loop))
        ledger.settle()  # as shutdown does, in the same turn the calls ended in
        assert await services.recorder.flush()

        assert len(written_rows(services)) == 2
        await asyncio.sleep(0)  # the turn's own settling finds nothing left: no row twice
        assert services.recorder.pending == 0

    run_with_services(settings, scenario)


def test_one_broken_call_costs_only_its_own_row(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(services: AppServices) -> None:
        ledger, loop, key = UsageLedger(usage_sink(services)), asyncio.get_running_loop(), await admin_key(services)
        broken, scanner, finished = ended_call(key, loop)
        broken.client = None  # type: ignore[assignment] - a bug upstream of the row builder

        ledger.add(*ended_call(key, loop))
        ledger.add(broken, scanner, finished)
        ledger.add(*ended_call(key, loop))
        with caplog.at_level(logging.ERROR, logger="gateway.proxy"):
            ledger.settle()

        assert services.recorder.pending == 2
        proxy_errors = [record.message for record in caplog.records if record.name == "gateway.proxy"]
        assert proxy_errors == ["could not build the usage row"]

    run_with_services(settings, scenario)
