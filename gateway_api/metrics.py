"""Prometheus metrics, one registry per process (built in the app lifespan, exposed at `GET /metrics`).

Fed from paths that already run once per call: the request-id middleware (every HTTP request), the proxy's usage
row (tokens, spend, upstream timings and errors) and the key authenticator (catalog cache hits). With several
uvicorn workers each worker has its own registry and answers /metrics with its own numbers; scrape each replica
with one worker, or sum across scrapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

# Seconds; proxied calls run from milliseconds (refusals) to many minutes (long agentic streams).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")
CONTENT_TYPE = CONTENT_TYPE_LATEST


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered, by surface (proxy or api) and status code.",
            ["surface", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "gateway_http_request_duration_seconds",
            "Time from request to the last response byte, by surface.",
            ["surface"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.proxied_calls = Counter(
            "gateway_proxied_calls",
            "Accounted model calls (one per usage record), by provider, model and outcome.",
            ["provider", "model", "outcome"],
            registry=registry,
        )
        self.call_seconds = Histogram(
            "gateway_upstream_call_duration_seconds",
            "Whole proxied call duration, by provider and model.",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.ttfb_seconds = Histogram(
            "gateway_upstream_ttfb_seconds",
            "Time to the first response byte relayed to the client, by provider and model.",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "gateway_tokens",
            "Tokens used, by provider, model and kind (input includes cached input).",
            ["provider", "model", "kind"],
            registry=registry,
        )
        self.spend = Counter(
            "gateway_spend_usd", "Spend in US dollars, by provider and model.", ["provider", "model"], registry=registry
        )
        self.upstream_errors = Counter(
            "gateway_upstream_errors",
            "Calls that failed upstream or at the gateway (timeouts, resets, 5xx), by provider and outcome.",
            ["provider", "outcome", "status"],
            registry=registry,
        )
        self.quota_refusals = Counter(
            "gateway_quota_refusals",
            "Calls refused by a quota, rate or budget, by which limit.",
            ["limit"],
            registry=registry,
        )
        key_lookups = Counter(
            "gateway_key_cache_lookups",
            "Proxy key checks answered from the in-memory catalog (hit) or needing a database look-up (miss).",
            ["result"],
            registry=registry,
        )
        self.key_cache_hits = key_lookups.labels(result="hit")
        self.key_cache_misses = key_lookups.labels(result="miss")
        self._gauges = Gauge("gateway_state", "Point-in-time state of this process.", ["what"], registry=registry)
        # Labelled children looked up once per series: `labels()` validates and locks on every call, which cost
        # ~25 us of the hot path per request.
        self._request_series: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._model_series: dict[tuple[str, str], _ModelSeries] = {}

    def watch(self, what: str, read: Callable[[], float]) -> None:
        """Expose `read()` as gateway_state{what=...} at scrape time (e.g. queued usage rows, catalog version)."""
        self._gauges.labels(what=what).set_function(read)

    def record_request(self, surface: str, status: int, seconds: float) -> None:
        series = self._request_series.get((surface, status))
        if series is None:
            series = self._request_series[(surface, status)] = (
                self.requests.labels(surface=surface, status=str(status)),
                self.request_seconds.labels(surface=surface),
            )
        count, duration = series
        count.inc()
        duration.observe(seconds)

    def record_usage_row(self, row: dict[str, Any]) -> None:
        """One proxied call's figures, from the usage row the recorder is about to write."""
        provider, model, outcome = row["provider"], row["model"], str(row["outcome"])
        series = self._model_series.get((provider, model))
        if series is None:
            series = self._model_series[(provider, model)] = _ModelSeries(self, provider, model)
        calls = series.calls.get(outcome)
        if calls is None:
            calls = series.calls[outcome] = self.proxied_calls.labels(provider=provider, model=model, outcome=outcome)
        calls.inc()
        series.call_seconds.observe(row["latency_ms"] / 1000)
        if row["ttfb_ms"] is not None:
            series.ttfb_seconds.observe(row["ttfb_ms"] / 1000)
        for kind, tokens in series.tokens:
            count = row[kind]
            if count:
                tokens.inc(count)
        if row["cost_usd"]:
            series.spend.inc(row["cost_usd"])
        if outcome in ("upstream_error", "gateway_error"):
            self.upstream_errors.labels(provider=provider, outcome=outcome, status=str(row["status_code"])).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ModelSeries:
    """The labelled children of one (provider, model), resolved once."""

    __slots__ = ("call_seconds", "calls", "spend", "tokens", "ttfb_seconds")

    def __init__(self, metrics: GatewayMetrics, provider: str, model: str) -> None:
        self.calls: dict[str, Any] = {}
        self.call_seconds = metrics.call_seconds.labels(provider=provider, model=model)
        self.ttfb_seconds = metrics.ttfb_seconds.labels(provider=provider, model=model)
        self.spend = metrics.spend.labels(provider=provider, model=model)
        self.tokens = tuple(
            (f"{kind}_tokens", metrics.tokens.labels(provider=provider, model=model, kind=kind)) for kind in TOKEN_KINDS
        )
