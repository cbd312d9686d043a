"""Microbenchmark of admission on the limited path: what `Limiter.admit` + `count` (+ `end`) cost per call.

    .venv/bin/python bench/admission.py [--calls N] [--redis URL]

Cases: a key without limits (plan None, the path `make bench` measures), the in-process store (`make run`,
`gateway serve --workers 1`) with a request rate only and with quota + budget + concurrency (reservation and
settlement), the counter owner of `gateway serve --workers N` (in its own process, as under serve) and Redis.
Prints CPU microseconds of this process per call and wall microseconds per call (one call at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from gateway_api.core.settings import Settings
from gateway_api.db.engine import make_engine, upgrade_database
from gateway_api.limits.limiter import Exceeded, Limiter
from gateway_api.limits.owner import OwnerThread
from gateway_api.limits.reservations import Expected, Ticket
from gateway_api.limits.rules import NO_LIMITS, LimitValues, effective_rules
from tests.support.usage_rows import make_usage_row

RATE_ONLY = LimitValues(requests_per_minute=10**9)
EVERYTHING = LimitValues(
    requests_per_minute=10**9,
    input_token_quota=10**15,
    output_token_quota=10**15,
    daily_budget_usd=1e9,
    monthly_budget_usd=1e9,
    max_concurrent_calls=10**6,
)


def run_owner(path: str, ready: Any) -> None:
    owner = OwnerThread(Path(path))
    owner.start()
    ready.set()
    while True:
        time.sleep(3600)


async def measure(settings: Settings, values: LimitValues | None, calls: int) -> tuple[float, float]:
    engine = make_engine(settings.resolved_database_url)
    upgrade_database(engine)
    limiter = Limiter(settings, engine)
    await limiter.start()
    plan = effective_rules(NO_LIMITS, 7, False, values) if values is not None else None
    expected = Expected(400, 1024, 0.02)
    row = make_usage_row(user_id=7, api_key_id=70, input_tokens=350, output_tokens=200, cost_usd=0.004)
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(calls):
        if plan is None:
            continue
        call_id = f"call-{index}"
        admitted = await limiter.admit(plan, 7, 70, expected, call_id)
        assert not isinstance(admitted, Exceeded)
        row.call_id = call_id
        limiter.count(row)
        if isinstance(admitted, Ticket):
            limiter.end(admitted)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await limiter.close()
    return cpu / calls * 1e6, wall / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gateway-admission-"))
    base = Settings(data_dir=work, limits_redis_timeout_seconds=5)
    cases: list[tuple[str, Settings, LimitValues | None]] = [
        ("no limits (plan None)", base, None),
        ("in process, request rate only", base, RATE_ONLY),
        ("in process, quota+budget+concurrency", base, EVERYTHING),
    ]
    socket = work / "limits.sock"
    ready = multiprocessing.Event()
    owner = multiprocessing.Process(target=run_owner, args=(str(socket), ready), daemon=True)
    owner.start()
    ready.wait(10)
    on_owner = base.model_copy(update={"limits_socket": str(socket)})
    cases += [("counter owner, request rate only", on_owner, RATE_ONLY)]
    cases += [("counter owner, quota+budget+concurrency", on_owner, EVERYTHING)]
    if args.redis:
        on_redis = base.model_copy(update={"redis_url": args.redis, "limits_redis_prefix": "gateway-bench:"})
        cases += [("Redis, quota+budget+concurrency", on_redis, EVERYTHING)]
    print(f"{'case':45} {'CPU us/call':>12} {'wall us/call':>13}")
    for name, settings, values in cases:
        cpu, wall = asyncio.run(measure(settings, values, args.calls))
        print(f"{name:45} {cpu:12.1f} {wall:13.1f}")
    owner.terminate()


if __name__ == "__main__":
    main()
