"""Lock-free counters and histograms for the metrics updated on every request, exposed through a custom collector.

prometheus_client guards every child value with a threading.Lock and finds a histogram bucket by linear search;
profiled at 64 concurrent proxied calls that bookkeeping cost several percent of a worker's core. Here the
updates are plain attribute arithmetic and a `bisect`. A `SeriesCollector` registered in the process's
CollectorRegistry turns the accumulators into metric families at scrape time, with the names, labels, buckets and
samples (`_total`, `_bucket`, `_count`, `_sum`, `_created`) that prometheus_client's own Counter and Histogram emit.

Not thread-safe, on purpose: every update runs on the event loop thread of one worker process (the request
wrapper, the proxy's usage row, the key authenticator), and so does the scrape (the async /metrics route). Update
these only from the event loop.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from prometheus_client import metrics as prometheus_metrics
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


def _created_series_enabled() -> bool:
    """Follows prometheus_client's own switch (PROMETHEUS_DISABLE_CREATED_SERIES, disable_created_metrics())."""
    return getattr(prometheus_metrics, "_use_created", True)


class CounterValue:
    """One counter series. Hot paths may add to `value` directly when the amount is known not to be negative."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        self.value += amount


class HistogramValue:
    """One histogram series: a count per bucket (not cumulative) and the sum of observations."""

    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        # The first bound >= amount is the bucket whose `le` includes it; the last bound is +Inf.
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


V = TypeVar("V", CounterValue, HistogramValue)


class _Family(ABC, Generic[V]):
    """A metric's series by label values, created on first use and never removed."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.series: dict[tuple[str, ...], V] = {}

    def labels(self, *values: str) -> V:
        """The series for these label values (positional, in `labelnames` order). Resolve once and keep it:
        a caller on the hot path should hold the returned value rather than look it up per update."""
        series = self.series.get(values)
        if series is None:
            if len(values) != len(self.labelnames) or not all(type(value) is str for value in values):
                raise ValueError(f"{self.name} takes {len(self.labelnames)} str label values, got {values!r}")
            series = self.series[values] = self._new_series()
        return series

    @abstractmethod
    def _new_series(self) -> V: ...

    @abstractmethod
    def empty(self) -> Metric:
        """The family with no samples, for the registry's name check (`describe`)."""

    @abstractmethod
    def collect(self, created: bool) -> Metric:
        """The family with every series, `_created` samples included when `created`."""


class CounterFamily(_Family[CounterValue]):
    def _new_series(self) -> CounterValue:
        return CounterValue()

    def empty(self) -> Metric:
        return CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self, created: bool) -> Metric:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        # A snapshot of the items: a scrape never walks a dict that grows under it.
        for values, series in tuple(self.series.items()):
            family.add_metric(values, series.value, created=series.created if created else None)
        return family


class HistogramFamily(_Family[HistogramValue]):
    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]) -> None:
        super().__init__(name, documentation, labelnames)
        bounds = [float(bound) for bound in buckets]
        if bounds != sorted(bounds):
            raise ValueError("Buckets not in sorted order")
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        if len(bounds) < 2:
            raise ValueError("Must have at least two buckets")
        self.bounds = tuple(bounds)
        self._le = tuple(floatToGoString(bound) for bound in bounds)

    def _new_series(self) -> HistogramValue:
        return HistogramValue(self.bounds)

    def empty(self) -> Metric:
        return HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self, created: bool) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, series in tuple(self.series.items()):
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            for le, count in zip(self._le, tuple(series.counts), strict=True):
                cumulative += count
                buckets.append((le, cumulative))
            family.add_metric(values, buckets, series.sum)
            if created:
                family.add_sample(
                    f"{self.name}_created", dict(zip(self.labelnames, values, strict=True)), series.created
                )
        return family


class SeriesCollector(Collector):
    """Exposes families in the registry, in the given order; `describe` lets the registry refuse clashing names."""

    def __init__(self, *families: CounterFamily | HistogramFamily) -> None:
        self._families = families

    def describe(self) -> Iterable[Metric]:
        return [family.empty() for family in self._families]

    def collect(self) -> Iterable[Metric]:
        created = _created_series_enabled()
        return [family.collect(created) for family in self._families]
