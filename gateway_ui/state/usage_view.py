"""Token Usage page: API answers shaped for display (numbers as text, chart rows, small-chart cards). No Reflex state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from gateway_ui.api.usage import BreakdownEntry, UsageTimeseries

# Radix colour steps, distinct side by side; series beyond the palette reuse it.
SERIES_COLORS = ("indigo", "amber", "teal", "crimson", "violet", "grass", "orange", "cyan", "pink", "brown", "gray")
# Token types keep one colour everywhere (timeline and the small per-model / per-user charts).
TOKEN_TYPE_COLORS = MappingProxyType(
    {"input": "indigo", "cache_read": "teal", "cache_write": "grass", "output": "amber"}
)
TOKEN_TYPE_LABELS = MappingProxyType(
    {"input": "Input (uncached)", "cache_read": "Cache read", "cache_write": "Cache write", "output": "Output"}
)
BREAKDOWN_SORTS = MappingProxyType(
    {
        "spend": lambda row: (-row.cost_usd, row.label),
        "tokens": lambda row: (-row.total_tokens, row.label),
        "requests": lambda row: (-row.requests, row.label),
        "name": lambda row: (row.label.lower(),),
    }
)
MAX_SMALL_CHARTS = 12


def format_count(value: float) -> str:
    return f"{int(value):,}"


def format_usd(value: float) -> str:
    """Dollars with cents; sub-cent amounts keep four decimals so small test traffic is not shown as $0.00."""
    if 0 < abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


@dataclass
class FilterOption:
    value: str = ""
    label: str = ""


@dataclass
class ChartSeries:
    key: str = ""  # "s0", "s1"...: recharts reads dots in a dataKey as nested paths, so names cannot be keys
    label: str = ""
    color: str = ""


@dataclass
class BreakdownCard:
    key: str = ""
    label: str = ""
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    requests_text: str = ""
    tokens_text: str = ""
    cost_text: str = ""
    # One row for the card's small stacked bar: uncached input, cache reads, output.
    bar: list[dict[str, int]] = field(default_factory=list)


def breakdown_card(entry: BreakdownEntry) -> BreakdownCard:
    input_tokens = entry.input_tokens
    output_tokens = entry.output_tokens
    cache_read = entry.cache_read_tokens
    return BreakdownCard(
        key=entry.key,
        label=entry.label,
        requests=entry.requests,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        total_tokens=input_tokens + output_tokens,
        cost_usd=entry.cost_usd,
        requests_text=format_count(entry.requests),
        tokens_text=format_count(input_tokens + output_tokens),
        cost_text=format_usd(entry.cost_usd),
        bar=[{"uncached": max(input_tokens - cache_read, 0), "cached": cache_read, "output": output_tokens}],
    )


def _series_color(name: str, index: int, grouped_by_type: bool) -> str:
    if grouped_by_type and name in TOKEN_TYPE_COLORS:
        return TOKEN_TYPE_COLORS[name]
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def _bucket_label(moment: str, bucket: str) -> str:
    parsed = datetime.fromisoformat(moment)
    return parsed.strftime("%b %d %H:00") if bucket == "hour" else parsed.strftime("%b %d")


def chart_data(
    timeseries: UsageTimeseries, bucket: str, end: datetime
) -> tuple[list[ChartSeries], list[dict[str, Any]]]:
    """Chart series and rows; the API also returns the bucket the (exclusive) end falls in, which is left out."""
    names: list[str] = list(timeseries["series"])
    grouped_by_type = timeseries["group_by"] == "token_type"
    series = [
        ChartSeries(
            key=f"s{index}",
            label=TOKEN_TYPE_LABELS.get(name, name) if grouped_by_type else name,
            color=f"var(--{_series_color(name, index, grouped_by_type)}-9)",
        )
        for index, name in enumerate(names)
    ]
    rows = []
    for point in timeseries["points"]:
        if datetime.fromisoformat(point["bucket_start"]) >= end:
            continue
        row: dict[str, Any] = {"bucket": _bucket_label(point["bucket_start"], bucket)}
        for index, name in enumerate(names):
            row[f"s{index}"] = point["series"].get(name, 0)
        rows.append(row)
    return series, rows


def visible_cards(cards: list[BreakdownCard], search: str, sort: str) -> list[BreakdownCard]:
    needle = search.strip().lower()
    matching = [card for card in cards if needle in card.label.lower()] if needle else list(cards)
    return sorted(matching, key=BREAKDOWN_SORTS.get(sort, BREAKDOWN_SORTS["spend"]))


def is_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def selected_labels(selected: list[str], options: list[FilterOption], noun: str) -> list[FilterOption]:
    labels = {option.value: option.label for option in options}
    return [FilterOption(value=value, label=labels.get(value, f"{noun} {value}")) for value in selected]
