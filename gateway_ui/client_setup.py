"""Ready-to-copy client setup for the Models page: curl examples, Claude Code and Codex configuration.

Pure functions of the gateway's public URL and the user's own models, so every snippet can be tested by
running it. Every snippet reads the key from $GATEWAY_KEY: the page puts `export GATEWAY_KEY="..."` in front when
the user makes a key there, so what is copied runs as it is. Values are quoted for the language they land in
(shell, TOML) whatever characters they hold.
"""

from __future__ import annotations

import json
import re
import shlex

from gateway_api.distribution.cli_wheel import WHEEL_NAME as CLI_WHEEL_NAME

ANTHROPIC = "anthropic"
OPENAI = "openai"
PROVIDER_LABELS = {ANTHROPIC: "Anthropic", OPENAI: "OpenAI"}
# The one variable every snippet reads the key from (Codex by its env_key, the others as $GATEWAY_KEY).
KEY_VARIABLE = "GATEWAY_KEY"
CODEX_PROVIDER_ID = "gateway"  # any id except Codex's reserved openai / ollama / lmstudio
EXAMPLE_PROMPT = "hi"
# Characters that need no quoting at all inside double quotes in a shell (no $ ` \ " !).
_PLAIN = re.compile(r"[A-Za-z0-9._:/@%+=,~-]*")
# Where a long snippet line may wrap on a narrow screen: after these, never inside a word.
_WRAP_AFTER = re.compile(r'(?<=[/,&?_])|(?<==")')


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


def shell_value(value: str) -> str:
    """`value` as one shell word: in double quotes when that is enough, else single-quoted with escapes."""
    return f'"{value}"' if _PLAIN.fullmatch(value) else shlex.quote(value)


def export_line(variable: str, value: str) -> str:
    return f"export {variable}={shell_value(value)}"


def key_export_line(secret: str) -> str:
    """The line the page puts in front of the snippets that need a key, once the user has made one there."""
    return export_line(KEY_VARIABLE, secret)


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, once DEL (which JSON leaves raw) is escaped too."""
    return json.dumps(value).replace("\x7f", "\\u007f")


def wrap_points(text: str) -> list[str]:
    """`text` cut where a line may wrap (after / , & ? _ and after =" ), for the page to put a <wbr> between the
    pieces: a narrow screen breaks a URL, a JSON body or a long variable name at a separator, not mid-word."""
    return [piece for piece in _WRAP_AFTER.split(text) if piece]


def curl_example(public_url: str, kind: str, model: str) -> str:
    """A shell snippet that makes one real call with `model` through the provider's route, the key in $GATEWAY_KEY."""
    base = proxy_base_url(public_url, kind)
    if kind == ANTHROPIC:
        body = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": EXAMPLE_PROMPT}]}
        request_lines = [
            f"curl {base}/v1/messages",
            f'-H "x-api-key: ${KEY_VARIABLE}"',
            '-H "anthropic-version: 2023-06-01"',
            '-H "content-type: application/json"',
            f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}",
        ]
    elif kind == OPENAI:
        body = {"model": model, "input": [{"role": "user", "content": EXAMPLE_PROMPT}]}
        request_lines = [
            f"curl {base}/v1/responses",
            f'-H "Authorization: Bearer ${KEY_VARIABLE}"',
            '-H "content-type: application/json"',
            f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}",
        ]
    else:
        raise ValueError(f"no curl example for provider kind {kind!r}")
    return " \\\n  ".join(request_lines)


def main_model(models: list[str]) -> str:
    """The model Claude Code starts on: a Sonnet when the user has one (Claude Code's own default family), else an
    Opus, else the first that is not a Haiku, else the first."""
    for family in ("sonnet", "opus"):
        found = next((name for name in models if family in name), None)
        if found is not None:
            return found
    return next((name for name in models if "haiku" not in name), models[0])


def small_model(models: list[str]) -> str:
    """The model Claude Code should use for its background work (titles, summaries): a Haiku when the user has one,
    else the first model (a model the user may not call would make those calls fail)."""
    return next((name for name in models if "haiku" in name), models[0])


def claude_code_setup(public_url: str, models: list[str]) -> str:
    """Environment for Claude Code: the Anthropic route, the key, one of the user's models, model discovery."""
    return "\n".join(
        [
            export_line("ANTHROPIC_BASE_URL", proxy_base_url(public_url, ANTHROPIC)),
            f'export ANTHROPIC_API_KEY="${KEY_VARIABLE}"',
            export_line("ANTHROPIC_MODEL", main_model(models)),
            export_line("ANTHROPIC_DEFAULT_HAIKU_MODEL", small_model(models)),
            "export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1",
            "claude",
        ]
    )


def codex_config(public_url: str, model: str) -> str:
    """The `~/.codex/config.toml` lines for a custom provider on the OpenAI route (Responses API, no websockets)."""
    return "\n".join(
        [
            f"model = {toml_string(model)}",
            f'model_provider = "{CODEX_PROVIDER_ID}"',
            "",
            f"[model_providers.{CODEX_PROVIDER_ID}]",
            'name = "LLM Gateway"',
            f"base_url = {toml_string(proxy_base_url(public_url, OPENAI) + '/v1')}",
            f'env_key = "{KEY_VARIABLE}"',
            'wire_api = "responses"',
            "supports_websockets = false",
        ]
    )


def codex_start() -> str:
    """Codex reads the key from $GATEWAY_KEY itself (env_key): with the key set, starting it is all."""
    return "codex"
