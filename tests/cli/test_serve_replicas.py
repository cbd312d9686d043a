"""Two `gateway serve` replicas as real processes on one PostgreSQL database and one Redis.

The replicas' version poll is set to 30 s, so anything that reaches the other replica within a second came
through the Redis invalidation channel.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from gateway_api.db.engine import make_engine
from gateway_api.db.models import Outcome, UsageRecord
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, POSTGRES_URL
from tests.proxy.conftest import ALICE, BOB, SONNET
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import REDIS_URL, ServedGateway, gateway_environment, serve_gateway

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason="GATEWAY_TEST_DATABASE_URL is not set"),
    pytest.mark.skipif(not REDIS_URL, reason="GATEWAY_TEST_REDIS_URL is not set"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

PROPAGATION_LIMIT_SECONDS = 1.0  # the product promise: a change applies on every replica within a second
CONCURRENT_CALLS = 40
USAGE = FakeUsage(input_tokens=17, output_tokens=9)


@pytest.fixture
def replicas(database_url: str, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[list[ServedGateway]]:
    env = gateway_environment(
        tmp_path / "data", database_url, fake_upstream, redis_url=REDIS_URL, catalog_poll_seconds="30"
    )
    started: list[ServedGateway] = []
    try:
        # One after the other: the first creates the schema and applies the config, the second finds them done.
        for name in ("a", "b"):
            started.append(serve_gateway(env, tmp_path / f"replica-{name}.log"))
        yield started
    finally:
        for replica in started:
            assert replica.terminate() == 0, replica.log_text()[-2000:]


def call(replica: ServedGateway, key: str, *, stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{replica.anthropic_url}/v1/messages",
        headers={"x-api-key": key},
        json={"model": SONNET, "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def seconds_until_refused(replica: ServedGateway, key: str, since: float) -> float:
    while (response := call(replica, key)).status_code == 200:
        assert time.monotonic() - since < 30, "the change never reached the other replica"
    assert response.status_code == 401, response.text
    return time.monotonic() - since


def user_ids(replica: ServedGateway, admin: dict[str, str]) -> dict[str, int]:
    users = httpx.get(f"{replica.url}/api/users", headers=admin, timeout=30).json()["data"]
    return {u["email"]: u["id"] for u in users}


def new_key(replica: ServedGateway, admin: dict[str, str], user_id: int) -> tuple[int, str]:
    response = httpx.post(f"{replica.url}/api/keys", headers=admin, json={"user_id": user_id}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["secret"]


def test_revocation_and_deactivation_on_one_replica_apply_on_the_other_within_a_second(
    replicas: list[ServedGateway],
) -> None:
    a, b = replicas
    admin = {"Authorization": f"Bearer {a.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    ids = user_ids(a, admin)
    alice_key_id, alice_key = new_key(a, admin, ids[ALICE])
    _, bob_key = new_key(a, admin, ids[BOB])
    assert call(b, alice_key).status_code == 200
    assert call(b, bob_key).status_code == 403  # bob may call haiku only: his key is known, the model refused

    revoked_at = time.monotonic()
    assert httpx.delete(f"{a.url}/api/keys/{alice_key_id}", headers=admin, timeout=30).status_code == 200
    assert seconds_until_refused(b, alice_key, revoked_at) < PROPAGATION_LIMIT_SECONDS

    deactivated_at = time.monotonic()
    response = httpx.patch(f"{a.url}/api/users/{ids[BOB]}", headers=admin, json={"active": False}, timeout=30)
    assert response.status_code == 200, response.text
    while (refused := call(b, bob_key)).status_code == 403:
        assert time.monotonic() - deactivated_at < 30, "the deactivation never reached the other replica"
    assert refused.status_code == 401 and "deactivated" in refused.text
    assert time.monotonic() - deactivated_at < PROPAGATION_LIMIT_SECONDS


def test_concurrent_calls_over_both_replicas_are_each_recorded_once(
    replicas: list[ServedGateway], fake_upstream: FakeUpstream, database_url: str
) -> None:
    a = replicas[0]
    fake_upstream.configure(usage=USAGE, chunk_delay=0.01)
    admin = {"Authorization": f"Bearer {a.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    _, key = new_key(a, admin, user_ids(a, admin)[ALICE])

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda i: call(replicas[i % 2], key, stream=i % 3 != 0), range(CONCURRENT_CALLS)))

    assert [r.status_code for r in responses] == [200] * CONCURRENT_CALLS
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + 30
        while count_rows(engine) < CONCURRENT_CALLS and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # many flush intervals: a duplicate row would be written by now
        with Session(engine) as session:
            rows = session.exec(select(UsageRecord)).all()
    finally:
        engine.dispose()
    assert len(rows) == CONCURRENT_CALLS
    assert sum(r.input_tokens for r in rows) == CONCURRENT_CALLS * USAGE.input_tokens
    assert sum(r.output_tokens for r in rows) == CONCURRENT_CALLS * USAGE.output_tokens
    assert {r.outcome for r in rows} == {Outcome.ok}
    assert sum(r.streamed for r in rows) == sum(1 for i in range(CONCURRENT_CALLS) if i % 3 != 0)


def count_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(UsageRecord)).one()
