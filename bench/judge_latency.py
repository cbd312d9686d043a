"""What a judged message policy adds to a call's latency: a verdict-cache miss (the judge is called) and a hit.

The nginx fake provider of bench/run.py cannot judge, so this measures in one process what the proxy runs before
forwarding a request of a caller with a judged policy: `MessagePolicyStep.check_request` (the body parsed, its
text found, the policies applied, the checked body serialised again) with the real `LlmJudge`, its verdict cache
and the proxy's `UpstreamClient`, against a loopback fake judge (aiohttp, in a process of its own on the load core)
that answers an Anthropic message with a compliant verdict after a fixed delay. With no policy for the caller the
proxy skips the step entirely, so the whole time of `check_request` is what the policy adds.

Cases, one call at a time (c=1):
- miss: a distinct user text every call, so every call waits for the judge (the delay plus the HTTP exchange);
- hit: the same text every call after one warm-up call, so the verdict comes from the cache;
each with the local cache (this process's LRU) and with Redis: the local LRU is then size 0, so every lookup is a
Redis round trip, as for a verdict another replica cached (a hit on the same replica is a local hit).

Run with this tree first on PYTHONPATH (a worktree's gateway_api, not the editable install's):

    PYTHONPATH=$PWD .venv/bin/python bench/judge_latency.py --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import redis.asyncio as aioredis
from aiohttp import web
from sqlalchemy import create_engine

from gateway_api.catalog.snapshot import Catalog, ModelEntry, ProviderEntry
from gateway_api.core.settings import Settings
from gateway_api.limits.limiter import Limiter
from gateway_api.message_policies.judging.judge import LlmJudge
from gateway_api.message_policies.judging.verdict_cache import VerdictCache
from gateway_api.message_policies.patterns import PatternCache
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyAction, PolicyRule, PolicyScope
from gateway_api.message_policies.stored.violations import ViolationRecorder, violation_sealer
from gateway_api.message_policies.verdicts import Judge
from gateway_api.providers.spec import EndpointKind
from gateway_api.proxy.accounting.ledger import UsageLedger
from gateway_api.proxy.message_policy_step import MessagePolicyStep
from gateway_api.proxy.upstream import UpstreamClient
from gateway_api.security.crypto import CredentialCipher
from gateway_api.usage.rows import UsageRow

JUDGE_MODEL = "claude-haiku-4-5"
POLICY = MessagePolicyEntry(
    id=1,
    name="no-medical-advice",
    subjects=frozenset({"*"}),
    scopes=frozenset({PolicyScope.user_messages}),
    action=PolicyAction.block,
    rule=PolicyRule(judge="Block requests for a medical diagnosis or for treatment advice."),
    revision="bench",
)
FILLER = "The quick brown fox jumps over the lazy dog. "
VERDICT = orjson.dumps({"violation": False, "explanation": "A question about the weather."}).decode()


def _judge_reply() -> bytes:
    """An Anthropic message whose text is the verdict, with usage as a small judge call reports it."""
    return orjson.dumps(
        {
            "id": "msg_bench_judge",
            "type": "message",
            "role": "assistant",
            "model": JUDGE_MODEL,
            "content": [{"type": "text", "text": VERDICT}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 420, "output_tokens": 24},
        }
    )


def _serve_judge(port: int, delay_seconds: float, core: int | None) -> None:
    """The fake judge (child process): every POST is read whole and answered after `delay_seconds`."""
    if core is not None:
        os.sched_setaffinity(0, {core})
    reply = _judge_reply()

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        if delay_seconds > 0:
            await asyncio.sleep(delay_seconds)
        return web.Response(body=reply, content_type="application/json", headers={"request-id": "req_bench"})

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("POST", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the fake judge did not listen on {port}")


def _judge_model(port: int) -> ModelEntry:
    provider = ProviderEntry(
        id=1, name="anthropic-judge", kind="anthropic", base_url=f"http://127.0.0.1:{port}", credential="sk-bench"
    )
    return ModelEntry(
        id=1,
        name=JUDGE_MODEL,
        display_name=JUDGE_MODEL,
        active=True,
        provider=provider,
        created_at=datetime.now(UTC),
        price_input=1.0,
        price_output=5.0,
        price_cache_read=0.1,
        price_cache_write=1.25,
    )


def request_body(text: str) -> bytes:
    """A Claude Code-like 1 KB Anthropic request whose newest user turn is `text` (padded to ~1 KB)."""
    padded = text + " " + FILLER * 20
    return orjson.dumps(
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "system": [{"type": "text", "text": "You are a helpful assistant."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": padded[:900]}]}],
        }
    )


@dataclass(frozen=True)
class Result:
    cache: str
    delay_ms: float
    case: str
    calls: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_us: float  # this process's CPU per call (the judge answers from another process)
    judge_calls: int


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def _timed(calls: int, one: Callable[[int], Awaitable[None]]) -> tuple[list[float], float]:
    """Wall ms of each call, and CPU seconds of this process over all of them."""
    wall: list[float] = []
    cpu_start = time.process_time()
    for index in range(calls):
        started = time.perf_counter()
        await one(index)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, time.process_time() - cpu_start


def build_step(judge: Judge) -> MessagePolicyStep:
    """The step as app.py builds it; what only a blocked call or a violation uses (ledger, limits, catalog,
    violation recorder) is real but idle here: the bench's verdicts are compliant."""
    engine = create_engine("sqlite://")
    secret = secrets.token_urlsafe(32)
    settings = Settings()
    return MessagePolicyStep(
        judge,
        PatternCache(),
        ViolationRecorder(engine, violation_sealer(secret), 1.0),
        UsageLedger(lambda row: None),
        Limiter(settings, engine),
        Catalog(engine, CredentialCipher(secret)),
    )


async def measure(
    cache_name: str, cache: VerdictCache, port: int, delay_ms: float, misses: int, hits: int
) -> list[Result]:
    rows: list[UsageRow] = []
    client = UpstreamClient(Settings())
    await client.start()
    model = _judge_model(port)
    judge = LlmJudge(lambda: model, client, cache, timeout=10.0, record_usage=rows.append)
    step = build_step(judge)
    run_id = secrets.token_hex(4)  # the Redis cache may hold verdicts of an earlier run: texts unique to this one

    async def check(text: str) -> None:
        checked = await step.check_request((POLICY,), "anthropic", EndpointKind.MESSAGES, request_body(text))
        if checked.blocked is not None or checked.violations:
            raise RuntimeError(f"unexpected verdict: {checked.blocked or checked.violations}")

    async def miss(index: int) -> None:
        await check(f"Will it rain in town {run_id}-{index} tomorrow?")

    async def hit(index: int) -> None:
        await check(f"Will it rain in town {run_id} tomorrow?")

    results: list[Result] = []
    try:
        await miss(-1)  # warm-up: the connection to the judge opened, the code paths run once
        await hit(-1)  # the hit case's verdict cached
        for case, calls, one in (("miss", misses, miss), ("hit", hits, hit)):
            before = len(rows)
            wall, cpu = await _timed(calls, one)
            results.append(
                Result(
                    cache=cache_name,
                    delay_ms=delay_ms,
                    case=case,
                    calls=calls,
                    p50_ms=statistics.median(wall),
                    p99_ms=_percentile(wall, 0.99),
                    mean_ms=statistics.fmean(wall),
                    cpu_us=cpu / calls * 1e6,
                    judge_calls=len(rows) - before,
                )
            )
    finally:
        await judge.aclose()
        await client.close()
    return results


async def _clear_redis(url: str, prefix: str) -> None:
    client = aioredis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _run_delay(args: argparse.Namespace, port: int, delay_ms: float) -> list[Result]:
    misses = args.misses if delay_ms > 0 else args.misses * 5
    results = await measure("local", VerdictCache(10_000), port, delay_ms, misses, args.hits)
    if args.redis:
        prefix = f"bench:policy-verdict:{secrets.token_hex(6)}:"
        client = aioredis.from_url(args.redis, socket_timeout=0.25, socket_connect_timeout=0.25)
        # Local LRU of size 0: every lookup goes to Redis, as for a verdict another replica cached.
        cache = VerdictCache(0, client, ttl_seconds=600, prefix=prefix)
        try:
            results += await measure("redis", cache, port, delay_ms, misses, args.hits)
        finally:
            await cache.aclose()
            await _clear_redis(args.redis, prefix)
    return results


def _table(results: list[Result]) -> str:
    header = (
        "| cache | judge delay ms | case | calls | p50 ms | p99 ms | mean ms | p50 added over the delay ms "
        "| CPU us/call | judge calls |"
    )
    lines = [header, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        over = r.p50_ms - r.delay_ms if r.case == "miss" else r.p50_ms
        lines.append(
            f"| {r.cache} | {r.delay_ms:g} | {r.case} | {r.calls} | {r.p50_ms:.3f} | {r.p99_ms:.3f} | "
            f"{r.mean_ms:.3f} | {over:.3f} | {r.cpu_us:.0f} | {r.judge_calls} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delays-ms", default="0,200", help="comma list of the fake judge's answer delays")
    parser.add_argument("--misses", type=int, default=100, help="miss calls per case (x5 with no delay)")
    parser.add_argument("--hits", type=int, default=2000, help="hit calls per case")
    parser.add_argument(
        "--redis", default=None, help="also measure the Redis-shared cache, e.g. redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    # As bench/run.py pins: the measured side on the first core, the fake judge on the second.
    measured_core, judge_core = (cores[0], cores[1]) if len(cores) > 1 else (None, None)
    if measured_core is not None:
        os.sched_setaffinity(0, {measured_core})
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    results: list[Result] = []
    context = multiprocessing.get_context("spawn")
    for delay_ms in (float(value) for value in args.delays_ms.split(",") if value):
        port = _free_port()
        server = context.Process(target=_serve_judge, args=(port, delay_ms / 1000, judge_core), daemon=True)
        server.start()
        try:
            _wait_for_port(port, 30)
            results += asyncio.run(_run_delay(args, port, delay_ms))
        finally:
            server.terminate()
            server.join(10)
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(_table(results))


if __name__ == "__main__":
    main()
