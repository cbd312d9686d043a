"""Durations as people type them on the command line."""

from __future__ import annotations

import re

import typer


def parse_duration_days(text: str) -> float:
    """'30d', '12h', '90m' or a bare number of days."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text)
    if not match:
        raise typer.BadParameter("use a number with d, h or m, e.g. 30d")
    amount, unit = float(match.group(1)), match.group(2) or "d"
    days = amount / {"d": 1, "h": 24, "m": 1440}[unit]
    if days <= 0:
        raise typer.BadParameter("must be positive")
    return days
