"""The fake upstream serves what it says, over real HTTP, to a plain httpx client."""

from __future__ import annotations

import time

import httpx
import pytest

from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.usage.tokens import TokenUsage
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.upstream import FakeUpstream

ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-test"}
USAGE = FakeUsage(
    input_tokens=11,
    output_tokens=22,
    cache_read_tokens=33,
    cache_write_tokens=44,
    reasoning_tokens=5,
)


def scanned(provider: str, streaming: bool, response: httpx.Response) -> TokenUsage:
    """Usage as the gateway's own scanner reads it from the raw (possibly encoded) body."""
    scanner = UsageScanner(provider, streaming, response.headers.get("content-encoding"))  # type: ignore[arg-type]
    for chunk in response.iter_raw():
        scanner.feed(chunk)
    return scanner.finish()


def test_anthropic_message(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(usage=USAGE, reply_text="hi there")
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = httpx.post(
        f"{fake_upstream.anthropic_base_url}/v1/messages?beta=true",
        json=body,
        headers=ANTHROPIC_HEADERS,
        timeout=30,
    )
    assert response.status_code == 200
    message = response.json()
    assert message["model"] == "claude-haiku-4-5"
    assert message["content"] == [{"type": "text", "text": "hi there"}]
    assert message["usage"]["input_tokens"] == 11
    assert message["usage"]["cache_read_input_tokens"] == 33
    assert message["usage"]["cache_creation_input_tokens"] == 44
    assert response.headers["request-id"].startswith("req_")
    assert "anthropic-ratelimit-requests-remaining" in response.headers
    recorded = fake_upstream.last_request()
    assert (recorded.method, recorded.path, recorded.query_string) == (
        "POST",
        "/anthropic/v1/messages",
        "beta=true",
    )
    assert recorded.headers["x-api-key"] == "sk-ant-test"
    assert recorded.json() == body


def test_anthropic_stream_has_the_real_event_sequence(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(usage=USAGE)
    body = {
        "model": "claude-sonnet-4-5",
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    with httpx.stream("POST", f"{fake_upstream.url}/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[len("event: ") :] for line in response.iter_lines() if line.startswith("event: ")]
    assert events[0] == "message_start"
    assert events[-2:] == ["message_delta", "message_stop"]
    assert {"content_block_start", "content_block_delta", "content_block_stop", "ping"} <= set(events)
    assert events.count("content_block_start") == 2  # thinking block, then text


def test_stream_usage_is_exact_for_every_flavour(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(usage=USAGE)
    cases = [
        (
            "anthropic",
            "/anthropic/v1/messages",
            {"model": "claude-opus-4-1", "stream": True},
            TokenUsage(
                input_tokens=88,
                output_tokens=22,
                cache_read_tokens=33,
                cache_write_tokens=44,
                model="claude-opus-4-1",
            ),
        ),
        (
            "openai",
            "/openai/v1/responses",
            {"model": "gpt-5", "stream": True},
            TokenUsage(
                input_tokens=11,
                output_tokens=22,
                cache_read_tokens=33,
                reasoning_tokens=5,
                model="gpt-5",
            ),
        ),
        (
            "openai",
            "/openai/v1/chat/completions",
            {"model": "gpt-4.1", "stream": True, "stream_options": {"include_usage": True}},
            TokenUsage(
                input_tokens=11,
                output_tokens=22,
                cache_read_tokens=33,
                reasoning_tokens=5,
                model="gpt-4.1",
            ),
        ),
    ]
    for provider, path, body, expected in cases:
        with httpx.stream("POST", f"{fake_upstream.url}{path}", json=body) as response:
            assert response.status_code == 200
            assert scanned(provider, True, response) == expected, path


def test_responses_stream_events(fake_upstream: FakeUpstream) -> None:
    with httpx.stream(
        "POST",
        f"{fake_upstream.openai_base_url}/v1/responses",
        json={"model": "gpt-5", "stream": True},
    ) as response:
        events = [line[len("event: ") :] for line in response.iter_lines() if line.startswith("event: ")]
    assert events[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in events
    assert "response.output_item.done" in events
    assert events[-1] == "response.completed"


def test_chat_stream_without_include_usage_has_no_usage(fake_upstream: FakeUpstream) -> None:
    with httpx.stream(
        "POST",
        f"{fake_upstream.openai_base_url}/v1/chat/completions",
        json={"model": "gpt-5", "stream": True},
    ) as response:
        text = response.read().decode()
    assert '"usage"' not in text
    assert text.endswith("data: [DONE]\n\n")


def test_chat_usage_on_last_content_chunk(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(usage=USAGE, usage_on_last_content_chunk=True)
    body = {"model": "gpt-5", "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{fake_upstream.openai_base_url}/v1/chat/completions", json=body) as response:
        data_lines = [line for line in response.iter_lines() if line.startswith("data: {")]
    assert '"finish_reason":"stop"' in data_lines[-1] and '"prompt_tokens":11' in data_lines[-1]


@pytest.mark.parametrize("path", ["/openai/v1/responses", "/openai/v1/chat/completions"])
def test_openai_json_bodies(fake_upstream: FakeUpstream, path: str) -> None:
    fake_upstream.configure(usage=USAGE, pretty_json=True, response_model="gpt-5-2025-08-07")
    response = httpx.post(
        f"{fake_upstream.url}{path}", json={"model": "gpt-5"}, headers={"x-request-id": "trace-1"}, timeout=30
    )
    assert response.status_code == 200
    assert b"\n  " in response.content  # pretty-printed as asked
    assert response.headers["x-request-id"] == "trace-1"
    assert response.json()["model"] == "gpt-5-2025-08-07"
    scanner = UsageScanner("openai", streaming=False)
    scanner.feed(response.content)
    assert scanner.finish().cache_read_tokens == 33


def test_count_tokens_and_models(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(
        usage=FakeUsage(input_tokens=1234),
        anthropic_models=["claude-a", "claude-b"],
        openai_models=["gpt-x"],
    )
    count = httpx.post(
        f"{fake_upstream.anthropic_base_url}/v1/messages/count_tokens", json={"model": "claude-a"}, timeout=30
    )
    assert count.json() == {"input_tokens": 1234}
    anthropic_list = httpx.get(f"{fake_upstream.anthropic_base_url}/v1/models?limit=1000", timeout=30).json()
    assert [m["id"] for m in anthropic_list["data"]] == ["claude-a", "claude-b"]
    assert (anthropic_list["has_more"], anthropic_list["first_id"], anthropic_list["last_id"]) == (
        False,
        "claude-a",
        "claude-b",
    )
    assert (
        httpx.get(f"{fake_upstream.url}/v1/models", headers=ANTHROPIC_HEADERS, timeout=30).json()["data"][0]["type"]
        == "model"
    )
    openai_list = httpx.get(f"{fake_upstream.openai_base_url}/v1/models", timeout=30).json()
    assert openai_list == {
        "object": "list",
        "data": [{"id": "gpt-x", "object": "model", "created": 1759000000, "owned_by": "system"}],
    }
    assert httpx.get(f"{fake_upstream.openai_base_url}/v1/models/gpt-x", timeout=30).json()["id"] == "gpt-x"
    missing = httpx.get(f"{fake_upstream.anthropic_base_url}/v1/models/claude-z", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


def test_unknown_paths_answer_404_and_are_recorded(fake_upstream: FakeUpstream) -> None:
    response = httpx.delete(f"{fake_upstream.openai_base_url}/v1/files/abc", timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert [(r.method, r.path) for r in fake_upstream.requests] == [("DELETE", "/openai/v1/files/abc")]


def test_error_status_with_headers_then_success(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(
        error_status=429,
        error_count=2,
        error_headers={"retry-after": "7", "x-ratelimit-reset-requests": "1s"},
    )
    url = f"{fake_upstream.openai_base_url}/v1/responses"
    first, second, third = (httpx.post(url, json={"model": "gpt-5"}, timeout=30) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["retry-after"] == "7" and first.headers["x-ratelimit-reset-requests"] == "1s"
    assert first.json()["error"]["type"] == "rate_limit_exceeded"
    assert "retry-after" not in third.headers


@pytest.mark.parametrize(("status", "error_type"), [(500, "api_error"), (529, "overloaded_error")])
def test_anthropic_server_errors(fake_upstream: FakeUpstream, status: int, error_type: str) -> None:
    fake_upstream.configure(error_status=status)
    response = httpx.post(
        f"{fake_upstream.anthropic_base_url}/v1/messages",
        json={"model": "claude-a", "stream": True},
        timeout=30,
    )
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type


def test_custom_error_body_is_sent_verbatim(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(error_status=400, error_body=b"plain text, not an envelope")
    response = httpx.post(f"{fake_upstream.anthropic_base_url}/v1/messages", json={"model": "claude-a"}, timeout=30)
    assert (response.status_code, response.content) == (400, b"plain text, not an envelope")


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_compressed_streams_only_when_asked(fake_upstream: FakeUpstream, coding: str) -> None:
    url = f"{fake_upstream.anthropic_base_url}/v1/messages"
    plain = httpx.post(url, json={"model": "claude-a", "stream": True}, timeout=30)
    assert "content-encoding" not in plain.headers
    fake_upstream.configure(usage=USAGE, content_encoding=coding, chunk_size=5)
    with httpx.stream("POST", url, json={"model": "claude-a", "stream": True}) as response:
        assert response.headers["content-encoding"] == coding
        assert scanned("anthropic", True, response).input_tokens == 88
    decoded = httpx.post(url, json={"model": "claude-a", "stream": True}, timeout=30).text  # httpx decodes it
    assert decoded.startswith("event: message_start") and decoded.endswith(
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )


def test_odd_chunking_and_delays_keep_the_body_intact(fake_upstream: FakeUpstream) -> None:
    url = f"{fake_upstream.openai_base_url}/v1/responses"
    reference = httpx.post(url, json={"model": "gpt-5", "stream": True}, timeout=30).text
    fake_upstream.configure(chunk_size=3, chunk_delay=0.001, headers_delay=0.2)
    started = time.monotonic()
    delayed = httpx.post(url, json={"model": "gpt-5", "stream": True}, timeout=30).text
    assert time.monotonic() - started >= 0.2  # a lower bound only: sleeping never ends early
    assert event_names(delayed) == event_names(reference)
    assert delayed.endswith("\n\n")


def event_names(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("event: ")]


def test_dropped_connection_mid_stream(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(drop_after_bytes=700, chunk_size=50)
    received = b""
    url = f"{fake_upstream.anthropic_base_url}/v1/messages"
    with (
        pytest.raises(httpx.RemoteProtocolError),  # surfaces while reading the body
        httpx.stream("POST", url, json={"model": "claude-a", "stream": True}) as response,
    ):
        for chunk in response.iter_raw():
            received += chunk
    assert len(received) == 700
    assert not fake_upstream.last_request().completed


def test_dropped_connection_on_json_body(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(drop_after_bytes=10)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{fake_upstream.openai_base_url}/v1/responses", json={"model": "gpt-5"}, timeout=30)


def test_malformed_sse_still_yields_exact_usage(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(usage=USAGE, malformed_sse=True)
    with httpx.stream(
        "POST",
        f"{fake_upstream.anthropic_base_url}/v1/messages",
        json={"model": "claude-a", "stream": True},
    ) as response:
        raw = b"".join(response.iter_raw())
    assert b"{not json at all" in raw
    scanner = UsageScanner("anthropic", streaming=True)
    scanner.feed(raw)
    assert scanner.finish().output_tokens == 22


def test_reset_restores_defaults_and_clears_the_log(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(error_status=500)
    httpx.get(f"{fake_upstream.openai_base_url}/v1/models", timeout=30)
    assert len(fake_upstream.wait_for_requests(1)) == 1
    fake_upstream.reset()
    assert fake_upstream.requests == []
    assert httpx.get(f"{fake_upstream.openai_base_url}/v1/models", timeout=30).status_code == 200
    fake_upstream.wait_until(lambda requests: len(requests) == 1 and requests[0].completed)
