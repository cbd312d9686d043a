"""Every request captured from the real clients (../shared/fixtures/*.jsonl) replayed through the gateway.

The upstream must receive the very bytes the client sent, its query string and its anthropic-* headers, the
provider credential and never the gateway key. Requests the gateway answers itself (the start-up probe, model
lists) must not reach the upstream at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.proxy.conftest import ANTHROPIC_CREDENTIAL, OPENAI_CREDENTIAL, ProxyEnv

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
# The file a capture came from says which client made it when its path has no provider prefix.
CLIENT_PROVIDERS = {"claude-code-requests.jsonl": "anthropic", "codex-requests.jsonl": "openai"}
NOT_COMPARED = {"host", "content-length", "connection", "accept-encoding", "x-api-key", "authorization"}


def _fixture_files() -> list[Any]:
    files = sorted(FIXTURES.glob("*.jsonl")) if FIXTURES.is_dir() else []
    if not files:
        reason = f"captured client requests not found in {FIXTURES.resolve()} (shared/ must sit beside the repo)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-fixtures")]
    return [pytest.param(path, id=path.name) for path in files]


def _provider_and_path(file_name: str, path: str) -> tuple[str, str]:
    for provider in ("anthropic", "openai"):
        if path == f"/{provider}" or path.startswith(f"/{provider}/"):
            return provider, path[len(provider) + 1 :]
    return CLIENT_PROVIDERS[file_name], "" if path == "/" else path


def _replay(env: ProxyEnv, file_name: str, capture: dict[str, Any], key: str) -> tuple[httpx.Response, dict, bytes]:
    provider, path = _provider_and_path(file_name, capture["path"])
    url = f"{env.live.url}/api/llm-proxy/{provider}{path}"
    if capture["query"]:
        url += "?" + capture["query"]
    headers = {name: value for name, value in capture["headers"].items() if name not in ("host", "content-length")}
    if "x-api-key" in headers:
        headers["x-api-key"] = key
    if "authorization" in headers:
        headers["authorization"] = f"Bearer {key}"
    # Spaced JSON, unlike any serializer's compact output: a proxy that re-encoded the body would be caught.
    body = b"" if capture["body"] is None else json.dumps(capture["body"], ensure_ascii=False).encode()
    response = httpx.request(capture["method"], url, headers=headers, content=body, timeout=30)
    return response, headers, body


@pytest.mark.parametrize("fixture_file", _fixture_files())
def test_captured_requests_reach_the_upstream_intact(proxy_env: ProxyEnv, alice_key: str, fixture_file: Path) -> None:
    accounted = 0
    for line in fixture_file.read_text().splitlines():
        capture = json.loads(line)
        where = f"{fixture_file.name} seq {capture['seq']} ({capture['method']} {capture['path']})"
        seen_before = len(proxy_env.fake.requests)

        response, sent_headers, sent_body = _replay(proxy_env, fixture_file.name, capture, alice_key)

        assert response.status_code == 200, f"{where}: {response.status_code} {response.text[:300]}"
        if capture["method"] != "POST":  # HEAD probe and model lists: answered by the gateway itself
            assert len(proxy_env.fake.requests) == seen_before, f"{where}: must not be forwarded"
            continue
        received = proxy_env.fake.last_request()
        provider, path = _provider_and_path(fixture_file.name, capture["path"])
        assert received.path == f"/{provider}{path}", where
        assert received.body == sent_body, f"{where}: body bytes changed"
        assert received.query_string == capture["query"], where
        for name, value in sent_headers.items():
            if name not in NOT_COMPARED:
                assert received.headers.get(name) == value, f"{where}: header {name} not passed through"
        if provider == "anthropic":
            assert received.headers["x-api-key"] == ANTHROPIC_CREDENTIAL, where
            assert "authorization" not in received.headers, where
        else:
            assert received.headers["authorization"] == f"Bearer {OPENAI_CREDENTIAL}", where
            assert "x-api-key" not in received.headers, where
        assert all(alice_key not in value for value in received.headers.values()), f"{where}: gateway key leaked"
        assert received.headers["accept-encoding"] == "identity", where
        assert "content-encoding" not in response.headers, where
        accounted += not path.endswith("count_tokens")

    rows = proxy_env.usage_rows(accounted)
    assert all(row.api_key_id is not None and row.input_tokens == 25 for row in rows)
