"""Load client for the "1,000 concurrent slow streams" case: opens N streams at once, reads each to its end.

Run as `python -m bench.slow_streams --url ... --count 1000` (pinned to the load core by run.py); prints one JSON
line. A stream counts as an error when the status is not 200, the connection fails, it times out, or it ends
without the provider's final event. Bounded: every request has a total timeout and the whole run a deadline.
"""

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import aiohttp
import uvloop

from bench import canned


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _one_stream(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    final_event: bytes,
    start_gate: asyncio.Event,
) -> tuple[str, float | None, float | None]:
    """(outcome, seconds to first body byte, total seconds)."""
    await start_gate.wait()
    started = time.perf_counter()
    first_byte: float | None = None
    tail = b""
    try:
        async with session.post(url, data=body, headers=headers) as response:
            if response.status != 200:
                await response.read()
                return f"http_{response.status}", None, None
            async for chunk in response.content.iter_any():
                if first_byte is None:
                    first_byte = time.perf_counter() - started
                tail = (tail + chunk)[-256:]
    except TimeoutError:
        return "timeout", first_byte, None
    except aiohttp.ClientError as error:
        return type(error).__name__, first_byte, None
    if final_event not in tail:
        return "incomplete_stream", first_byte, None
    return "ok", first_byte, time.perf_counter() - started


async def run(url: str, provider: str, count: int, headers: dict[str, str], timeout_seconds: float) -> dict:
    body = canned.request_body(provider, "slow-stream")
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    gate = asyncio.Event()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks = [
            asyncio.create_task(_one_stream(session, url, headers, body, canned.FINAL_EVENT[provider], gate))
            for _ in range(count)
        ]
        started = time.perf_counter()
        gate.set()
        done, pending = await asyncio.wait(tasks, timeout=timeout_seconds + 15)
        for task in pending:
            task.cancel()
        wall = time.perf_counter() - started
    outcomes: Counter[str] = Counter()
    first_bytes, totals = [], []
    for task in done:
        outcome, first_byte, total = task.result()
        outcomes[outcome] += 1
        if first_byte is not None:
            first_bytes.append(first_byte)
        if total is not None:
            totals.append(total)
    outcomes["unfinished"] += len(pending)
    errors = sum(n for outcome, n in outcomes.items() if outcome != "ok")
    return {
        "streams": count,
        "ok": outcomes["ok"],
        "errors": errors,
        "error_kinds": {k: v for k, v in outcomes.items() if k != "ok" and v},
        "wall_seconds": round(wall, 3),
        "ttfb_p50_ms": _ms(_percentile(first_bytes, 0.5)),
        "ttfb_p99_ms": _ms(_percentile(first_bytes, 0.99)),
        "total_p50_ms": _ms(_percentile(totals, 0.5)),
        "total_p99_ms": _ms(_percentile(totals, 0.99)),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--provider", choices=["anthropic", "openai"], default="anthropic")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--headers-file", type=Path, required=True)
    parser.add_argument("--timeout-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not args.url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit("load is only ever sent to loopback addresses")
    headers = json.loads(args.headers_file.read_text())
    result = uvloop.run(run(args.url, args.provider, args.count, headers, args.timeout_seconds))
    print("SLOW_JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
