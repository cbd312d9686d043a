"""SIGTERM to a real `gateway serve` under streaming load: stop accepting, let streams finish within the grace
period, write every usage row, exit 0."""

from __future__ import annotations

import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from gateway_api.db.engine import make_engine
from gateway_api.db.models import Outcome, UsageRecord
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import ALICE, SONNET
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import ServedGateway, gateway_environment, serve_gateway

STREAMS = 8
USAGE = FakeUsage(input_tokens=21, output_tokens=8)
STREAM_END = b'data: {"type":"message_stop"}\n\n'


def alice_key(served: ServedGateway) -> str:
    admin = {"Authorization": f"Bearer {served.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    users = httpx.get(f"{served.url}/api/users", headers=admin, timeout=30).json()["data"]
    alice_id = next(u["id"] for u in users if u["email"] == ALICE)
    response = httpx.post(f"{served.url}/api/keys", headers=admin, json={"user_id": alice_id}, timeout=30)
    return response.json()["secret"]


def stream_one(served: ServedGateway, key: str) -> tuple[int, bytes]:
    """Status and every byte received; a connection cut mid-stream ends the bytes where it was cut."""
    body = {"model": SONNET, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    received = b""
    with httpx.stream(
        "POST", f"{served.anthropic_url}/v1/messages", headers={"x-api-key": key}, json=body, timeout=120
    ) as response:
        try:
            for chunk in response.iter_raw():
                received += chunk
        except httpx.HTTPError:
            pass
        return response.status_code, received


def start_streams(served: ServedGateway, fake: FakeUpstream, pool: ThreadPoolExecutor) -> list[Future]:
    key = alice_key(served)
    futures = [pool.submit(stream_one, served, key) for _ in range(STREAMS)]
    fake.wait_for_requests(STREAMS, timeout=60)  # every stream is in flight now
    return futures


def refused_before_exit(served: ServedGateway) -> bool:
    """Whether new connections are refused while the process still runs (it stopped accepting)."""
    while served.process.poll() is None:
        try:
            httpx.get(f"{served.url}/healthz", timeout=5)
        except httpx.ConnectError:
            return True
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    return False


def usage_rows(database_url: str) -> list[UsageRecord]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(UsageRecord)).all())
    finally:
        engine.dispose()


def test_sigterm_lets_every_stream_finish_and_loses_no_usage(
    database_url: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    fake_upstream.configure(usage=USAGE, chunk_delay=0.15)  # ~18 events: a few seconds per stream
    env = gateway_environment(tmp_path / "data", database_url, fake_upstream, shutdown_grace_seconds="120")
    served = serve_gateway(env, tmp_path / "gateway.log")
    with ThreadPoolExecutor(max_workers=STREAMS) as pool:
        futures = start_streams(served, fake_upstream, pool)
        served.process.send_signal(signal.SIGTERM)
        assert refused_before_exit(served), "the gateway kept accepting connections after SIGTERM"
        results = [future.result() for future in futures]

    assert served.terminate() == 0, served.log_text()[-3000:]
    assert [status for status, _ in results] == [200] * STREAMS
    assert all(body.endswith(STREAM_END) for _, body in results), "a stream was cut short"
    rows = usage_rows(database_url)
    assert len(rows) == STREAMS
    assert {(r.outcome, r.input_tokens, r.output_tokens) for r in rows} == {(Outcome.ok, 21, 8)}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_streams_longer_than_the_grace_period_are_cut_and_still_recorded(
    database_url: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    fake_upstream.configure(usage=USAGE, chunk_delay=1.0)  # ~18 s per stream, far beyond the 1 s grace
    env = gateway_environment(tmp_path / "data", database_url, fake_upstream, shutdown_grace_seconds="1")
    served = serve_gateway(env, tmp_path / "gateway.log")
    with ThreadPoolExecutor(max_workers=STREAMS) as pool:
        futures = start_streams(served, fake_upstream, pool)
        exit_code = served.terminate()
        results = [future.result() for future in futures]

    assert exit_code == 0, served.log_text()[-3000:]
    assert not any(body.endswith(STREAM_END) for _, body in results)
    rows = usage_rows(database_url)
    assert len(rows) == STREAMS
    # message_start (input tokens) had arrived; the row says the gateway, not the client or upstream, ended it.
    assert {(r.outcome, r.status_code, r.input_tokens) for r in rows} == {(Outcome.gateway_error, 200, 21)}
