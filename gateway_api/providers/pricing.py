"""Shipped list prices for well-known OpenAI and Anthropic models, and the cost of one call.

Prices are USD per million tokens, taken from the providers' public price lists (standard tier,
prompts up to 200K tokens; Anthropic cache writes at the 5-minute TTL rate). An admin can override
them per model; these are only the defaults for a freshly added model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import PROVIDERS
from gateway_api.usage.tokens import TokenUsage

TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


def _openai(input_price: float, output_price: float, cached_input: float | None = None) -> Price:
    # OpenAI charges nothing extra to write its cache; models without a cache discount bill cached
    # tokens at the full input price.
    cache_read = input_price if cached_input is None else cached_input
    return Price(input_price, output_price, cache_read, input_price)


def _anthropic(input_price: float, output_price: float) -> Price:
    # Anthropic's published multipliers: cache hits 0.1x input, 5-minute cache writes 1.25x input.
    return Price(input_price, output_price, round(input_price * 0.1, 6), input_price * 1.25)


DEFAULT_PRICES: MappingProxyType[str, Price] = MappingProxyType(
    {
        # Anthropic
        "claude-opus-4-8": _anthropic(5.0, 25.0),
        # The product description spells it with a dot; a gateway model added under that name gets the same price.
        "claude-opus-4.8": _anthropic(5.0, 25.0),
        "claude-opus-4-7": _anthropic(5.0, 25.0),
        "claude-opus-4-6": _anthropic(5.0, 25.0),
        "claude-opus-4-5": _anthropic(5.0, 25.0),
        "claude-opus-4-1": _anthropic(15.0, 75.0),
        "claude-opus-4-0": _anthropic(15.0, 75.0),
        "claude-opus-4": _anthropic(15.0, 75.0),
        "claude-sonnet-4-6": _anthropic(3.0, 15.0),
        "claude-sonnet-4-5": _anthropic(3.0, 15.0),
        "claude-sonnet-4-0": _anthropic(3.0, 15.0),
        "claude-sonnet-4": _anthropic(3.0, 15.0),
        "claude-haiku-4-5": _anthropic(1.0, 5.0),
        "claude-3-7-sonnet": _anthropic(3.0, 15.0),
        "claude-3-5-sonnet": _anthropic(3.0, 15.0),
        "claude-3-5-haiku": _anthropic(0.8, 4.0),
        "claude-3-opus": _anthropic(15.0, 75.0),
        "claude-3-haiku": Price(0.25, 1.25, 0.03, 0.30),
        # OpenAI
        "gpt-5.5": _openai(5.0, 30.0, 0.5),
        "gpt-5.5-pro": _openai(30.0, 180.0),
        "gpt-5.4": _openai(2.5, 15.0, 0.25),
        "gpt-5.4-mini": _openai(0.75, 4.5, 0.075),
        "gpt-5.2": _openai(1.75, 14.0, 0.175),
        "gpt-5.1": _openai(1.25, 10.0, 0.125),
        "gpt-5.1-codex": _openai(1.25, 10.0, 0.125),
        "gpt-5.1-codex-mini": _openai(0.25, 2.0, 0.025),
        "gpt-5": _openai(1.25, 10.0, 0.125),
        "gpt-5-codex": _openai(1.25, 10.0, 0.125),
        "gpt-5-chat-latest": _openai(1.25, 10.0, 0.125),
        "gpt-5-mini": _openai(0.25, 2.0, 0.025),
        "gpt-5-nano": _openai(0.05, 0.40, 0.005),
        "gpt-5-pro": _openai(15.0, 120.0),
        "gpt-4.1": _openai(2.0, 8.0, 0.5),
        "gpt-4.1-mini": _openai(0.4, 1.6, 0.1),
        "gpt-4.1-nano": _openai(0.1, 0.4, 0.025),
        "gpt-4o": _openai(2.5, 10.0, 1.25),
        "gpt-4o-mini": _openai(0.15, 0.6, 0.075),
        "o1": _openai(15.0, 60.0, 7.5),
        "o1-mini": _openai(1.1, 4.4, 0.55),
        "o3": _openai(2.0, 8.0, 0.5),
        "o3-pro": _openai(20.0, 80.0),
        "o3-mini": _openai(1.1, 4.4, 0.55),
        "o4-mini": _openai(1.1, 4.4, 0.275),
        "codex-mini-latest": _openai(1.5, 6.0, 0.375),
    }
)

# What may follow a known name for a variant to share its price: a snapshot date
# (claude-sonnet-4-5-20250929, gpt-4.1-2025-04-14) or "-latest". Other suffixes (-pro, -mini,
# -audio-preview ...) are different products with different prices, so they get no default.
_VARIANT_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)")


def default_price(model_name: str) -> Price | None:
    """The list price of `model_name`: exact match, else the longest known name of which it is a
    dated snapshot. None when unknown (cost is then recorded as 0 until an admin sets a price)."""
    exact = DEFAULT_PRICES.get(model_name)
    if exact is not None:
        return exact
    best: str | None = None
    for known in DEFAULT_PRICES:
        if (
            model_name.startswith(known)
            and _VARIANT_SUFFIX.fullmatch(model_name, len(known))
            and (best is None or len(known) > len(best))
        ):
            best = known
    return DEFAULT_PRICES[best] if best is not None else None


def cost_usd(usage: TokenUsage, price: Price, provider: ProviderName) -> float:
    """Cost of one call. Cached tokens are part of `usage.input_tokens` and billed at their own
    prices; reasoning tokens are part of `usage.output_tokens` and not billed twice."""
    cache_read = max(usage.cache_read_tokens, 0)
    cache_write = max(usage.cache_write_tokens, 0)
    uncached_input = max(usage.input_tokens - cache_read - cache_write, 0)
    # Where cache writes have no fee of their own (OpenAI), such tokens are ordinary input.
    cache_write_price = price.cache_write if PROVIDERS[provider].bills_cache_writes else price.input
    total = (
        uncached_input * price.input
        + cache_read * price.cache_read
        + cache_write * cache_write_price
        + max(usage.output_tokens, 0) * price.output
    )
    return total / TOKENS_PER_PRICE_UNIT
