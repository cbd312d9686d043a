"""The Token Usage page's pure view helpers: the message policy line under the spend, the judge in call rows."""

from __future__ import annotations

from gateway_ui.api.llm_calls import LlmCall
from gateway_ui.state.call_views import call_row
from gateway_ui.state.usage_view import message_policy_note


def test_the_message_policy_line_names_the_judges_cost_and_calls() -> None:
    assert message_policy_note(0, 0.0) == ""
    assert message_policy_note(1, 0.000032) == "of which message policies: $0.000032 (1 judge call)"
    assert message_policy_note(1200, 3.5) == "of which message policies: $3.50 (1,200 judge calls)"


def _call(**fields: object) -> LlmCall:
    values: dict[str, object] = {
        "id": 7, "created_at": "2026-12-04T10:00:00+00:00", "provider": "anthropic-main", "model": "claude-haiku-4-5",
        "status_code": 200, "outcome": "ok", "input_tokens": 10, "output_tokens": 2, "cost_usd": 0.0, "latency_ms": 12.0,
        "client": "gateway/message-policy",
    }  # fmt: skip
    return LlmCall.model_validate({**values, **fields})


def test_a_judge_call_row_names_the_system_actor() -> None:
    assert call_row(_call(actor="message policies (judge)")).who == "message policies (judge)"
    assert call_row(_call(user_email="ann@example.com", api_key_name="laptop")).who == "ann@example.com (laptop)"
    assert call_row(_call()).who == "unknown"
