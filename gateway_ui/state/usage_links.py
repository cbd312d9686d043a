"""Links between Token Usage and LLM Calls, both ways, as pure functions (no Reflex).

A bar on Token Usage (a bucket of the timeline, one series of it, a model's or a user's card) links to the LLM
Calls page filtered to the calls behind it: its time range, user, model and key. The LLM Calls page links back to
Token Usage for the same period, user, model and key.

The call log filters on one user, one model and one key at a time (indexed equalities), while Token Usage may
select several: a selection of several is not carried into a link (the link then shows every value of that
dimension), one alone is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from gateway_ui import routes
from gateway_ui.state.usage_filters import UsageView, period_params

BUCKET_LENGTHS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# Timeline rows carry their calls link under this name, and one per series under this prefix + the series key.
CALLS_LINK = "calls"
SERIES_CALLS_LINK_PREFIX = "calls_"
# The series the timeline folds the smaller users or models into (gateway_api.usage.queries.OTHER_SERIES).
OTHER_SERIES = "other"


def _instant(moment: datetime) -> str:
    """A UTC instant as the call log's `from` / `to` take it: no offset (read as UTC), to the second."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _one(values: tuple[str, ...]) -> str | None:
    return values[0] if len(values) == 1 else None


def calls_href(
    view: UsageView,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    user_id: str | None = None,
    model: str | None = None,
) -> str:
    """The LLM Calls page behind a slice of `view`: the slice's own range, user or model, else the view's."""
    period = period_params(view)
    params = {
        "from": _instant(start or datetime.fromisoformat(period["start"])),
        "to": _instant(end or datetime.fromisoformat(period["end"])),
        "user": user_id or _one(view.user_ids),
        "key": _one(view.key_ids),
        "model": model or _one(view.models),
    }
    return routes.LLM_CALLS + "?" + urlencode([(name, value) for name, value in params.items() if value])


def card_calls_href(view: UsageView, breakdown: str, key: str) -> str:
    """A breakdown card's calls: `key` is the model's name or the user's id ("" for a card naming nobody)."""
    if breakdown == "model":
        return calls_href(view, model=key) if key else ""
    return calls_href(view, user_id=key) if key.isdigit() else ""


def with_calls_links(
    rows: list[dict[str, Any]],
    timeseries: Mapping[str, Any],
    view: UsageView,
    user_ids_by_email: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The timeline's rows (usage_view.chart_data) with each bucket's calls link and, grouped by user or model, one
    per series: a user's or a model's part of the bar opens that user's or model's calls in the bucket ("other"
    and unknown names open the whole bucket)."""
    length = BUCKET_LENGTHS[view.bucket]
    group_by = str(timeseries["group_by"])
    names: list[str] = list(timeseries["series"])
    linked = []
    # chart_data keeps the points in order and leaves out only the last (the bucket of the exclusive end).
    for row, point in zip(rows, timeseries["points"], strict=False):
        start = datetime.fromisoformat(point["bucket_start"])
        whole = calls_href(view, start=start, end=start + length)
        links = {CALLS_LINK: whole}
        for index, name in enumerate(names):
            if group_by == "user" and name in user_ids_by_email:
                href = calls_href(view, start=start, end=start + length, user_id=user_ids_by_email[name])
            elif group_by == "model" and name != OTHER_SERIES:
                href = calls_href(view, start=start, end=start + length, model=name)
            else:
                href = whole
            links[f"{SERIES_CALLS_LINK_PREFIX}s{index}"] = href  # chart_data's series keys
        linked.append(row | links)
    return linked


def _day(value: str, *, exclusive: bool) -> date | None:
    """The UTC day of a call-log bound; an exclusive end at midnight belongs to the day before."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return (moment - timedelta(microseconds=1)).date() if exclusive else moment.date()


def usage_href(filters: Mapping[str, str]) -> str:
    """Token Usage for the LLM Calls page's filters: its period (whole UTC days), user, model and key. The
    filters Token Usage has no counterpart for (provider, status, outcome, client, session, text) are left out."""
    start = _day(filters.get("from", ""), exclusive=False)
    end = _day(filters.get("to", ""), exclusive=True)
    params = {
        "from": start.isoformat() if start else "",
        "to": end.isoformat() if end else "",
        "users": filters.get("user", "") if filters.get("user", "").isdigit() else "",
        "models": filters.get("model", ""),
        "keys": filters.get("key", "") if filters.get("key", "").isdigit() else "",
    }
    query = urlencode([(name, value) for name, value in params.items() if value], safe=",:@/")
    return routes.USAGE + (f"?{query}" if query else "")
