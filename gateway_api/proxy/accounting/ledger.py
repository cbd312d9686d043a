"""One `UsageRow` from what the proxy saw of one accounted call, and the ledger that turns the calls ending in one
event-loop turn into rows together and hands them to the usage sink."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway_api.calllog.capture import Exchange
from gateway_api.catalog.snapshot import KeyEntry, ModelEntry
from gateway_api.db.models import Outcome
from gateway_api.providers.names import ProviderName
from gateway_api.providers.pricing import Price, cost_usd
from gateway_api.proxy.accounting.cut_usage import completed_usage, is_cut
from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TokenUsage

log = logging.getLogger("gateway.proxy")

MAX_CLIENT_LENGTH = 300
MAX_ID_LENGTH = 200


@dataclass(slots=True)
class CallTrace:
    """Filled in by the handler as the call goes; turned into a row after the last byte."""

    provider: ProviderName
    endpoint: str
    key: KeyEntry
    model: ModelEntry
    started: float  # loop time
    client: str = ""
    session_id: str | None = None
    streamed: bool = False
    status_code: int = 0
    outcome: Outcome = Outcome.ok
    first_byte_at: float | None = None
    request_id: str | None = None  # the provider's
    call_id: str | None = None  # the gateway's (x-gateway-request-id)
    request_bytes: int = 0  # the forwarded body's size: the input estimate of a cut call
    usage: TokenUsage = field(default_factory=TokenUsage)
    usage_estimated: bool = False  # cut before the provider's closing usage report (cut_usage.py)
    path: str | None = None
    method: str | None = None
    reasoning_effort: str | None = None
    client_address: str | None = None
    exchange: Exchange | None = None  # the bodies, when the call log stores them


def model_price(model: ModelEntry) -> Price:
    # An unknown price counts as 0 (flagged in the UI) rather than guessing.
    return Price(
        input=model.price_input or 0.0,
        output=model.price_output or 0.0,
        cache_read=model.price_cache_read or 0.0,
        cache_write=model.price_cache_write or 0.0,
    )


def usage_row(trace: CallTrace, finished: float) -> UsageRow:
    usage = trace.usage
    return UsageRow(
        created_at=datetime.now(UTC),
        user_id=trace.key.user_id,
        api_key_id=trace.key.id,
        provider=trace.model.provider.name,
        provider_kind=trace.provider,
        model=trace.model.name,
        endpoint=trace.endpoint,
        streamed=trace.streamed,
        tokens=usage,
        cost_usd=cost_usd(usage, model_price(trace.model), trace.provider),
        status_code=trace.status_code,
        outcome=trace.outcome,
        latency_ms=round((finished - trace.started) * 1000, 3),
        ttfb_ms=None if trace.first_byte_at is None else round((trace.first_byte_at - trace.started) * 1000, 3),
        client=trace.client[:MAX_CLIENT_LENGTH],
        session_id=trace.session_id[:MAX_ID_LENGTH] if trace.session_id else None,
        request_id=trace.request_id[:MAX_ID_LENGTH] if trace.request_id else None,
        call_id=trace.call_id,
        usage_estimated=trace.usage_estimated,
        path=trace.path,
        method=trace.method,
        reasoning_effort=trace.reasoning_effort,
        client_address=trace.client_address,
    )


UsageSink = Callable[[UsageRow], None]


class UsageLedger:
    """Each accounted call's row, built after its last byte and handed to the recorder, the limits and the metrics.

    The calls that end in one event-loop turn are settled together by one callback queued with `call_soon`: the
    same work done in one tight loop instead of once per call between everything else a call runs keeps the code and
    data in the CPU caches (bench/README.md has the figures). A call's row is therefore built in the loop turn after
    its response ended, ahead of any request handling queued after that callback; shutdown settles the ledger before
    the recorder's last flush, so no row waits on a turn that never comes."""

    def __init__(
        self,
        sink: UsageSink,
        on_start: Callable[[CallTrace], None] | None = None,
        on_refused: UsageSink | None = None,
        on_exchange: Callable[[str, datetime, Exchange], None] | None = None,
    ) -> None:
        self._sink = sink
        self._on_start = on_start
        self._on_refused = on_refused  # refused calls' rows (refused_row.py), bounded there
        self._on_exchange = on_exchange  # stored bodies (GATEWAY_LLM_LOG_BODIES): calllog/body_writer.py
        self._ended: list[tuple[CallTrace, UsageScanner | None, float]] = []

    def begin(self, trace: CallTrace) -> None:
        """A call is about to be forwarded (its crash row goes to the usage spool). Never raises."""
        if self._on_start is not None:
            try:
                self._on_start(trace)
            except Exception:
                log.exception("could not spool the start of a call", extra={"model": trace.model.name})

    def refused(self, row: UsageRow) -> None:
        """A call the gateway refused: its call-log row. Never raises."""
        if self._on_refused is not None:
            try:
                self._on_refused(row)
            except Exception:
                log.exception("could not record a refused call")

    def add(self, trace: CallTrace, scanner: UsageScanner | None, finished: float) -> None:
        """Queue one ended call (`finished`: loop time of its last byte). Never raises."""
        if not self._ended:
            asyncio.get_running_loop().call_soon(self.settle)
        self._ended.append((trace, scanner, finished))

    def settle(self) -> None:
        """Turn every ended call into its row and hand it to the sink (also run at shutdown, before the last flush)."""
        ended, self._ended = self._ended, []
        sink = self._sink
        for trace, scanner, finished in ended:
            # A bug here must cost a row (logged), never the other calls' rows.
            try:
                if scanner is not None:
                    trace.usage = scanner.finish()
                    if is_cut(scanner, trace.status_code):
                        trace.usage = completed_usage(trace.usage, scanner, trace.request_bytes)
                        trace.usage_estimated = True
                row = usage_row(trace, finished)
                sink(row)
                if trace.exchange is not None and self._on_exchange is not None and row.call_id is not None:
                    self._on_exchange(row.call_id, row.created_at, trace.exchange)
            except Exception:
                log.exception("could not build the usage row", extra={"model": trace.model.name})
