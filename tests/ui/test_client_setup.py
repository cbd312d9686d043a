"""The Models page's snippets as pure text: valid TOML for Codex, the right routes and headers for curl, the key in
$GATEWAY_KEY, and the address the browser uses unless GATEWAY_PUBLIC_URL says otherwise."""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from gateway_ui import client_setup
from gateway_ui.api.me import MyModels
from gateway_ui.state.keys import expiry_days
from gateway_ui.state.models import page_url, provider_cards
from gateway_ui.state.usage_view import format_usd, unpriced_note

PUBLIC_URL = "https://gateway.example.com"


def test_anthropic_curl_example_uses_messages_with_the_key_from_the_environment() -> None:
    example = client_setup.curl_example(PUBLIC_URL + "/", "anthropic", "claude-opus-4-8")

    assert example.splitlines() == [
        "curl https://gateway.example.com/api/llm-proxy/anthropic/v1/messages \\",
        '  -H "x-api-key: $GATEWAY_KEY" \\',
        '  -H "anthropic-version: 2023-06-01" \\',
        '  -H "content-type: application/json" \\',
        """  -d '{"model":"claude-opus-4-8","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}'""",
    ]


def test_openai_curl_example_uses_responses_with_a_bearer_key() -> None:
    example = client_setup.curl_example(PUBLIC_URL, "openai", "gpt-5.5")

    assert "curl https://gateway.example.com/api/llm-proxy/openai/v1/responses \\" in example
    assert '-H "Authorization: Bearer $GATEWAY_KEY"' in example
    assert """-d '{"model":"gpt-5.5","input":[{"role":"user","content":"hi"}]}'""" in example


@pytest.mark.parametrize("value", ["it's", 'a"b', "$(touch /tmp/pwned)", "`id`", "back\\slash", "new\nline"])
def test_values_reach_the_shell_as_one_word_whatever_they_hold(value: str) -> None:
    """A model stored before the API's name rule (or a key) never ends a quote or runs anything."""
    echoed = subprocess.run(
        ["sh", "-c", f'{client_setup.export_line("V", value)}; printf %s "$V"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert echoed == value
    body = client_setup.curl_example(PUBLIC_URL, "openai", value).split("-d ", 1)[1]
    sent = subprocess.run(["sh", "-c", f"printf %s {body}"], capture_output=True, text=True, check=True).stdout
    assert json.loads(sent)["model"] == value


def test_codex_config_is_valid_toml_for_a_responses_provider_without_websockets() -> None:
    config = tomllib.loads(client_setup.codex_config(PUBLIC_URL, 'gpt-5.5"\n[x]'))

    assert config == {
        "model": 'gpt-5.5"\n[x]',
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


def test_claude_code_setup_starts_on_one_of_the_users_models_with_discovery() -> None:
    models = ["claude-haiku-4-5", "claude-opus-4-8", "claude-sonnet-4-5"]

    assert client_setup.claude_code_setup(PUBLIC_URL, models).splitlines() == [
        'export ANTHROPIC_BASE_URL="https://gateway.example.com/api/llm-proxy/anthropic"',
        'export ANTHROPIC_API_KEY="$GATEWAY_KEY"',
        'export ANTHROPIC_MODEL="claude-sonnet-4-5"',
        'export ANTHROPIC_DEFAULT_HAIKU_MODEL="claude-haiku-4-5"',
        "export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1",
        "claude",
    ]
    # Without a Haiku, background work goes to a model the user may call, not one the gateway would refuse.
    assert 'ANTHROPIC_DEFAULT_HAIKU_MODEL="claude-opus-4-8"' in client_setup.claude_code_setup(
        PUBLIC_URL, ["claude-opus-4-8"]
    )


def test_the_key_line_and_the_wrap_points() -> None:
    assert client_setup.key_export_line("gwk_abc-DEF_123") == 'export GATEWAY_KEY="gwk_abc-DEF_123"'
    text = 'export A="http://h:1/api/llm-proxy/anthropic"'
    parts = client_setup.wrap_points(text)
    assert "".join(parts) == text, "nothing is added or lost: the page shows exactly what it copies"
    assert parts == ['export A="', "http:/", "/", "h:1/", "api/", "llm-proxy/", 'anthropic"']


def my_models(configured: bool) -> MyModels:
    return {
        "public_url": PUBLIC_URL if configured else "http://127.0.0.1:8080",
        "public_url_configured": configured,
        "providers": [
            {
                "kind": "anthropic",
                "base_url": f"{PUBLIC_URL}/api/llm-proxy/anthropic",
                "models": [
                    {"name": "claude-z", "display_name": "claude-z"},
                    {"name": "Claude-B", "display_name": "Claude B"},
                ],
            },
            {"kind": "openai", "base_url": f"{PUBLIC_URL}/api/llm-proxy/openai", "models": []},
        ],
    }


@pytest.mark.parametrize(
    ("configured", "origin", "expected"),
    [
        (False, "http://10.1.2.3:8095", "http://10.1.2.3:8095"),  # make run PORT=8095, reached over the LAN
        (False, "https://gw.example.org", "https://gw.example.org"),  # behind a TLS proxy
        (False, "http://[::1]:8080", "http://[::1]:8080"),
        (False, "", "http://127.0.0.1:8080"),  # no origin known: the address the API was called at
        (False, 'http://evil"; rm -rf ~; echo "', "http://127.0.0.1:8080"),  # not an origin: not used
        (False, "javascript:alert(1)", "http://127.0.0.1:8080"),
        (True, "http://10.1.2.3:8095", PUBLIC_URL),  # GATEWAY_PUBLIC_URL wins
    ],
)
def test_snippets_use_the_browsers_address_unless_a_public_url_is_set(
    configured: bool, origin: str, expected: str
) -> None:
    assert page_url(my_models(configured), origin) == expected


def test_provider_cards_sort_models_and_use_the_first_listed_for_examples() -> None:
    [card] = provider_cards(my_models(True), "http://10.1.2.3:8095")

    assert [(m.name, m.display_name) for m in card.models] == [("Claude-B", "Claude B"), ("claude-z", "")]
    assert (card.label, card.model_count, card.example_model) == ("Anthropic", 2, "claude-z")
    assert card.base_url == "http://10.1.2.3:8095/api/llm-proxy/anthropic"
    assert '"model":"claude-z"' in card.curl.text and card.curl.needs_key
    assert [(s.title, s.needs_key) for s in card.setup] == [("Claude Code", True)]
    assert "".join(card.curl.parts) == card.curl.text


@pytest.mark.parametrize(("choice", "days"), [("7", 7), ("30", 30), ("90", 90), ("never", None)])
def test_key_expiry_choices(choice: str, days: int | None) -> None:
    assert expiry_days(choice) == days


def test_the_unpriced_note_names_a_few_models_and_counts_the_rest() -> None:
    assert unpriced_note([]) == ""
    assert unpriced_note(["gpt-x"]) == "Price unknown, counted as $0: gpt-x"
    assert unpriced_note(["a", "b", "c", "d", "e"]) == "Price unknown, counted as $0: a, b, c and 2 more"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "$0.00"), (0.000032, "$0.000032"), (2.375e-05, "$0.000024"), (0.005, "$0.005"), (0.0099, "$0.0099"),
     (0.01, "$0.01"), (1234.5, "$1,234.50")],
)  # fmt: skip
def test_costs_keep_their_first_digits_under_a_cent(value: float, shown: str) -> None:
    assert format_usd(value) == shown
