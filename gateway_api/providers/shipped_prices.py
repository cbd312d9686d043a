"""Prices of a gateway model row: the shipped defaults, applied when a model is added or reset."""

from __future__ import annotations

from gateway_api.db.models import Model
from gateway_api.providers.pricing import default_price

PRICE_FIELDS = ("price_input", "price_output", "price_cache_read", "price_cache_write")


def apply_shipped_price(model: Model) -> None:
    """Set the list price for this model's name, or mark the price unknown (None) when there is none."""
    price = default_price(model.name)
    values = (price.input, price.output, price.cache_read, price.cache_write) if price else (None,) * 4
    for field, value in zip(PRICE_FIELDS, values, strict=True):
        setattr(model, field, value)
