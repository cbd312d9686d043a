"""Decompression bombs from a hostile upstream (issue 15, point 6), against a real `gateway serve` process.

A 32 KiB zstd reply once pushed the process from 136 MB to 2.2 GB (the usage scanner decoded its own copy even
when the client accepted zstd), and a 2 MB gzip reply to an identity client did the same. Each must now end
with a 502 in the provider's envelope and a usage row marked gateway_error, the process's peak memory barely
moving.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway_api.db.models import Outcome
from tests.proxy.conftest import SONNET
from tests.support.bombs import gzip_bomb, zstd_bomb
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served_keys import issue_served_key, memory_kib, served_gateway, usage_rows

# Peak resident memory may grow by this much over the whole series of bombs (a decoded copy would be gigabytes).
MAX_PEAK_GROWTH_KIB = 96 * 1024
CASES = [
    # (coding, bomb, what the client accepts): relayed as is and scanned, or decoded for the client.
    ("zstd", zstd_bomb, "zstd, gzip"),
    ("zstd", zstd_bomb, "identity"),
    ("gzip", gzip_bomb, "identity"),
    ("gzip", gzip_bomb, "gzip"),
]


def call(url: str, key: str, accept_encoding: str, stream: bool) -> httpx.Response:
    body = {"model": SONNET, "max_tokens": 8, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": key, "accept-encoding": accept_encoding}
    with httpx.Client(timeout=60) as client:
        request = client.build_request("POST", f"{url}/v1/messages", json=body, headers=headers)
        response = client.send(request, stream=True)
        response.read()  # a 502 of the gateway's own is plain JSON
        return response


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bombs_end_in_502_and_the_process_stays_small(
    database_url: str, fake_upstream: FakeUpstream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _, bomb, _ in CASES:
        bomb()  # built before the measurement
    with served_gateway(tmp_path, database_url, fake_upstream) as served:
        key = issue_served_key(database_url)
        assert call(served.anthropic_url, key, "identity", stream=False).status_code == 200  # warm
        rss_before, peak_before = memory_kib(served.process.pid)

        for coding, bomb, accepted in CASES:
            for stream in (False, True):
                fake_upstream.configure(
                    error_status=200,
                    error_body=bomb(),
                    error_headers={
                        "content-encoding": coding,
                        "content-type": "text/event-stream" if stream else "application/json",
                    },
                )
                response = call(served.anthropic_url, key, accepted, stream)
                assert response.status_code == 502, (coding, accepted, response.headers, response.content[:200])
                assert response.json()["error"] == {
                    "type": "api_error",
                    "message": "the anthropic upstream sent a compressed reply past the gateway's decoding limits",
                }

        rss_after, peak_after = memory_kib(served.process.pid)
        rows = usage_rows(database_url, 1 + 2 * len(CASES))
    bombs = rows[1:]
    assert len(bombs) == 2 * len(CASES)
    assert all((row.status_code, row.outcome) == (502, Outcome.gateway_error) for row in bombs)
    growth = peak_after - peak_before
    with capsys.disabled():
        print(
            f"\n[bombs] {2 * len(CASES)} bomb replies: RSS {rss_before // 1024} -> {rss_after // 1024} MiB, "
            f"peak {peak_before // 1024} -> {peak_after // 1024} MiB (+{growth // 1024} MiB)"
        )
    assert growth < MAX_PEAK_GROWTH_KIB
