"""Route table and path validation: only known endpoints, never a hostile path."""

from __future__ import annotations

import pytest

from gateway_api.providers.spec import join_base_url
from gateway_api.proxy.routes import Endpoint, EndpointKind, resolve


@pytest.mark.parametrize("prefix", ["", "/v1"])
@pytest.mark.parametrize(
    ("provider", "method", "path", "kind", "upstream_path", "model_in_body", "accounted"),
    [
        ("anthropic", "POST", "/messages", EndpointKind.MESSAGES, "/v1/messages", True, True),
        (
            "anthropic",
            "POST",
            "/messages/count_tokens",
            EndpointKind.COUNT_TOKENS,
            "/v1/messages/count_tokens",
            True,
            False,
        ),
        ("anthropic", "GET", "/models", EndpointKind.LIST_MODELS, "/v1/models", False, False),
        ("openai", "POST", "/responses", EndpointKind.RESPONSES, "/v1/responses", True, True),
        (
            "openai",
            "POST",
            "/chat/completions",
            EndpointKind.CHAT_COMPLETIONS,
            "/v1/chat/completions",
            True,
            True,
        ),
        ("openai", "GET", "/models", EndpointKind.LIST_MODELS, "/v1/models", False, False),
    ],
)
def test_known_endpoints(
    prefix: str,
    provider: str,
    method: str,
    path: str,
    kind: EndpointKind,
    upstream_path: str,
    model_in_body: bool,
    accounted: bool,
) -> None:
    expected = Endpoint(kind, upstream_path, model_in_body, accounted)
    assert resolve(provider, method, (prefix + path).encode()) == expected  # type: ignore[arg-type]
    assert resolve(provider, method.lower(), prefix + path) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [b"", b"/", b"/v1"])
def test_head_probe_of_the_anthropic_base_url(path: bytes) -> None:
    endpoint = resolve("anthropic", "HEAD", path)
    assert endpoint is not None and endpoint.kind is EndpointKind.PROBE
    assert not endpoint.usage_accounted and not endpoint.model_in_body


@pytest.mark.parametrize(
    ("provider", "method", "path"),
    [
        ("openai", "POST", b"/v1/messages"),  # the other provider's endpoint
        ("anthropic", "POST", b"/v1/responses"),
        ("anthropic", "GET", b"/v1/messages"),  # wrong method
        ("openai", "DELETE", b"/v1/models/gpt-5"),
        ("openai", "HEAD", b""),  # the probe is Claude Code's, not Codex's
        ("anthropic", "POST", b"/v1/messages/batches"),  # real upstream API, not proxied
        ("openai", "POST", b"/v1/files"),
        ("openai", "POST", b"/v1/embeddings"),
        ("anthropic", "GET", b"/v1/models/"),  # empty model id
        ("anthropic", "POST", b"/v1/v1/messages"),
        ("anthropic", "POST", b"/V1/messages"),
        ("anthropic", "POST", b"/v1/messages/"),
        ("anthropic", "POST", b"v1/messages"),  # not a sub-path of the prefix
    ],
)
def test_unknown_endpoints_are_rejected(provider: str, method: str, path: bytes) -> None:
    assert resolve(provider, method, path) is None  # type: ignore[arg-type]


HOSTILE_PATHS = [
    b"/v1/../v1/messages",
    b"/v1/./messages",
    b"/v1/messages/..",
    b"/v1/%2e%2e/messages",
    b"/v1/%2E%2E/messages",
    b"/v1/models/%2e%2e",
    b"/v1/models/..%2fsecrets",
    b"/v1/models/a%5cb",
    b"/v1/models/a\\b",
    b"/v1\\messages",
    b"//v1/messages",
    b"/v1//messages",
    b"/v1/models//x",
    b"/v1/models/x\x00",
    b"/v1/models/x%00",
    b"/v1/models/x%0d%0aHost:%20evil",
    b"/v1/models/x\r\nHost: evil",
    b"/v1/models/%252e%252e",
    b"/v1/models/%zz",
    b"/v1/models/abc%4",
    b"/http://evil.example/v1/messages",
    b"/v1/models/http://evil.example",
    b"/v1/messages?x=1",
    b"/v1/messages#frag",
    b"/v1/models/a b",
    "/v1/models/cl\u00e4ude".encode(),
    b"/v1/models/\xff",
    b"/v1/models/a/../../messages",
    b"/v1/models/" + b"a" * 300,
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST", "HEAD"])
def test_hostile_paths_are_rejected(path: bytes, method: str) -> None:
    assert resolve("anthropic", method, path) is None
    assert resolve("openai", method, path) is None


@pytest.mark.parametrize(
    ("path", "model_id"),
    [
        (b"/v1/models/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        (b"/models/gpt-4.1", "gpt-4.1"),
        (
            b"/v1/models/ft:gpt-4o-mini-2024-07-18:acme::abc123",
            "ft:gpt-4o-mini-2024-07-18:acme::abc123",
        ),
        (b"/v1/models/ft%3Agpt-4o%3Aacme", "ft:gpt-4o:acme"),
        (b"/v1/models/accounts/acme/models/custom-1", "accounts/acme/models/custom-1"),
        # what the official SDKs send for an id containing '/'
        (b"/v1/models/a%2Fb", "a/b"),
        (b"/v1/models/team%2fclaude-custom", "team/claude-custom"),
    ],
)
def test_model_ids(path: bytes, model_id: str) -> None:
    endpoint = resolve("openai", "GET", path)
    assert endpoint == Endpoint(EndpointKind.GET_MODEL, f"/v1/models/{model_id}", False, False, model_id)


def test_fixed_segments_must_not_be_percent_encoded() -> None:
    assert resolve("anthropic", "POST", b"/v1/%6Dessages") is None
    assert resolve("anthropic", "POST", b"/%76%31/messages") is None


@pytest.mark.parametrize(
    ("base_url", "path", "query", "expected"),
    [
        (
            "https://api.anthropic.com",
            "/v1/messages",
            b"beta=true",
            "https://api.anthropic.com/v1/messages?beta=true",
        ),
        ("https://api.anthropic.com/", "/v1/messages", "", "https://api.anthropic.com/v1/messages"),
        ("https://api.openai.com/v1", "/v1/responses", b"", "https://api.openai.com/v1/responses"),
        (
            "https://api.openai.com/v1/",
            "/v1/models/gpt-5",
            "",
            "https://api.openai.com/v1/models/gpt-5",
        ),
        (
            "http://127.0.0.1:9/openai/v1",
            "/v1/chat/completions",
            "a=%2F&b",
            "http://127.0.0.1:9/openai/v1/chat/completions?a=%2F&b",
        ),
        ("http://127.0.0.1:9/proxy", "/v1/messages", b"", "http://127.0.0.1:9/proxy/v1/messages"),
        ("https://x.example/v10", "/v1/messages", b"", "https://x.example/v10/v1/messages"),
    ],
)
def test_upstream_url_never_doubles_v1(base_url: str, path: str, query: bytes | str, expected: str) -> None:
    assert join_base_url(base_url, path, query) == expected
