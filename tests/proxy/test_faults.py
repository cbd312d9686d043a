"""Faults the existing accounting tests do not cover: first-byte versus idle limits, and the database going away
while calls keep coming (authorised from the cached catalog, usage queued and written when it returns)."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from gateway_api.core.settings import Settings
from gateway_api.db.engine import make_engine
from gateway_api.db.models import Outcome, UsageRecord
from tests.proxy.conftest import ALICE, SONNET, ProxyEnv, gateway_config
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import start_live_gateway
from tests.support.tcp_relay import TcpRelay

USAGE = FakeUsage(input_tokens=13, output_tokens=5)
CALLS_DURING_OUTAGE = 6


def messages(env: ProxyEnv, key: str, *, stream: bool) -> httpx.Response:
    return httpx.post(
        f"{env.anthropic_url}/v1/messages",
        headers={"x-api-key": key},
        json={"model": SONNET, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


def test_first_byte_limit_covers_a_late_first_chunk_after_an_early_head(proxy_env: ProxyEnv, alice_key: str) -> None:
    """Head at once, body late: the first-byte limit (not the idle one) decides, and the client gets an envelope."""
    proxy_env.services.settings.upstream_first_byte_timeout = 0.3
    proxy_env.services.settings.upstream_idle_timeout = 60
    proxy_env.fake.configure(first_chunk_delay=2.0)

    response = messages(proxy_env, alice_key, stream=True)

    assert response.status_code == 504
    assert response.json()["error"] == {"type": "api_error", "message": "the anthropic upstream did not answer in time"}
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome, row.ttfb_ms) == (504, Outcome.gateway_error, None)


def test_idle_limit_does_not_cut_a_slow_first_token(proxy_env: ProxyEnv, alice_key: str) -> None:
    """A model thinking longer than the idle limit before its first token is fine within the first-byte limit."""
    proxy_env.services.settings.upstream_first_byte_timeout = 60
    proxy_env.services.settings.upstream_idle_timeout = 0.3
    proxy_env.fake.configure(first_chunk_delay=1.0, usage=USAGE)

    response = messages(proxy_env, alice_key, stream=True)

    assert response.status_code == 200
    assert response.text.endswith('data: {"type":"message_stop"}\n\n')
    [row] = proxy_env.usage_rows(1)
    assert (row.outcome, row.input_tokens, row.output_tokens) == (Outcome.ok, 13, 5)


def test_a_slow_client_is_not_an_idle_upstream(proxy_env: ProxyEnv, alice_key: str) -> None:
    """The idle limit times the upstream, not the client: a client that reads nothing for five idle limits, while
    the gateway waits to write a reply far larger than the sockets hold, still gets all of it."""
    proxy_env.services.settings.upstream_idle_timeout = 0.3
    word = "w" * 65536
    proxy_env.fake.configure(reply_text=" ".join([word] * 256), usage=USAGE)  # 16 MiB of text
    host, port = httpx.URL(proxy_env.live.url).host, httpx.URL(proxy_env.live.url).port
    body = json.dumps(
        {"model": SONNET, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    request = (
        f"POST /api/llm-proxy/anthropic/v1/messages HTTP/1.1\r\nhost: {host}\r\nx-api-key: {alice_key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n{body}"
    )
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
        client.settimeout(30)
        client.connect((host, port))
        client.sendall(request.encode())
        received = [client.recv(4096)]
        time.sleep(1.5)
        while chunk := client.recv(1 << 20):
            received.append(chunk)
    head, _, chunked = b"".join(received).partition(b"\r\n\r\n")

    assert head.startswith(b"HTTP/1.1 200")
    reply = _dechunked(chunked)
    assert reply.count(word.encode()) == 256
    assert reply.endswith(b'data: {"type":"message_stop"}\n\n')
    [row] = proxy_env.usage_rows(1)
    assert (row.outcome, row.input_tokens, row.output_tokens) == (Outcome.ok, 13, 5)


def _dechunked(data: bytes) -> bytes:
    """An HTTP/1.1 chunked body, whole (it must end with its last chunk)."""
    parts = []
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(parts)
        parts.append(data[:size])
        data = data[size + 2 :]


@dataclass
class DatabaseOutage:
    begin: Callable[[], None]
    end: Callable[[], None]
    direct_url: str  # reaches the database even during the outage, for the test's own checks


def sqlite_lock(path: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """Another process-like writer holding the database's write lock: every gateway write waits or fails."""
    holder: list[sqlite3.Connection] = []

    def begin() -> None:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        connection.execute("BEGIN EXCLUSIVE")
        holder.append(connection)

    def end() -> None:
        connection = holder.pop()
        connection.execute("ROLLBACK")
        connection.close()

    return begin, end


@pytest.fixture
def outage_env(
    settings: Settings, database_url: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> Iterator[tuple[ProxyEnv, DatabaseOutage]]:
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(gateway_config(fake_upstream)))
    url = make_url(database_url)
    relay: TcpRelay | None = None
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        begin, end = sqlite_lock(url.database)
        gateway_url = database_url
    else:  # PostgreSQL behind a relay the test can cut
        relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
        relay.start()
        begin, end = relay.stop, relay.start
        gateway_url = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    outage = DatabaseOutage(begin=begin, end=end, direct_url=database_url)
    try:
        for live in start_live_gateway(
            settings.model_copy(update={"config": config_path, "database_url": gateway_url})
        ):
            yield ProxyEnv(live=live, fake=fake_upstream), outage
    finally:
        if relay is not None:
            relay.close()


def count_rows(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(UsageRecord)).one()
    finally:
        engine.dispose()


def test_calls_go_on_while_the_database_is_away_and_no_usage_is_lost(
    outage_env: tuple[ProxyEnv, DatabaseOutage],
) -> None:
    env, outage = outage_env
    key = env.issue_key(ALICE)
    env.fake.configure(usage=USAGE)
    assert messages(env, key, stream=False).status_code == 200
    env.usage_rows(1)

    outage.begin()
    try:
        for index in range(CALLS_DURING_OUTAGE):
            response = messages(env, key, stream=index % 2 == 0)
            assert response.status_code == 200, response.text  # authorised from the cached catalog
        time.sleep(1.0)  # many flush intervals: the recorder tries and cannot write
        assert count_rows(outage.direct_url) == 1
    finally:
        outage.end()

    rows = env.usage_rows(1 + CALLS_DURING_OUTAGE, timeout=60)
    assert all((r.outcome, r.input_tokens, r.output_tokens) == (Outcome.ok, 13, 5) for r in rows)
    assert env.services.recorder.pending == 0
