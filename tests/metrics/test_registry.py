"""GatewayMetrics' lock-free series: values, buckets and exposition identical to prometheus_client's own metrics."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics import disable_created_metrics, enable_created_metrics
from prometheus_client.parser import text_string_to_metric_families

from gateway_api.db.models import Outcome
from gateway_api.metrics.registry import LATENCY_BUCKETS, GatewayMetrics
from gateway_api.metrics.series import CounterFamily, HistogramFamily, SeriesCollector
from gateway_api.usage.rows import UsageRow
from tests.support.usage_rows import make_usage_row

SONNET = {"provider": "anthropic", "model": "claude-sonnet-4-5"}
# On or either side of bucket bounds, below the first, past the last.
DURATIONS = (0.0, 0.004, 0.005, 0.0051, 0.3, 1, 2.5, 599.9, 600, 601, 5000)


def usage_row(**changes: Any) -> UsageRow:
    row = {
        **SONNET,
        "input_tokens": 1200,
        "output_tokens": 340,
        "cache_read_tokens": 800,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.00831,
        "status_code": 200,
        "outcome": Outcome.ok,
        "latency_ms": 1834.5,
        "ttfb_ms": 412.25,
    }
    return make_usage_row(**{**row, **changes})


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, frozenset(labels.items()))]


def without_created_times(text: str) -> str:
    return re.sub(r"^(\w+_created(\{[^}]*\})?) \S+$", r"\1 T", text, flags=re.MULTILINE)


def test_request_durations_land_in_the_inclusive_bucket() -> None:
    metrics = GatewayMetrics()
    for seconds in DURATIONS:
        metrics.record_request("proxy", 200, seconds)
    metrics.record_request("api", 404, 0.02)

    text = metrics.render().decode()
    name = "gateway_http_request_duration_seconds"
    buckets = {le: value(text, f"{name}_bucket", surface="proxy", le=le) for le in ("0.005", "0.01", "600.0", "+Inf")}
    assert buckets == {"0.005": 3, "0.01": 4, "600.0": 9, "+Inf": 11}
    assert value(text, f"{name}_count", surface="proxy") == len(DURATIONS)
    assert value(text, f"{name}_sum", surface="proxy") == pytest.approx(sum(DURATIONS))
    assert value(text, f"{name}_count", surface="api") == 1
    assert value(text, "gateway_http_requests_total", surface="proxy", status="200") == len(DURATIONS)
    assert value(text, "gateway_http_requests_total", surface="api", status="404") == 1


def test_usage_rows_feed_calls_timings_tokens_spend_and_errors() -> None:
    metrics = GatewayMetrics()
    metrics.record_usage_row(usage_row())
    metrics.record_usage_row(usage_row(reasoning_tokens=-5, input_tokens=0))  # a bogus negative count is not counted
    metrics.record_usage_row(
        usage_row(outcome=Outcome.upstream_error, status_code=503, ttfb_ms=None, cost_usd=0.0, output_tokens=0)
    )

    text = metrics.render().decode()
    assert value(text, "gateway_proxied_calls_total", outcome="ok", **SONNET) == 2
    assert value(text, "gateway_proxied_calls_total", outcome="upstream_error", **SONNET) == 1
    tokens = {kind: value(text, "gateway_tokens_total", kind=kind, **SONNET) for kind in ("input", "output")}
    assert tokens == {"input": 2400, "output": 680}
    assert value(text, "gateway_tokens_total", kind="cache_read", **SONNET) == 2400
    assert value(text, "gateway_tokens_total", kind="reasoning", **SONNET) == 0  # exposed before its first token
    assert value(text, "gateway_spend_usd_total", **SONNET) == pytest.approx(2 * 0.00831)
    assert value(text, "gateway_upstream_call_duration_seconds_count", **SONNET) == 3
    assert value(text, "gateway_upstream_call_duration_seconds_bucket", le="1.0", **SONNET) == 0
    assert value(text, "gateway_upstream_call_duration_seconds_bucket", le="2.5", **SONNET) == 3
    assert value(text, "gateway_upstream_ttfb_seconds_count", **SONNET) == 2  # the failed call had no first byte
    assert value(text, "gateway_upstream_ttfb_seconds_sum", **SONNET) == pytest.approx(2 * 0.41225)
    errors = "gateway_upstream_errors_total"
    assert value(text, errors, provider="anthropic", outcome="upstream_error", status="503") == 1
    assert [key for key in samples(text) if key[0] == errors] == [
        (errors, frozenset({("provider", "anthropic"), ("outcome", "upstream_error"), ("status", "503")}))
    ]


def test_key_cache_and_quota_counters() -> None:
    metrics = GatewayMetrics()
    assert value(metrics.render().decode(), "gateway_key_cache_lookups_total", result="hit") == 0
    for _ in range(3):
        metrics.key_cache_hits.inc()
    metrics.key_cache_misses.inc()
    metrics.quota_refusals.labels(limit="requests_per_minute").inc()

    text = metrics.render().decode()
    assert value(text, "gateway_key_cache_lookups_total", result="hit") == 3
    assert value(text, "gateway_key_cache_lookups_total", result="miss") == 1
    assert value(text, "gateway_quota_refusals_total", limit="requests_per_minute") == 1
    with pytest.raises(ValueError, match="non-negative"):
        metrics.key_cache_hits.inc(-1)


def test_every_family_keeps_its_name_type_and_help() -> None:
    metrics = GatewayMetrics()
    metrics.record_request("proxy", 200, 0.1)
    metrics.record_usage_row(usage_row(outcome=Outcome.gateway_error, status_code=504))

    families = {
        family.name: (family.type, family.documentation)
        for family in text_string_to_metric_families(metrics.render().decode())
        if not family.name.endswith("_created")  # the text format's gauges beside each counter and histogram
    }
    assert {name: kind for name, (kind, _) in families.items()} == {
        "gateway_http_requests": "counter",
        "gateway_http_request_duration_seconds": "histogram",
        "gateway_proxied_calls": "counter",
        "gateway_upstream_call_duration_seconds": "histogram",
        "gateway_upstream_ttfb_seconds": "histogram",
        "gateway_tokens": "counter",
        "gateway_spend_usd": "counter",
        "gateway_upstream_errors": "counter",
        "gateway_quota_refusals": "counter",
        "gateway_key_cache_lookups": "counter",
        "gateway_state": "gauge",
    }
    assert families["gateway_spend_usd"][1] == "Spend in US dollars, by provider and model."


def reference_and_own(created: bool) -> tuple[str, str]:
    """The same observations through prometheus_client's Counter/Histogram and through our families."""
    reference = CollectorRegistry()
    counter = Counter("demo_calls", "Calls.", ["provider", "outcome"], registry=reference)
    histogram = Histogram("demo_seconds", "Durations.", ["provider"], buckets=LATENCY_BUCKETS, registry=reference)
    own_counter = CounterFamily("demo_calls", "Calls.", ["provider", "outcome"])
    own_histogram = HistogramFamily("demo_seconds", "Durations.", ["provider"], LATENCY_BUCKETS)
    own = CollectorRegistry()
    own.register(SeriesCollector(own_counter, own_histogram))
    for provider in ("anthropic", "openai"):
        for seconds in DURATIONS:
            counter.labels(provider=provider, outcome="ok").inc(seconds)
            own_counter.labels(provider, "ok").inc(seconds)
            histogram.labels(provider=provider).observe(seconds)
            own_histogram.labels(provider).observe(seconds)
    counter.labels(provider="openai", outcome="error").inc()
    own_counter.labels("openai", "error").inc()
    if not created:
        disable_created_metrics()
    try:
        return generate_latest(reference).decode(), generate_latest(own).decode()
    finally:
        enable_created_metrics()


@pytest.mark.parametrize("created", [True, False], ids=["created", "no-created"])
def test_exposition_matches_prometheus_client_line_for_line(created: bool) -> None:
    reference, own = reference_and_own(created)

    assert without_created_times(own) == without_created_times(reference)
    assert ("_created" in own) is created


def test_created_is_when_the_series_first_appeared() -> None:
    family = CounterFamily("demo_calls", "Calls.", ["outcome"])
    before = time.time()
    family.labels("ok").inc()
    after = time.time()
    time.sleep(0.01)
    family.labels("ok").inc()

    [created] = [sample.value for sample in family.collect(created=True).samples if sample.name == "demo_calls_created"]
    assert before <= created <= after


def test_label_values_are_checked_when_a_series_is_created() -> None:
    family = HistogramFamily("demo_seconds", "Durations.", ["provider", "model"], LATENCY_BUCKETS)
    with pytest.raises(ValueError, match="2 str label values"):
        family.labels("anthropic")
    with pytest.raises(ValueError, match="2 str label values"):
        family.labels("anthropic", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sorted"):
        HistogramFamily("demo_seconds", "Durations.", [], (1, 0.5))
    assert family.series == {}


def test_the_registry_refuses_a_second_metric_with_a_taken_name() -> None:
    metrics = GatewayMetrics()
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("gateway_http_requests", "Again.", registry=metrics.registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("gateway_upstream_ttfb_seconds_count", "Again.", registry=metrics.registry)
