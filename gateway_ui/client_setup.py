"""Ready-to-copy client setup for the Models page: curl examples, Claude Code and Codex configuration.

Pure functions of the gateway's public URL and the user's own models, so every snippet can be tested by
running it. Model names are restricted by the API to [A-Za-z0-9._:/@-], which is safe inside single quotes.
"""

from __future__ import annotations

import json

from gateway_api.distribution.cli_wheel import WHEEL_NAME as CLI_WHEEL_NAME

ANTHROPIC = "anthropic"
OPENAI = "openai"
PROVIDER_LABELS = {ANTHROPIC: "Anthropic", OPENAI: "OpenAI"}
# What the curl example and `export` lines call the key; Codex reads its own variable (env_key).
KEY_VARIABLE = "KEY"
CODEX_KEY_VARIABLE = "GATEWAY_KEY"
CODEX_PROVIDER_ID = "gateway"  # any id except Codex's reserved openai / ollama / lmstudio
EXAMPLE_PROMPT = "hi"


def provider_label(kind: str) -> str:
    return PROVIDER_LABELS.get(kind, kind.capitalize())


def proxy_base_url(public_url: str, kind: str) -> str:
    return f"{public_url.rstrip('/')}/api/llm-proxy/{kind}"


def cli_install_command(public_url: str) -> str:
    """The one command that installs the `gateway` CLI from the gateway itself (the wheel it serves at /cli/)."""
    return f"pip install {public_url.rstrip('/')}/cli/{CLI_WHEEL_NAME}"


def login_command(public_url: str) -> str:
    """The CLI call that signs in and prints a fresh llm key (and nothing else) on stdout."""
    return f"gateway login --url {public_url.rstrip('/')} --scope llm --print-token"


def export_key_line(public_url: str, variable: str = KEY_VARIABLE) -> str:
    return f'export {variable}="$({login_command(public_url)})"'


def _shell_json(body: dict) -> str:
    """Compact JSON in single quotes for `curl -d`."""
    text = json.dumps(body, separators=(",", ":"))
    if "'" in text:
        raise ValueError("a single quote would end the shell string")
    return f"'{text}'"


def curl_example(public_url: str, kind: str, model: str) -> str:
    """A shell snippet that gets a key and makes one real call with `model` through the provider's route."""
    base = proxy_base_url(public_url, kind)
    if kind == ANTHROPIC:
        body = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": EXAMPLE_PROMPT}]}
        request_lines = [
            f"curl {base}/v1/messages",
            f'-H "x-api-key: ${KEY_VARIABLE}"',
            '-H "anthropic-version: 2023-06-01"',
            '-H "content-type: application/json"',
            f"-d {_shell_json(body)}",
        ]
    elif kind == OPENAI:
        body = {"model": model, "input": [{"role": "user", "content": EXAMPLE_PROMPT}]}
        request_lines = [
            f"curl {base}/v1/responses",
            f'-H "Authorization: Bearer ${KEY_VARIABLE}"',
            '-H "content-type: application/json"',
            f"-d {_shell_json(body)}",
        ]
    else:
        raise ValueError(f"no curl example for provider kind {kind!r}")
    return export_key_line(public_url) + "\n" + " \\\n  ".join(request_lines)


def claude_code_setup(public_url: str) -> str:
    """Environment for Claude Code: the Anthropic route, a gateway key, and model discovery for /model."""
    return "\n".join(
        [
            f'export ANTHROPIC_BASE_URL="{proxy_base_url(public_url, ANTHROPIC)}"',
            export_key_line(public_url, "ANTHROPIC_API_KEY"),
            "export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1",
            "claude",
        ]
    )


def codex_config(public_url: str, model: str) -> str:
    """The `~/.codex/config.toml` lines for a custom provider on the OpenAI route (Responses API, no websockets)."""
    return "\n".join(
        [
            f'model = "{model}"',
            f'model_provider = "{CODEX_PROVIDER_ID}"',
            "",
            f"[model_providers.{CODEX_PROVIDER_ID}]",
            'name = "LLM Gateway"',
            f'base_url = "{proxy_base_url(public_url, OPENAI)}/v1"',
            f'env_key = "{CODEX_KEY_VARIABLE}"',
            'wire_api = "responses"',
            "supports_websockets = false",
        ]
    )


def codex_key_setup(public_url: str) -> str:
    """The shell lines that give Codex its key, then start it."""
    return export_key_line(public_url, CODEX_KEY_VARIABLE) + "\ncodex"
