"""What a Token Usage link means: URL query <-> filters <-> API parameters, and the chart rows built from the API."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway_ui.state import usage_filters as filters
from gateway_ui.state.usage_view import chart_data, format_usd

TODAY = date(2026, 3, 10)


def test_no_query_means_the_last_seven_days_ungrouped_and_unfiltered() -> None:
    view = filters.view_from_query({}, TODAY)

    assert (view.start_day, view.end_day, view.days) == (date(2026, 3, 4), TODAY, 7)
    assert (view.user_ids, view.models, view.key_ids, view.group_by) == ((), (), (), "token_type")
    assert filters.query_from_view(view) == ""
    assert filters.api_params(view) == {"start": "2026-03-04T00:00:00+00:00", "end": "2026-03-11T00:00:00+00:00"}


def test_a_shared_query_round_trips() -> None:
    query = {
        "from": "2026-02-01",
        "to": "2026-02-02",
        "users": "3,5",
        "models": "gpt-4.1,a/b:c",
        "keys": "9",
        "group": "model",
    }

    view = filters.view_from_query(query, TODAY)

    assert (
        filters.query_from_view(view)
        == "from=2026-02-01&to=2026-02-02&users=3,5&models=gpt-4.1,a/b:c&keys=9&group=model"
    )
    assert view.bucket == "hour"
    assert filters.api_params(view) == {
        "start": "2026-02-01T00:00:00+00:00",
        "end": "2026-02-03T00:00:00+00:00",
        "user_ids": ["3", "5"],
        "models": ["gpt-4.1", "a/b:c"],
        "api_key_ids": ["9"],
    }


def test_malformed_values_fall_back_instead_of_failing() -> None:
    query = {"from": "2026-02-10", "to": "2026-02-01", "users": "1,x,-2,0,1", "group": "<script>", "keys": ""}

    view = filters.view_from_query(query, TODAY)

    assert (view.start_day, view.end_day) == (date(2026, 3, 4), TODAY)  # reversed range: the default
    assert view.user_ids == ("1",)
    assert view.group_by == "token_type"
    assert filters.query_from_view(view) == "users=1"


def test_the_chart_leaves_out_the_bucket_of_the_exclusive_end_and_keys_series_safely() -> None:
    answer = {
        "group_by": "model",
        "series": ["gpt-4.1", "other"],
        "points": [
            {"bucket_start": "2026-03-09T00:00:00Z", "series": {"gpt-4.1": 5, "other": 1}},
            {"bucket_start": "2026-03-10T00:00:00Z", "series": {"gpt-4.1": 0, "other": 2}},
            {"bucket_start": "2026-03-11T00:00:00Z", "series": {"gpt-4.1": 0, "other": 0}},
        ],
    }

    series, rows = chart_data(answer, "day", datetime(2026, 3, 11, tzinfo=UTC))

    assert [(s.key, s.label) for s in series] == [("s0", "gpt-4.1"), ("s1", "other")]
    assert rows == [{"bucket": "Mar 09", "s0": 5, "s1": 1}, {"bucket": "Mar 10", "s0": 0, "s1": 2}]


def test_spend_keeps_sub_cent_amounts_visible() -> None:
    assert [format_usd(v) for v in (0, 0.0042, 0.01, 1234.5)] == ["$0.00", "$0.0042", "$0.01", "$1,234.50"]
