"""`gateway serve --workers 2`: each worker spools to its own file; a worker killed with -9 has its rows replayed by
a live process within seconds (no restart of the gateway), and the rest arrive at SIGTERM, each call once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.test_serve_crash import call, rows_eventually
from tests.cli.test_serve_shutdown import alice_key, usage_rows
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import free_port
from tests.support.served import REPO_ROOT, START_TIMEOUT_SECONDS, ServedGateway, gateway_environment

CALLS = 20
REPLAY_WITHIN_SECONDS = 15.0  # the replay scan runs every 5 s; a restarted worker replays at its start


def serve_workers(env: dict[str, str], log_path: Path, workers: int) -> ServedGateway:
    port = free_port()
    command = [sys.executable, "-m", "gateway_api.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)], env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    served = ServedGateway(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gateway did not start:\n{served.log_text()[-3000:]}")
        time.sleep(0.1)


def spooled_calls_by_worker(spool: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    for path in spool.glob("spool-*.jsonl"):
        pid = int(path.name.split("-")[1])
        counts[pid] = counts.get(pid, 0) + path.read_text().count('["f",')
    return counts


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_killed_workers_spool_is_replayed_by_a_live_one(
    database_url: str, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    env = gateway_environment(tmp_path / "data", database_url, fake_upstream, usage_flush_interval="600")
    served = serve_workers(env, tmp_path / "gateway.log", workers=2)
    try:
        key = alice_key(served)
        fake_upstream.configure(usage=FakeUsage(input_tokens=21, output_tokens=8))
        time.sleep(0.5)  # both workers' catalogs have the new key
        for _ in range(CALLS):
            assert call(served, key).status_code == 200
        time.sleep(0.3)  # synced
        by_worker = spooled_calls_by_worker(tmp_path / "data" / "usage-spool")
        assert sum(by_worker.values()) == CALLS and served.process.pid not in by_worker
        victim, victim_calls = max(by_worker.items(), key=lambda item: item[1])
        assert usage_rows(database_url) == []

        os.kill(victim, signal.SIGKILL)
        rows = rows_eventually(database_url, victim_calls, timeout=REPLAY_WITHIN_SECONDS)
        assert len({row.call_id for row in rows}) == victim_calls

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(60) == 0, served.log_text()[-3000:]
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait()
    rows = usage_rows(database_url)
    assert len(rows) == CALLS and len({row.call_id for row in rows}) == CALLS
    assert list((tmp_path / "data" / "usage-spool").glob("spool-*.jsonl")) == []
