"""Steady-state proxied calls read no database rows: every SQL statement the gateway sends while serving them is
either the recorder's batched usage write (records, rollup sums, keys' last use) or the catalog's background
version check."""

from __future__ import annotations

import re
import threading

import httpx
from sqlalchemy import event

from tests.proxy.conftest import SONNET, ProxyEnv

CALLS = 20
# Statements the gateway may send in steady state, none of them on a request's path.
BACKGROUND_STATEMENTS = (
    re.compile(r"^SELECT configversion\.version FROM configversion\b", re.IGNORECASE),  # the version poll
    re.compile(r"^INSERT INTO usagerecord\b", re.IGNORECASE),  # the recorder's batch
    re.compile(r"^INSERT INTO usage(model)?(hourly|daily) \(.* ON CONFLICT \(", re.IGNORECASE),  # ... its rollup sums
    re.compile(
        r"^UPDATE apikey SET last_used_at=[^,]+ WHERE apikey\.id = \S+$", re.IGNORECASE
    ),  # ... and the keys' last use
)
# What the connection pool and SQLite's per-connection setup send; not reads of data.
HOUSEKEEPING = re.compile(r"^(PRAGMA|SELECT 1\b|BEGIN|COMMIT|ROLLBACK)", re.IGNORECASE)


def test_proxied_calls_in_steady_state_send_no_queries(proxy_env: ProxyEnv, alice_key: str) -> None:
    statements: list[str] = []
    test_thread = threading.get_ident()  # the test's own row counting shares the engine; the gateway runs elsewhere

    def seen(_conn, _cursor, statement: str, *_args: object) -> None:
        if threading.get_ident() != test_thread:
            statements.append(" ".join(statement.split()))

    models_url = f"{proxy_env.anthropic_url}/v1/models"
    headers = {"x-api-key": alice_key}
    body = {"model": SONNET, "max_tokens": 8, "messages": []}
    assert (
        httpx.post(f"{proxy_env.anthropic_url}/v1/messages", headers=headers, json=body, timeout=30).status_code == 200
    )
    proxy_env.usage_rows(1)  # warmed up: the key is known, the first row written

    event.listen(proxy_env.engine, "before_cursor_execute", seen)
    try:
        with httpx.Client(headers=headers, timeout=30) as client:
            for index in range(CALLS):
                response = client.post(f"{proxy_env.anthropic_url}/v1/messages", json=body | {"stream": index % 2 == 0})
                assert response.status_code == 200
                assert client.get(models_url).status_code == 200
        proxy_env.usage_rows(1 + CALLS)
    finally:
        event.remove(proxy_env.engine, "before_cursor_execute", seen)

    assert any(BACKGROUND_STATEMENTS[1].match(s) for s in statements), "the hook saw no usage write"
    assert any(BACKGROUND_STATEMENTS[2].match(s) for s in statements), "the usage write added no rollup sums"
    on_request_path = [
        s for s in statements if not HOUSEKEEPING.match(s) and not any(p.match(s) for p in BACKGROUND_STATEMENTS)
    ]
    assert on_request_path == []
