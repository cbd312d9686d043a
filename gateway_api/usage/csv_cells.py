"""CSV cells a spreadsheet would run: text from callers (client names, models, key names) is defused."""

from __future__ import annotations

# What spreadsheets read as the start of a formula, or (tab, carriage return) let one through their import.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(text: str) -> str:
    """Text that a spreadsheet would evaluate, prefixed with a quote so it is shown as text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
