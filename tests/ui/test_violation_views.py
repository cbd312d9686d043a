"""The Policy Violations page's pure parts: the URL's filters, the API's filters, rows, the drawer and its link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from gateway_ui.api.message_policies import StatRow, Violation, ViolationDetail
from gateway_ui.state.violation_views import (
    api_filters,
    call_link,
    detail_fields,
    filters_from_query,
    query_from_filters,
    stat_lines,
    violation_row,
)


def _violation(**changes: object) -> Violation:
    base: dict[str, object] = {
        "id": 7,
        "created_at": "2026-12-04T16:05:09.123456Z",
        "policy_id": 2,
        "policy_name": "no-keys",
        "user_id": 4,
        "user_email": "dev@example.com",
        "api_key_id": 9,
        "key_name": "laptop",
        "scope": "tool_results",
        "action": "redact",
        "explanation": "An AWS key",
        "call_id": "req-abc_1.2",
    }
    base.update(changes)
    return Violation.model_validate(base)


def test_filters_round_trip_through_the_url_and_ids_must_be_ids() -> None:
    filters = filters_from_query({"policy": " 2 ", "user": "me@example.com", "scope": "tool_calls", "junk": "x"})
    assert filters == {"policy": "2", "scope": "tool_calls"}
    assert query_from_filters(filters) == "policy=2&scope=tool_calls"
    assert filters_from_query({k: v[0] for k, v in parse_qs(query_from_filters(filters)).items()}) == filters


def test_the_forms_to_day_is_included() -> None:
    assert api_filters({"from": "2026-12-01", "to": "2026-12-31"}) == {"from": "2026-12-01", "to": "2027-01-01"}
    assert api_filters({"to": "2026-12-04T10:00:00Z"}) == {"to": "2026-12-04T10:00:00Z"}
    assert api_filters({"to": "2026-13-45"}) == {"to": "2026-13-45"}  # the API names the bad field
    assert api_filters({"action": "block"}) == {"action": "block"}


def test_a_row_names_the_user_and_key_and_the_scope_in_words() -> None:
    row = violation_row(_violation())
    assert (row.time, row.who, row.scope, row.action) == (
        "2026-12-04 16:05:09",
        "dev@example.com (laptop)",
        "Tool results",
        "redact",
    )
    assert violation_row(_violation(user_email=None, key_name=None)).who == "unknown"
    assert violation_row(_violation(user_email=None)).who == "laptop"


def test_the_drawer_links_to_the_call_and_leaves_out_empty_fields() -> None:
    detail = ViolationDetail.model_validate({**_violation(key_name=None).model_dump(), "content": "AKIA..."})
    labels = [label for label, _value in detail_fields(detail)]
    assert "Key" not in labels and "Gateway call id" in labels
    link = urlsplit(call_link(detail.call_id))
    assert (link.path, parse_qs(link.query)) == ("/llm-gateway/calls", {"call": ["req-abc_1.2"]})
    assert call_link(None) == ""


def test_stat_bars_are_relative_to_the_largest_count_shown_and_days_newest_first() -> None:
    rows = [StatRow(key="3", label="", count=2), StatRow(key="2", label="no-keys", count=8)]
    lines = stat_lines(rows, "policy")
    assert [(line.label, line.count, line.share) for line in lines] == [("no-keys", 8, 100), ("3", 2, 25)]
    many = [StatRow(key=str(n), label=f"p{n}", count=n) for n in range(1, 21)]
    assert [line.count for line in stat_lines(many, "user", limit=3)] == [20, 19, 18]
    days = [StatRow(key=f"2026-12-0{d}", label=f"2026-12-0{d}", count=10 - d) for d in range(1, 6)]
    shown = stat_lines(days, "day", limit=2)
    assert [(line.label, line.share) for line in shown] == [("2026-12-05", 83), ("2026-12-04", 100)]
    assert stat_lines([], "day") == []
