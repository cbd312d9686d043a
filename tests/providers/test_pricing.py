"""Shipped price table lookups and cost arithmetic."""

from __future__ import annotations

import pytest

from gateway_api.providers.pricing import DEFAULT_PRICES, Price, cost_usd, default_price
from gateway_api.usage.tokens import TokenUsage


@pytest.mark.parametrize(
    ("model", "known"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-5-mini", "gpt-5-mini"),
        ("o3-2025-04-16", "o3"),
        ("o4-mini-2025-04-16", "o4-mini"),
    ],
)
def test_exact_and_dated_variants(model: str, known: str) -> None:
    assert default_price(model) == DEFAULT_PRICES[known]


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-audio-preview",
        "o3-deep-research",
        "claude-opus-4-9",
        "gpt-5.9",
        "llama-3",
        "",
        "claude-opus-4-2025",
    ],
)
def test_unknown_models_and_other_products_have_no_default(model: str) -> None:
    assert default_price(model) is None


def test_well_known_list_prices() -> None:
    assert default_price("claude-sonnet-4-5") == Price(3.0, 15.0, 0.3, 3.75)
    assert default_price("claude-opus-4-1") == Price(15.0, 75.0, 1.5, 18.75)
    assert default_price("claude-haiku-4-5") == Price(1.0, 5.0, 0.1, 1.25)
    assert default_price("gpt-5") == Price(1.25, 10.0, 0.125, 1.25)
    assert default_price("gpt-4o-mini") == Price(0.15, 0.6, 0.075, 0.15)


@pytest.mark.parametrize(
    ("model", "price"),
    [
        # The models the product description and the README name in their examples.
        ("claude-opus-4-8", Price(5.0, 25.0, 0.5, 6.25)),
        ("claude-opus-4.8", Price(5.0, 25.0, 0.5, 6.25)),
        ("claude-opus-4-8-20260528", Price(5.0, 25.0, 0.5, 6.25)),
        ("claude-opus-4-7", Price(5.0, 25.0, 0.5, 6.25)),
        ("gpt-5.5", Price(5.0, 30.0, 0.5, 5.0)),
        ("gpt-5.5-2026-04-23", Price(5.0, 30.0, 0.5, 5.0)),
        ("gpt-5.5-pro", Price(30.0, 180.0, 30.0, 30.0)),
        ("gpt-5.4", Price(2.5, 15.0, 0.25, 2.5)),
        ("gpt-5.4-mini", Price(0.75, 4.5, 0.075, 0.75)),
    ],
)
def test_the_models_the_docs_name_have_list_prices(model: str, price: Price) -> None:
    assert default_price(model) == price


def test_anthropic_cost_bills_each_cache_class_at_its_own_price() -> None:
    usage = TokenUsage(
        input_tokens=1_300_000,
        output_tokens=100_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=200_000,
    )
    price = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    # 100k uncached * 3 + 1M read * 0.3 + 200k write * 3.75 + 100k out * 15
    assert cost_usd(usage, price, "anthropic") == pytest.approx(0.3 + 0.3 + 0.75 + 1.5)


def test_openai_cost_cached_part_of_input_and_reasoning_part_of_output() -> None:
    usage = TokenUsage(
        input_tokens=2_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_500_000,
        reasoning_tokens=800_000,
    )
    price = Price(input=1.25, output=10.0, cache_read=0.125, cache_write=1.25)
    # 500k uncached * 1.25 + 1.5M cached * 0.125 + 1M out * 10 (reasoning not added again)
    assert cost_usd(usage, price, "openai") == pytest.approx(0.625 + 0.1875 + 10.0)


def test_inconsistent_figures_never_give_a_negative_cost() -> None:
    usage = TokenUsage(input_tokens=10, output_tokens=0, cache_read_tokens=50)
    price = Price(input=1.0, output=1.0, cache_read=0.1, cache_write=1.25)
    assert cost_usd(usage, price, "anthropic") == pytest.approx(50 * 0.1 / 1_000_000)


def test_zero_usage_costs_nothing() -> None:
    assert cost_usd(TokenUsage(), Price(1, 2, 3, 4), "openai") == 0.0
