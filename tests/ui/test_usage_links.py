"""What the links between Token Usage and LLM Calls carry: a bar's slice one way, the calls' filters the other."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit

from gateway_ui.state import usage_filters as filters
from gateway_ui.state.usage_links import calls_href, card_calls_href, usage_href, with_calls_links
from gateway_ui.state.usage_view import chart_data

TODAY = date(2026, 3, 10)
SEVEN_DAYS = {"from": "2026-03-04T00:00:00", "to": "2026-03-11T00:00:00"}


def _end(view: filters.UsageView) -> datetime:
    return datetime.fromisoformat(filters.period_params(view)["end"])


def _query(href: str) -> dict[str, str]:
    parts = urlsplit(href)
    return {"path": parts.path, **dict(parse_qsl(parts.query))}


def test_a_card_opens_the_calls_of_its_model_or_user_over_the_views_period() -> None:
    view = filters.view_from_query({"keys": "9"}, TODAY)

    model = _query(card_calls_href(view, "model", "gpt-4.1"))
    user = _query(card_calls_href(view, "user", "3"))

    assert model == {"path": "/llm-gateway/calls", **SEVEN_DAYS, "key": "9", "model": "gpt-4.1"}
    assert user == {"path": "/llm-gateway/calls", **SEVEN_DAYS, "user": "3", "key": "9"}
    assert card_calls_href(view, "user", "") == ""  # a card naming nobody links nowhere


def test_one_selected_value_is_carried_several_are_not() -> None:
    one = filters.view_from_query({"users": "3", "models": "a/b:c"}, TODAY)
    several = filters.view_from_query({"users": "3,5", "models": "x,y", "keys": "1,2"}, TODAY)

    assert _query(calls_href(one)) == {"path": "/llm-gateway/calls", **SEVEN_DAYS, "user": "3", "model": "a/b:c"}
    assert _query(calls_href(several)) == {"path": "/llm-gateway/calls", **SEVEN_DAYS}
    # The slice's own value wins over the view's selection.
    assert _query(calls_href(several, model="z"))["model"] == "z"


def test_each_timeline_bucket_and_series_links_to_its_calls() -> None:
    view = filters.view_from_query({"from": "2026-03-09", "to": "2026-03-09", "group": "user"}, TODAY)
    answer = {
        "group_by": "user",
        "series": ["ann@example.com", "other"],
        "points": [
            {"bucket_start": "2026-03-09T00:00:00+00:00", "series": {"ann@example.com": 5, "other": 1}},
            {"bucket_start": "2026-03-09T01:00:00+00:00", "series": {"ann@example.com": 0, "other": 2}},
            {"bucket_start": "2026-03-10T00:00:00+00:00", "series": {"ann@example.com": 0, "other": 0}},
        ],
    }
    _, rows = chart_data(answer, view.bucket, _end(view))

    linked = with_calls_links(rows, answer, view, {"ann@example.com": "7"})

    assert len(linked) == 2 and linked[0]["s0"] == 5
    first_hour = {"path": "/llm-gateway/calls", "from": "2026-03-09T00:00:00", "to": "2026-03-09T01:00:00"}
    assert _query(linked[0]["calls"]) == first_hour
    assert _query(linked[0]["calls_s0"]) == {**first_hour, "user": "7"}
    assert linked[0]["calls_s1"] == linked[0]["calls"]  # "other" is the whole bucket
    assert _query(linked[1]["calls"])["from"] == "2026-03-09T01:00:00"


def test_model_series_link_to_their_model_by_the_day() -> None:
    view = filters.view_from_query({"group": "model"}, TODAY)
    answer = {
        "group_by": "model",
        "series": ["gpt-4.1"],
        "points": [{"bucket_start": "2026-03-10T00:00:00+00:00", "series": {"gpt-4.1": 3}}],
    }
    _, rows = chart_data(answer, view.bucket, _end(view))

    (row,) = with_calls_links(rows, answer, view, {})

    assert _query(row["calls_s0"]) == {
        "path": "/llm-gateway/calls",
        "from": "2026-03-10T00:00:00",
        "to": "2026-03-11T00:00:00",
        "model": "gpt-4.1",
    }


def test_the_calls_page_links_back_to_the_whole_days_of_its_filters() -> None:
    calls = {"from": "2026-03-09T10:30:00", "to": "2026-03-11T00:00:00", "user": "3", "model": "m", "status": "429"}

    assert _query(usage_href(calls)) == {
        "path": "/llm-gateway/usage",
        "from": "2026-03-09",
        "to": "2026-03-10",  # an exclusive midnight end is the day before's end
        "users": "3",
        "models": "m",
    }
    assert usage_href({"from": "2026-03-09T10:30:00Z", "key": "4"}) == "/llm-gateway/usage?from=2026-03-09&keys=4"
    assert usage_href({"from": "yesterday", "user": "x"}) == "/llm-gateway/usage"
    # A round trip: the calls behind a view lead back to the same view.
    view = filters.view_from_query({"from": "2026-03-01", "to": "2026-03-02", "users": "3", "keys": "9"}, TODAY)
    back = filters.view_from_query(_query(usage_href(_query(calls_href(view)))), TODAY)
    assert back == view
