"""Gateway-generated errors parse as each provider's own error envelope."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from gateway_api.providers.spec import error_body
from tests.support.fakes.upstream import FakeUpstream

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    504: "api_error",
    529: "overloaded_error",
    418: "invalid_request_error",
    599: "api_error",
}


@pytest.mark.parametrize(("status", "error_type"), ANTHROPIC_TYPES.items())
def test_anthropic_envelope(status: int, error_type: str) -> None:
    body = json.loads(error_body("anthropic", status, 'model "x" says "hi" ✓'))
    assert body == {
        "type": "error",
        "error": {"type": error_type, "message": 'model "x" says "hi" ✓'},
    }


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, "invalid_request_error", None),
        (401, "invalid_request_error", "invalid_api_key"),
        (403, "invalid_request_error", "permission_denied"),
        (404, "invalid_request_error", "not_found"),
        (429, "rate_limit_exceeded", "rate_limit_exceeded"),
        (500, "server_error", None),
        (502, "server_error", "bad_gateway"),
        (599, "server_error", None),
        (422, "invalid_request_error", None),
    ],
)
def test_openai_envelope_defaults(status: int, error_type: str, code: str | None) -> None:
    body = json.loads(error_body("openai", status, "nope"))
    assert body == {"error": {"message": "nope", "type": error_type, "param": None, "code": code}}


def test_openai_code_and_param_override_the_defaults() -> None:
    body = json.loads(error_body("openai", 404, "The model `x` does not exist", code="model_not_found", param="model"))
    assert body["error"] == {
        "message": "The model `x` does not exist",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


def test_anthropic_sdk_reads_the_message(fake_upstream: FakeUpstream) -> None:
    """The official SDK turns the envelope into its own exception carrying our message."""
    fake_upstream.configure(error_status=403, error_body=error_body("anthropic", 403, "not allowed: x"))
    client = anthropic.Anthropic(api_key="k", base_url=fake_upstream.anthropic_base_url, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        client.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["error"]["message"] == "not allowed: x"


def test_openai_sdk_reads_the_message_and_code(fake_upstream: FakeUpstream) -> None:
    fake_upstream.configure(error_status=401, error_body=error_body("openai", 401, "bad key"))
    client = openai.OpenAI(api_key="k", base_url=f"{fake_upstream.openai_base_url}/v1", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.responses.create(model="gpt-5", input="hi")
    assert caught.value.code == "invalid_api_key"
    assert "bad key" in caught.value.message
