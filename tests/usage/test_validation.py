"""Usage figures from upstreams, corrected into what the usage columns hold (the rules of usage/validation.py)."""

from __future__ import annotations

import math

import pytest

from gateway_api.usage.validation import MAX_TOKEN_COUNT, correct_row, token_figure
from tests.support.usage_rows import make_usage_row


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10**30, MAX_TOKEN_COUNT),  # an integer beyond the column: clamped
        (2**31, MAX_TOKEN_COUNT),
        (1e30, MAX_TOKEN_COUNT),  # how orjson reads an integer beyond 64 bits
        (12.0, 12),
        (-5, None),  # negative: garbage, not a refund
        (1.5, None),
        ("12", None),
        (True, None),
        (math.nan, None),
        (math.inf, None),
        ([], None),
    ],
)
def test_a_figure_out_of_range_or_not_a_count_is_clamped_or_dropped(value: object, expected: int | None) -> None:
    assert token_figure("input_tokens", value) == expected


def test_a_dropped_or_clamped_figure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    token_figure("output_tokens", -5)
    token_figure("output_tokens", 10**30)
    token_figure("output_tokens", 7.0)  # an integral float is no correction

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "output_tokens" in messages[0] and "-5" in messages[0] and "dropped" in messages[0]
    assert f"clamped to {MAX_TOKEN_COUNT}" in messages[1]


def test_a_sane_row_is_left_alone() -> None:
    row = make_usage_row(input_tokens=MAX_TOKEN_COUNT, output_tokens=0, cost_usd=1.5)
    assert correct_row(row) == 0
    assert (row.tokens.input_tokens, row.cost_usd) == (MAX_TOKEN_COUNT, 1.5)


def test_a_row_beyond_the_columns_is_clamped_in_place() -> None:
    # Anthropic's input is the sum of three figures, each in range on its own.
    row = make_usage_row(input_tokens=3 * MAX_TOKEN_COUNT, output_tokens=-1, cost_usd=math.nan)

    assert correct_row(row) == 3
    assert (row.tokens.input_tokens, row.tokens.output_tokens, row.cost_usd) == (MAX_TOKEN_COUNT, 0, 0.0)


def test_an_infinite_cost_becomes_zero() -> None:
    row = make_usage_row(cost_usd=math.inf)
    assert correct_row(row) == 1 and row.cost_usd == 0.0
