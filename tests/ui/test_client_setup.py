"""The Models page's snippets as pure text: valid TOML for Codex, the right routes and headers for curl."""

from __future__ import annotations

import tomllib

import pytest

from gateway_ui import client_setup
from gateway_ui.state.keys import expiry_days
from gateway_ui.state.models import provider_cards

PUBLIC_URL = "https://gateway.example.com"


def test_anthropic_curl_example_uses_messages_with_the_key_header() -> None:
    example = client_setup.curl_example(PUBLIC_URL + "/", "anthropic", "claude-opus-4-8")

    assert example.splitlines() == [
        'export KEY="$(gateway login --url https://gateway.example.com --scope llm --print-token)"',
        "curl https://gateway.example.com/api/llm-proxy/anthropic/v1/messages \\",
        '  -H "x-api-key: $KEY" \\',
        '  -H "anthropic-version: 2023-06-01" \\',
        '  -H "content-type: application/json" \\',
        """  -d '{"model":"claude-opus-4-8","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}'""",
    ]


def test_openai_curl_example_uses_responses_with_a_bearer_key() -> None:
    example = client_setup.curl_example(PUBLIC_URL, "openai", "gpt-5.5")

    assert "curl https://gateway.example.com/api/llm-proxy/openai/v1/responses \\" in example
    assert '-H "Authorization: Bearer $KEY"' in example
    assert """-d '{"model":"gpt-5.5","input":[{"role":"user","content":"hi"}]}'""" in example


def test_a_model_name_that_would_break_the_shell_quoting_is_refused() -> None:
    with pytest.raises(ValueError, match="single quote"):
        client_setup.curl_example(PUBLIC_URL, "openai", "it's")


def test_codex_config_is_valid_toml_for_a_responses_provider_without_websockets() -> None:
    config = tomllib.loads(client_setup.codex_config(PUBLIC_URL, "gpt-5.5"))

    assert config == {
        "model": "gpt-5.5",
        "model_provider": "gateway",
        "model_providers": {
            "gateway": {
                "name": "LLM Gateway",
                "base_url": "https://gateway.example.com/api/llm-proxy/openai/v1",
                "env_key": "GATEWAY_KEY",
                "wire_api": "responses",
                "supports_websockets": False,
            }
        },
    }


def test_claude_code_setup_points_at_the_anthropic_route_with_discovery() -> None:
    assert client_setup.claude_code_setup(PUBLIC_URL).splitlines() == [
        'export ANTHROPIC_BASE_URL="https://gateway.example.com/api/llm-proxy/anthropic"',
        'export ANTHROPIC_API_KEY="$(gateway login --url https://gateway.example.com --scope llm --print-token)"',
        "export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1",
        "claude",
    ]


def test_provider_cards_sort_models_and_use_the_first_listed_for_examples() -> None:
    answer = {
        "public_url": PUBLIC_URL,
        "providers": [
            {
                "kind": "anthropic",
                "base_url": f"{PUBLIC_URL}/api/llm-proxy/anthropic",
                "models": [
                    {"name": "claude-z", "display_name": "claude-z", "provider": "a"},
                    {"name": "Claude-B", "display_name": "Claude B", "provider": "a"},
                ],
            },
            {"kind": "openai", "base_url": f"{PUBLIC_URL}/api/llm-proxy/openai", "models": []},
        ],
    }

    [card] = provider_cards(answer)

    assert [(m.name, m.display_name) for m in card.models] == [("Claude-B", "Claude B"), ("claude-z", "")]
    assert (card.label, card.model_count, card.example_model) == ("Anthropic", 2, "claude-z")
    assert '"model":"claude-z"' in card.curl_example
    assert [snippet.title for snippet in card.setup] == ["Claude Code"]


@pytest.mark.parametrize(("choice", "days"), [("7", 7), ("30", 30), ("90", 90), ("never", None)])
def test_key_expiry_choices(choice: str, days: int | None) -> None:
    assert expiry_days(choice) == days
