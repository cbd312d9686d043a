"""Per-call cost of crash safety on the event loop: the spool's two lines (a call's start with its crash row, its
finished row) and the usage row's range check; and the spool's thread side per call (write + fsync, off the loop).

    PYTHONPATH=. .venv/bin/python -m bench.usage_spool
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gateway_api.catalog.snapshot import KeyEntry, ModelEntry, ProviderEntry
from gateway_api.proxy.accounting.crash_row import crash_row
from gateway_api.proxy.accounting.ledger import CallTrace, usage_row
from gateway_api.usage.spool import UsageSpool
from gateway_api.usage.spool_format import FINISHED, STARTED, entry
from gateway_api.usage.tokens import TokenUsage
from gateway_api.usage.validation import correct_row

CALLS = 100_000
REQUEST_BYTES = 4000


def _trace(number: int) -> CallTrace:
    provider = ProviderEntry(1, "anthropic", "anthropic", "https://api.anthropic.com", "credential")
    model = ModelEntry(1, "claude-sonnet-4-5", "Sonnet", True, provider, datetime.now(UTC), 3.0, 15.0, 0.3, 3.75)
    key = KeyEntry(1, 1, "gwk_abcdef", frozenset({"llm"}), None)
    trace = CallTrace(
        provider="anthropic", endpoint="messages", key=key, model=model, started=0.0, client="claude-cli/2.0",
        call_id=f"{number:024x}", request_bytes=REQUEST_BYTES,
    )  # fmt: skip
    trace.usage = TokenUsage(input_tokens=1200, output_tokens=300)
    return trace


def _best_microseconds(work: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(CALLS):
            work()
        best = min(best, (time.perf_counter() - started) / CALLS)
    return best * 1e6


def main() -> None:
    trace = _trace(1)
    row = usage_row(trace, 1.0)
    buffer: list[bytes] = []
    in_flight: dict[str, bytes] = {}

    def spool_one_call() -> None:
        # What UsageSpool.started and .finished do, on a buffer emptied as the sync thread would.
        line = entry(STARTED, crash_row(trace))
        in_flight[row.call_id or ""] = line
        buffer.append(line)
        in_flight.pop(row.call_id or "", None)
        buffer.append(entry(FINISHED, row))
        if len(buffer) > 2000:
            buffer.clear()

    print(f"spool, both lines of one call (event loop): {_best_microseconds(spool_one_call):.2f} us")
    print(f"usage row range check (event loop):         {_best_microseconds(lambda: correct_row(row)):.2f} us")
    print(f"spool write + fsync per call (thread):      {asyncio.run(_thread_side()):.2f} us")


async def _thread_side() -> float:
    """Calls appended in bursts of 500 (0.1 s at 5,000 calls/s), each burst synced as the spool's loop does."""
    spool = UsageSpool(Path(tempfile.mkdtemp()) / "usage-spool")
    spool.open()
    rows = [usage_row(_trace(number), 1.0) for number in range(500)]
    elapsed = 0.0
    bursts = 40
    for _ in range(bursts):
        for row in rows:
            spool.finished(row)
        started = time.perf_counter()
        await spool.sync()
        elapsed += time.perf_counter() - started
    spool.acknowledge(spool.appended)
    await spool.close()
    return elapsed / (bursts * len(rows)) * 1e6


if __name__ == "__main__":
    main()
