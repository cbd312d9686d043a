"""CSV export: cells a spreadsheet would evaluate are defused, tab and carriage return included (issue 15)."""

from __future__ import annotations

import pytest

from gateway_api.usage.csv_cells import defuse_formula


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"])
def test_formula_starts_are_defused(text: str) -> None:
    assert defuse_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["claude-opus-4-8", "curl/8.5", "", " =1", "a=b"])
def test_other_text_is_untouched(text: str) -> None:
    assert defuse_formula(text) == text
