"""Token Usage page: API answers shaped for display (numbers as text, chart rows, small-chart cards). No Reflex state."""

from __future__ import annotations

import math
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


# How many unpriced models the totals name before "and N more" (the card stays a card; the tooltip has them all).
UNPRICED_SHOWN = 3


def unpriced_note(models: list[str]) -> str:
    """The line under the spend that says which models it leaves out, or "" when every model has a price."""
    if not models:
        return ""
    shown = ", ".join(models[:UNPRICED_SHOWN])
    rest = len(models) - UNPRICED_SHOWN
    return f"Price unknown, counted as $0: {shown}" + (f" and {rest} more" if rest > 0 else "")


# The legend of the "estimated" mark on the Token Usage page (README: cut streams).
ESTIMATED_LEGEND = (
    "estimated: the call was cut before the provider reported its usage (the client left, or the upstream broke "
    "off); what the provider did not report is a conservative estimate, counted against limits like any call"
)


def estimated_note(estimated_requests: int) -> str:
    """The note under the request count that says how many calls have estimated usage, or "" when none."""
    return f"{format_count(estimated_requests)} estimated" if estimated_requests else ""


def message_policy_note(requests: int, cost_usd: float) -> str:
    """The line under the spend naming what the message policy judge's own calls cost of it, or "" when none."""
    if not requests:
        return ""
    calls = "call" if requests == 1 else "calls"
    return f"of which message policies: {format_usd(cost_usd)} ({format_count(requests)} judge {calls})"


def format_count(value: float) -> str:
    return f"{int(value):,}"


# Below a cent, costs keep two significant digits (at most this many decimals): $0.000032, not $0.0000.
MAX_USD_DECIMALS = 10


def format_usd(value: float) -> str:
    """Dollars with cents and thousands separators; an amount under a cent with its first two significant digits."""
    if value == 0:
        return "$0.00"
    if abs(value) < 0.01:
        decimals = min(MAX_USD_DECIMALS, 1 - math.floor(math.log10(abs(value))))
        return f"${value:.{decimals}f}".rstrip("0")
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
class BarPart:
    """One coloured part of a card's bar, as a share of the largest card's tokens (every card on one scale)."""

    label: str = ""
    color: str = ""
    width: str = "0%"
    text: str = ""  # "Output: 1,020"


@dataclass
class BreakdownCard:
    key: str = ""
    label: str = ""
    requests: int = 0
    failed_requests: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    requests_text: str = ""
    failed_text: str = ""
    tokens_text: str = ""
    cost_text: str = ""
    price_known: bool = True
    bar: list[BarPart] = field(default_factory=list)
    bar_title: str = ""  # every part's figure, for the bar's tooltip
    calls_href: str = ""  # the LLM Calls page behind the card (usage_links.card_calls_href)


def _share(value: int, scale: int) -> str:
    return f"{100 * value / scale:.4g}%" if scale > 0 else "0%"


def breakdown_card(entry: BreakdownEntry, scale: int) -> BreakdownCard:
    """A small-chart card; `scale` is the largest token count of any card, so bars compare across cards."""
    cache_read = entry.cache_read_tokens
    parts = (
        ("Input", TOKEN_TYPE_COLORS["input"], max(entry.input_tokens - cache_read, 0)),
        ("Cache read", TOKEN_TYPE_COLORS["cache_read"], cache_read),
        ("Output", TOKEN_TYPE_COLORS["output"], entry.output_tokens),
    )
    bar = [
        BarPart(label, f"var(--{color}-9)", _share(value, scale), f"{label}: {format_count(value)}")
        for label, color, value in parts
    ]
    return BreakdownCard(
        key=entry.key,
        label=entry.label,
        requests=entry.requests,
        failed_requests=entry.failed_requests,
        total_tokens=entry.input_tokens + entry.output_tokens,
        cost_usd=entry.cost_usd,
        requests_text=format_count(entry.requests),
        failed_text=format_count(entry.failed_requests),
        tokens_text=format_count(entry.input_tokens + entry.output_tokens),
        cost_text=format_usd(entry.cost_usd),
        price_known=entry.price_known is not False,
        bar=bar,
        bar_title=" · ".join(part.text for part in bar),
    )


def breakdown_cards(*groups: list[BreakdownEntry]) -> list[list[BreakdownCard]]:
    """Cards for each group of entries (by model, by user) on one scale: the largest token total of them all."""
    scale = max((e.input_tokens + e.output_tokens for entries in groups for e in entries), default=0)
    return [[breakdown_card(entry, scale) for entry in entries] for entries in groups]


def _series_color(name: str, index: int, grouped_by_type: bool) -> str:
    if grouped_by_type and name in TOKEN_TYPE_COLORS:
        return TOKEN_TYPE_COLORS[name]
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def _bucket_label(moment: str, bucket: str) -> str:
    parsed = datetime.fromisoformat(moment)
    return parsed.strftime("%b %d %H:00") if bucket == "hour" else parsed.strftime("%b %d")


SERIES_LABELS = MappingProxyType({**TOKEN_TYPE_LABELS, "cost_usd": "Spend", "requests": "Requests"})


def chart_data(
    timeseries: UsageTimeseries, bucket: str, end: datetime
) -> tuple[list[ChartSeries], list[dict[str, Any]]]:
    """Chart series and rows; the API also returns the bucket the (exclusive) end falls in, which is left out."""
    names: list[str] = list(timeseries["series"])
    grouped_by_type = timeseries["group_by"] == "token_type"
    series = [
        ChartSeries(
            key=f"s{index}",
            label=SERIES_LABELS.get(name, name) if grouped_by_type else name,
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
