"""Usage figures checked before they go anywhere: one bad value from an upstream costs that value, never the row or
the batch it is written in.

The rules, applied where a figure is read from the provider's JSON (``token_figure``) and once more on the finished
row (``correct_row``, for sums such as Anthropic's input = uncached + cache read + cache write):

- a count beyond what the ``usagerecord`` columns hold (INTEGER: 32 bits on PostgreSQL) is clamped to the largest
  value they hold: the provider said "very many", and a conservative ledger keeps that rather than zero;
- a negative count, a fraction (1.5), a string ("12") or any other non-number is dropped, i.e. treated as not
  reported: it is garbage, not a refund; a float with an integral value (12.0, 1e30) is read as that integer;
- a cost that is not a finite, non-negative number becomes 0.

Each correction is logged as a warning (the figure's name and the value, shortened) and counted in the metric
``gateway_usage_values_corrected_total``. The common case, a plain in-range int, costs one type check and one
comparison.
"""

from __future__ import annotations

import logging
import math
from operator import attrgetter

from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TOKEN_FIELDS

log = logging.getLogger("gateway.usage")

# The usage record's token columns are INTEGER (PostgreSQL: 32 bits, signed); SQLite would take more, PostgreSQL
# refuses the whole statement.
MAX_TOKEN_COUNT = 2**31 - 1
_MAX_SHOWN_CHARS = 40
_read_tokens = attrgetter(*TOKEN_FIELDS)


def token_figure(name: str, value: object) -> int | None:
    """A token count as the provider reported it, corrected (None: drop it). The caller has already found that the
    value is not a plain int in range; this is the rare path, so it logs."""
    corrected: int | None = None
    if isinstance(value, bool):
        corrected = None
    elif isinstance(value, int):
        corrected = MAX_TOKEN_COUNT if value > MAX_TOKEN_COUNT else None
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        corrected = min(int(value), MAX_TOKEN_COUNT)
        if corrected == value:
            return corrected  # 12.0: an integer, written as a float; nothing to warn about
    action = "dropped" if corrected is None else f"clamped to {corrected}"
    log.warning("usage figure %s out of range or not a count (%s): %s", name, _shown(value), action)
    return corrected


def correct_row(row: UsageRow) -> int:
    """Clamp what the finished row holds into the columns' range, in place; the number of figures corrected (0 for
    every sane row, in a few hundred nanoseconds)."""
    tokens = row.tokens
    counts = _read_tokens(tokens)
    cost = row.cost_usd
    if min(counts) >= 0 and max(counts) <= MAX_TOKEN_COUNT and 0.0 <= cost < math.inf:
        return 0
    corrected = 0
    for name, count in zip(TOKEN_FIELDS, counts, strict=True):
        if 0 <= count <= MAX_TOKEN_COUNT:
            continue
        fixed = 0 if count < 0 else MAX_TOKEN_COUNT
        setattr(tokens, name, fixed)
        corrected += 1
        log.warning("usage row %s: %s %s out of range, set to %d", row.call_id, name, _shown(count), fixed)
    if not 0.0 <= cost < math.inf:  # NaN fails both comparisons
        row.cost_usd = 0.0
        corrected += 1
        log.warning("usage row %s: cost %s is not a finite amount, set to 0", row.call_id, _shown(cost))
    return corrected


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN_CHARS else f"{text[:_MAX_SHOWN_CHARS]}..."
