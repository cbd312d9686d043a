"""The Policy Violations page's pure parts (no Reflex): the filters as they sit in the URL, a violation as a table
row and as the drawer's fields, the stats, and the link to the call a violation belongs to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from gateway_ui import routes
from gateway_ui.api.message_policies import StatRow, Violation, ViolationDetail
from gateway_ui.state.message_policy_views import SCOPE_LABELS

# The API's filters the page offers, in the order of its form; the URL query string uses the same names.
FILTER_KEYS = ("policy", "user", "scope", "action", "from", "to")
# Filters whose value is an id: anything else in the URL is dropped rather than sent for the API to refuse.
ID_FILTERS = ("policy", "user")
STATS_BY = ("policy", "user", "day")
STATS_TITLES = {"policy": "By policy", "user": "By user", "day": "By day"}
STATS_SHOWN = 8  # lines per stats card: the largest counts, or the newest days


def filters_from_query(query: Mapping[str, str]) -> dict[str, str]:
    filters = {key: str(query[key]).strip() for key in FILTER_KEYS if str(query.get(key, "")).strip()}
    return {key: value for key, value in filters.items() if key not in ID_FILTERS or value.isdigit()}


def query_from_filters(filters: Mapping[str, str]) -> str:
    return urlencode([(key, filters[key]) for key in FILTER_KEYS if filters.get(key)])


def api_filters(filters: Mapping[str, str]) -> dict[str, str]:
    """The URL's filters as the API takes them: the form's "to" is a day, included; the API's "to" is exclusive."""
    sent = dict(filters)
    to = sent.get("to", "")
    try:
        sent["to"] = (date.fromisoformat(to) + timedelta(days=1)).isoformat() if len(to) == len("2025-01-31") else to
    except ValueError:
        pass  # the API names the field in its answer
    if not to:
        sent.pop("to", None)
    return sent


def call_link(call_id: str | None) -> str:
    """The LLM Calls page opened on this call's drawer (empty: the violation has no call record)."""
    return f"{routes.LLM_CALLS}?{urlencode({'call': call_id})}" if call_id else ""


def who(violation: Violation) -> str:
    user = violation.user_email or ""
    if violation.key_name:
        return f"{user} ({violation.key_name})" if user else violation.key_name
    return user or "unknown"


def shown_time(created_at: str) -> str:
    return created_at.replace("T", " ")[:19]


@dataclass
class ViolationRow:
    id: int = 0
    time: str = ""
    policy: str = ""
    who: str = ""
    scope: str = ""
    action: str = ""
    explanation: str = ""


def violation_row(violation: Violation) -> ViolationRow:
    return ViolationRow(
        id=violation.id,
        time=shown_time(violation.created_at),
        policy=violation.policy_name,
        who=who(violation),
        scope=SCOPE_LABELS.get(violation.scope, violation.scope),
        action=violation.action,
        explanation=violation.explanation,
    )


def detail_fields(violation: ViolationDetail) -> list[list[str]]:
    """(label, value) pairs for the drawer, the empty ones left out."""
    pairs = (
        ("Time (UTC)", shown_time(violation.created_at)),
        ("Policy", violation.policy_name),
        ("User", violation.user_email or ""),
        ("Key", violation.key_name or ""),
        ("Scope", SCOPE_LABELS.get(violation.scope, violation.scope)),
        ("Action", violation.action),
        ("Explanation", violation.explanation),
        ("Gateway call id", violation.call_id or ""),
    )
    return [[label, value] for label, value in pairs if value]


@dataclass
class StatLine:
    label: str = ""
    count: int = 0
    share: int = 0  # percent of the largest count, for the bar


def stat_lines(rows: Sequence[StatRow], by: str, limit: int = STATS_SHOWN) -> list[StatLine]:
    """The `limit` largest counts (for days: the newest days), each with a bar relative to the largest shown."""
    if by == "day":
        ordered = sorted(rows, key=lambda row: row.key, reverse=True)
    else:
        ordered = sorted(rows, key=lambda row: row.count, reverse=True)
    shown = ordered[:limit]
    top = max((row.count for row in shown), default=0)
    return [
        StatLine(label=row.label or row.key, count=row.count, share=round(100 * row.count / top) if top else 0)
        for row in shown
    ]
