"""The official anthropic and openai Python SDKs against the live gateway, which forwards to the fake upstream."""

from __future__ import annotations

import anthropic
import openai
import pytest

from gateway_api.db.models import Outcome
from tests.proxy.conftest import ALICE, BOB, SLASHED_ANTHROPIC_MODEL, SLASHED_OPENAI_MODEL, SONNET, ProxyEnv
from tests.support.fakes.provider_bodies import FakeUsage

# The SDK warns that the fixture's model id is deprecated; irrelevant here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPLY = "Hello from the fake upstream, one word at a time."
MESSAGES = [{"role": "user", "content": "say hi"}]


def anthropic_client(env: ProxyEnv, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=key, base_url=env.anthropic_url, max_retries=0)


def openai_client(env: ProxyEnv, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=env.openai_url, max_retries=0)


# -- Anthropic ---------------------------------------------------------------------------------------


def test_anthropic_messages_create(proxy_env: ProxyEnv, alice_key: str) -> None:
    message = anthropic_client(proxy_env, alice_key).messages.create(model=SONNET, max_tokens=64, messages=MESSAGES)

    assert message.content[0].text == REPLY
    assert message.usage.input_tokens == 25
    [row] = proxy_env.usage_rows(1)
    assert (row.model, row.endpoint, row.streamed, row.outcome) == (SONNET, "messages", False, Outcome.ok)


def test_anthropic_messages_stream(proxy_env: ProxyEnv, alice_key: str) -> None:
    client = anthropic_client(proxy_env, alice_key)
    with client.messages.stream(model=SONNET, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == REPLY
    assert final.usage.output_tokens == 12
    [row] = proxy_env.usage_rows(1)
    assert (row.streamed, row.input_tokens, row.output_tokens) == (True, 25, 12)


def test_anthropic_count_tokens_is_forwarded_but_not_accounted(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=FakeUsage(input_tokens=321))

    counted = anthropic_client(proxy_env, alice_key).messages.count_tokens(model=SONNET, messages=MESSAGES)

    assert counted.input_tokens == 321
    assert proxy_env.fake.last_request().path == "/anthropic/v1/messages/count_tokens"
    proxy_env.usage_rows(0)


def test_anthropic_models_list_and_retrieve(proxy_env: ProxyEnv, alice_key: str) -> None:
    client = anthropic_client(proxy_env, alice_key)

    ids = [model.id for model in client.models.list()]
    retrieved = client.models.retrieve(SLASHED_ANTHROPIC_MODEL)

    # Granted and active, of this provider, with a credential; sorted; never the upstream's own list.
    assert ids == [
        "claude-force-error-429",
        "claude-haiku-4-5",
        "claude-opus-4-1-20250805",
        SONNET,
        SLASHED_ANTHROPIC_MODEL,
    ]
    assert retrieved.id == SLASHED_ANTHROPIC_MODEL
    assert retrieved.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("gpt-5")  # another provider's model
    assert proxy_env.fake.requests == []


def test_anthropic_models_list_pages(proxy_env: ProxyEnv, alice_key: str) -> None:
    client = anthropic_client(proxy_env, alice_key)

    first = client.models.list(limit=2)
    second = client.models.list(limit=2, after_id=first.last_id)

    assert [m.id for m in first.data] == ["claude-force-error-429", "claude-haiku-4-5"]
    assert first.has_more is True
    assert [m.id for m in second.data] == ["claude-opus-4-1-20250805", SONNET]
    assert [m.id for m in client.models.list(limit=2, before_id="claude-opus-4-1-20250805").data] == [
        "claude-force-error-429",
        "claude-haiku-4-5",
    ]


def test_anthropic_gateway_refusals_raise_typed_errors(proxy_env: ProxyEnv, alice_key: str) -> None:
    bob_key = proxy_env.issue_key(BOB)
    cases: list[tuple[type[anthropic.APIStatusError], str, str]] = [
        (anthropic.AuthenticationError, "gwk_not-a-real-key", SONNET),
        (anthropic.PermissionDeniedError, bob_key, SONNET),
        (anthropic.NotFoundError, alice_key, "claude-does-not-exist"),
    ]
    for error_type, key, model in cases:
        with pytest.raises(error_type) as raised:
            anthropic_client(proxy_env, key).messages.create(model=model, max_tokens=8, messages=MESSAGES)
        assert raised.value.body["type"] == "error"  # type: ignore[index]
    assert proxy_env.fake.requests == []


def test_anthropic_gateway_throttles_key_guessing_with_429(proxy_env: ProxyEnv) -> None:
    limit = proxy_env.services.settings.login_max_failures
    for attempt in range(limit):
        with pytest.raises(anthropic.AuthenticationError):
            anthropic_client(proxy_env, f"gwk_guess-{attempt}").messages.create(
                model=SONNET, max_tokens=8, messages=MESSAGES
            )

    with pytest.raises(anthropic.RateLimitError) as raised:
        anthropic_client(proxy_env, "gwk_guess-last").messages.create(model=SONNET, max_tokens=8, messages=MESSAGES)

    assert int(raised.value.response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, anthropic.AuthenticationError),
        (403, anthropic.PermissionDeniedError),
        (404, anthropic.NotFoundError),
        (429, anthropic.RateLimitError),
    ],
)
def test_anthropic_upstream_errors_pass_through_typed(
    proxy_env: ProxyEnv, alice_key: str, status: int, error_type: type[anthropic.APIStatusError]
) -> None:
    proxy_env.fake.configure(error_status=status, error_headers={"retry-after": "7"})

    with pytest.raises(error_type) as raised:
        anthropic_client(proxy_env, alice_key).messages.create(model=SONNET, max_tokens=8, messages=MESSAGES)

    assert raised.value.body["error"]["message"] == "fake upstream error"  # type: ignore[index]
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.response.headers["request-id"].startswith("req_")
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome) == (status, Outcome.upstream_error)


# -- OpenAI --------------------------------------------------------------------------------------------


def test_openai_responses_create_and_stream(proxy_env: ProxyEnv, alice_key: str) -> None:
    client = openai_client(proxy_env, alice_key)

    response = client.responses.create(model="gpt-5", input="say hi")
    with client.responses.stream(model="gpt-5", input="say hi") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert response.output_text == REPLY
    assert "".join(deltas) == REPLY
    assert final.usage is not None and final.usage.output_tokens == 12
    rows = proxy_env.usage_rows(2)
    assert [(r.endpoint, r.streamed, r.model) for r in rows] == [
        ("responses", False, "gpt-5"),
        ("responses", True, "gpt-5"),
    ]


def test_openai_chat_completions_create_and_stream_with_usage(proxy_env: ProxyEnv, alice_key: str) -> None:
    client = openai_client(proxy_env, alice_key)

    completion = client.chat.completions.create(model="gpt-4.1", messages=MESSAGES)  # type: ignore[arg-type]
    chunks = list(
        client.chat.completions.create(
            model=SLASHED_OPENAI_MODEL,
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert completion.choices[0].message.content == REPLY
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 25
    rows = proxy_env.usage_rows(2)
    assert [(r.endpoint, r.streamed, r.model, r.input_tokens) for r in rows] == [
        ("chat_completions", False, "gpt-4.1", 25),
        ("chat_completions", True, SLASHED_OPENAI_MODEL, 25),
    ]


def test_openai_models_list_and_retrieve(proxy_env: ProxyEnv, alice_key: str) -> None:
    client = openai_client(proxy_env, alice_key)

    ids = [model.id for model in client.models.list()]
    retrieved = client.models.retrieve(SLASHED_OPENAI_MODEL)

    assert ids == ["gpt-4.1", "gpt-5", "gpt-5-mini", "gpt-force-error-401", SLASHED_OPENAI_MODEL]  # not o4-mini
    assert (retrieved.id, retrieved.object, retrieved.owned_by) == (SLASHED_OPENAI_MODEL, "model", "openai")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("o4-mini")  # exists, but not granted to alice
    assert proxy_env.fake.requests == []


def test_openai_gateway_refusals_raise_typed_errors(proxy_env: ProxyEnv, alice_key: str) -> None:
    no_llm_scope_key = proxy_env.issue_key(ALICE, scopes=frozenset({"ui"}))  # type: ignore[arg-type]
    cases: list[tuple[type[openai.APIStatusError], str, str]] = [
        (openai.AuthenticationError, "sk-not-a-gateway-key", "gpt-5"),
        (openai.PermissionDeniedError, no_llm_scope_key, "gpt-5"),
        (openai.PermissionDeniedError, alice_key, "o4-mini"),
        (openai.NotFoundError, alice_key, "gpt-does-not-exist"),
    ]
    for error_type, key, model in cases:
        with pytest.raises(error_type) as raised:
            openai_client(proxy_env, key).responses.create(model=model, input="hi")
        assert set(raised.value.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    assert proxy_env.fake.requests == []


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
    ],
)
def test_openai_upstream_errors_pass_through_typed(
    proxy_env: ProxyEnv, alice_key: str, status: int, error_type: type[openai.APIStatusError]
) -> None:
    proxy_env.fake.configure(error_status=status)

    with pytest.raises(error_type) as raised:
        openai_client(proxy_env, alice_key).responses.create(model="gpt-5", input="hi")

    assert raised.value.body["message"] == "fake upstream error"  # type: ignore[index]
    assert raised.value.response.headers["x-request-id"].startswith("req_")
    assert raised.value.response.headers["x-ratelimit-remaining-requests"] == "9999"
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome) == (status, Outcome.upstream_error)
