"""Prometheus metrics, one registry per process (built in the app lifespan, exposed at `GET /metrics`).

Fed from paths that already run once per call: the request-id middleware (every HTTP request), the proxy's usage
row (tokens, spend, upstream timings and errors) and the key authenticator (catalog cache hits). With several
uvicorn workers each worker has its own registry and answers /metrics with its own numbers; scrape each replica
with one worker, or sum across scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from gateway_api.metrics.series import CounterFamily, CounterValue, HistogramFamily, HistogramValue, SeriesCollector
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TOKEN_FIELDS

# Seconds; proxied calls run from milliseconds (refusals) to many minutes (long agentic streams).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
CONTENT_TYPE = CONTENT_TYPE_LATEST
UPSTREAM_ERROR_OUTCOMES = ("upstream_error", "gateway_error")
_read_tokens = attrgetter(*TOKEN_FIELDS)


class GatewayMetrics:
    """The series updated per request are lock-free accumulators (`loop_metrics`): update them only from the event
    loop thread. The rare ones (quota refusals, state gauges) stay prometheus_client objects."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = CounterFamily(
            "gateway_http_requests",
            "HTTP requests answered, by surface (proxy or api) and status code.",
            ["surface", "status"],
        )
        self.request_seconds = HistogramFamily(
            "gateway_http_request_duration_seconds",
            "Time from request to the last response byte, by surface.",
            ["surface"],
            LATENCY_BUCKETS,
        )
        self.proxied_calls = CounterFamily(
            "gateway_proxied_calls",
            "Accounted model calls (one per usage record), by provider, model and outcome.",
            ["provider", "model", "outcome"],
        )
        self.call_seconds = HistogramFamily(
            "gateway_upstream_call_duration_seconds",
            "Whole proxied call duration, by provider and model.",
            ["provider", "model"],
            LATENCY_BUCKETS,
        )
        self.ttfb_seconds = HistogramFamily(
            "gateway_upstream_ttfb_seconds",
            "Time to the first response byte relayed to the client, by provider and model.",
            ["provider", "model"],
            LATENCY_BUCKETS,
        )
        self.tokens = CounterFamily(
            "gateway_tokens",
            "Tokens used, by provider, model and kind (input includes cached input).",
            ["provider", "model", "kind"],
        )
        self.spend = CounterFamily(
            "gateway_spend_usd", "Spend in US dollars, by provider and model.", ["provider", "model"]
        )
        self.upstream_errors = CounterFamily(
            "gateway_upstream_errors",
            "Calls that failed upstream or at the gateway (timeouts, resets, 5xx), by provider and outcome.",
            ["provider", "outcome", "status"],
        )
        # Registration order is exposition order; it is kept as it was when all of these were prometheus_client's.
        registry.register(
            SeriesCollector(
                self.requests,
                self.request_seconds,
                self.proxied_calls,
                self.call_seconds,
                self.ttfb_seconds,
                self.tokens,
                self.spend,
                self.upstream_errors,
            )
        )
        self.quota_refusals = Counter(
            "gateway_quota_refusals",
            "Calls refused by a quota, rate or budget, by which limit.",
            ["limit"],
            registry=registry,
        )
        key_lookups = CounterFamily(
            "gateway_key_cache_lookups",
            "Proxy key checks answered from the in-memory catalog (hit) or needing a database look-up (miss).",
            ["result"],
        )
        registry.register(SeriesCollector(key_lookups))
        self.key_cache_hits = key_lookups.labels("hit")
        self.key_cache_misses = key_lookups.labels("miss")
        self._gauges = Gauge("gateway_state", "Point-in-time state of this process.", ["what"], registry=registry)
        # Series resolved once per label combination, so a request costs two dict look-ups, not a label lookup each.
        self._request_series: dict[tuple[str, int], tuple[CounterValue, HistogramValue]] = {}
        self._model_series: dict[tuple[str, str], _ModelSeries] = {}

    def watch(self, what: str, read: Callable[[], float]) -> None:
        """Expose `read()` as gateway_state{what=...} at scrape time (e.g. queued usage rows, catalog version)."""
        self._gauges.labels(what=what).set_function(read)

    def count(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """Expose `read()` as the counter `name` (a total some service keeps, e.g. usage rows dead-lettered), read
        at scrape time so that the service pays nothing per event."""
        self.registry.register(_ReadCounter(name, documentation, read))

    def record_request(self, surface: str, status: int, seconds: float) -> None:
        series = self._request_series.get((surface, status))
        if series is None:
            series = self._request_series[(surface, status)] = (
                self.requests.labels(surface, str(status)),
                self.request_seconds.labels(surface),
            )
        count, duration = series
        count.value += 1
        duration.observe(seconds)

    def record_usage_row(self, row: UsageRow) -> None:
        """One proxied call's figures, from the usage row the recorder is about to write."""
        provider, model, outcome = row.provider, row.model, row.outcome
        series = self._model_series.get((provider, model))
        if series is None:
            series = self._model_series[(provider, model)] = _ModelSeries(self, provider, model)
        # Keyed by the Outcome itself: a StrEnum hashes and compares like its string, so no str() per call.
        calls = series.calls.get(outcome)
        if calls is None:
            calls = series.calls[outcome] = self.proxied_calls.labels(provider, model, str(outcome))
        calls.value += 1
        series.call_seconds.observe(row.latency_ms / 1000)
        ttfb_ms = row.ttfb_ms
        if ttfb_ms is not None:
            series.ttfb_seconds.observe(ttfb_ms / 1000)
        # Only positive amounts: a counter never goes down, whatever an upstream reported.
        for tokens, count in zip(series.tokens, _read_tokens(row.tokens), strict=True):
            if count > 0:
                tokens.value += count
        cost = row.cost_usd
        if cost > 0:
            series.spend.value += cost
        if outcome in UPSTREAM_ERROR_OUTCOMES:
            self.upstream_errors.labels(provider, str(outcome), str(row.status_code)).value += 1

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ReadCounter(Collector):
    """One counter whose value is read from its owner at scrape time."""

    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._name, self._documentation, self._read = name, documentation, read

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self._name, self._documentation, value=self._read())


class _ModelSeries:
    """The series of one (provider, model), resolved once."""

    __slots__ = ("call_seconds", "calls", "spend", "tokens", "ttfb_seconds")

    def __init__(self, metrics: GatewayMetrics, provider: str, model: str) -> None:
        self.calls: dict[str, CounterValue] = {}
        self.call_seconds = metrics.call_seconds.labels(provider, model)
        self.ttfb_seconds = metrics.ttfb_seconds.labels(provider, model)
        self.spend = metrics.spend.labels(provider, model)
        self.tokens = tuple(
            metrics.tokens.labels(provider, model, name.removesuffix("_tokens")) for name in TOKEN_FIELDS
        )
