"""top_level_model answers exactly as a full orjson parse would, while simdjson does the reading where it can."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_api.proxy import request_model
from gateway_api.proxy.refusal import Refusal
from gateway_api.proxy.request_model import (
    RequestFacts,
    facts_with_orjson,
    model_with_orjson,
    read_request,
    top_level_model,
)

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"

NOT_JSON = Refusal(400, "request body is not valid JSON")
NOT_AN_OBJECT = Refusal(400, "request body must be a JSON object")
NO_MODEL = Refusal(400, 'request body needs a "model" string')


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"model":"claude-sonnet-4-5","max_tokens":10}', "claude-sonnet-4-5"),
        (b' \n\t{"model":"gpt-5"}\n', "gpt-5"),
        (b'{"mo\\u0064el":"escaped-key"}', "escaped-key"),
        (b'{"nested":{"model":"inner"},"model":"outer"}', "outer"),
        (b'{"messages":[{"model":"inner"}]}', NO_MODEL),
        # A repeated key: the last one, as orjson and the providers' parsers read it (simdjson alone: the first).
        (b'{"model":"allowed","model":"forbidden"}', "forbidden"),
        (b'{"model":"allowed","x":1,"model":"forbidden"}', "forbidden"),
        (b'{"model":"a","model":1}', NO_MODEL),
        # Integers simdjson cannot hold are valid JSON to orjson.
        (b'{"n":123456789012345678901234567890,"model":"big-int"}', "big-int"),
        (b'{"n":-9223372036854775809,"model":"big-negative"}', "big-negative"),
        (b'{"n":18446744073709551616,"model":"big-unsigned"}', "big-unsigned"),
        (b'{"model":1}', NO_MODEL),
        (b'{"model":""}', NO_MODEL),
        (b'{"model":{"id":"x"}}', NO_MODEL),
        (b'{"model":["x"]}', NO_MODEL),
        (b'{"model":null}', NO_MODEL),
        (b"{}", NO_MODEL),
        (b'["model"]', NOT_AN_OBJECT),
        (b'"model"', NOT_AN_OBJECT),
        (b"42", NOT_AN_OBJECT),
        (b"", NOT_JSON),
        (b"{not json", NOT_JSON),
        (b'{"model":"a"} trailing', NOT_JSON),
        (b'{"model":"a",}', NOT_JSON),
        (b'{"model":"\xff"}', NOT_JSON),
        (b'{"model":"\\ud800"}', NOT_JSON),
        (b'{"n":NaN,"model":"a"}', NOT_JSON),
        (b'{"n":1e400,"model":"a"}', NOT_JSON),
        (b"\xef\xbb\xbf" + b'{"model":"bom"}', NOT_JSON),  # simdjson skips a BOM, orjson refuses it
        (b"[" * 5000 + b"]" * 5000, NOT_JSON),
    ],
)
def test_answers_as_a_full_parse_would(body: bytes, expected: str | Refusal) -> None:
    assert model_with_orjson(body) == expected
    assert top_level_model(body) == expected


def test_one_call_after_another_gets_its_own_answer() -> None:
    for index in range(200):
        assert top_level_model(b'{"model":"m%d","n":[1,2,{"x":"y"}]}' % index) == f"m{index}"
        assert top_level_model(b'{"model":{"nested":true}}') == NO_MODEL
        assert top_level_model(b"[1, 2]") == NOT_AN_OBJECT


def test_bodies_over_the_lazy_limit_are_read_by_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_model, "MAX_LAZY_BYTES", 64)
    read_lazily = []
    original = request_model._with_simdjson
    monkeypatch.setattr(request_model, "_with_simdjson", lambda body: read_lazily.append(body) or original(body))
    big = b'{"model":"big","pad":"' + b"x" * 200 + b'"}'
    assert top_level_model(big) == "big"
    assert top_level_model(b'{"model":"small"}') == "small"
    assert read_lazily == [b'{"model":"small"}']


def test_real_client_requests_name_their_model() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"captured client requests not found in {FIXTURES} (shared/ must sit beside the repo)")
    bodies = []
    for name in ("claude-code-requests.jsonl", "codex-requests.jsonl", "python-sdk-requests.jsonl"):
        for line in (FIXTURES / name).read_text().splitlines():
            body = json.loads(line).get("body")
            if isinstance(body, dict) and "model" in body:
                bodies.append(orjson.dumps(body))
    assert bodies, f"no request bodies with a model in {FIXTURES}"
    for body in bodies:
        assert top_level_model(body) == orjson.loads(body)["model"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)
model_values = st.text(max_size=8) | json_values


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.sampled_from(["model", "stream", "messages", "Model", "model "]), max_size=5),
    values=st.lists(model_values, min_size=5, max_size=5),
)
def test_any_object_gets_orjsons_answer(keys: list[str], values: list[object]) -> None:
    # Built by hand so that repeated keys survive into the bytes, in order.
    # json.dumps: it writes integers of any size, and lone surrogates become invalid UTF-8 for both parsers to refuse.
    members = [
        f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False)}" for key, value in zip(keys, values, strict=False)
    ]
    body = ("{" + ",".join(members) + "}").encode("utf-8", "surrogatepass")
    assert top_level_model(body) == model_with_orjson(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"model":"m"}', RequestFacts("m", stream=False, max_output_tokens=None, include_usage=False)),
        (b'{"model":"m","stream":true,"max_tokens":64}', RequestFacts("m", True, 64, False)),
        (b'{"model":"m","max_output_tokens":10,"stream":1}', RequestFacts("m", False, 10, False)),
        (b'{"model":"m","max_completion_tokens":7,"max_tokens":9}', RequestFacts("m", False, 9, False)),
        (b'{"model":"m","max_tokens":1.5}', RequestFacts("m", False, None, False)),
        (b'{"model":"m","max_tokens":true}', RequestFacts("m", False, None, False)),
        (
            b'{"model":"m","stream":true,"stream_options":{"include_usage":true}}',
            RequestFacts("m", True, None, True, has_stream_options=True),
        ),
        (
            b'{"model":"m","stream_options":{"include_usage":"yes"}}',
            RequestFacts("m", False, None, False, has_stream_options=True),
        ),
        (b'{"model":"m","stream_options":null}', RequestFacts("m", False, None, False, has_stream_options=True)),
        # An escaped key is the same key to every parser.
        (b'{"model":"m","stream\\u005foptions":{}}', RequestFacts("m", False, None, False, has_stream_options=True)),
        # Repeated keys read as the providers read them: the last one.
        (b'{"model":"m","stream":false,"stream":true}', RequestFacts("m", True, None, False)),
        (b'{"model":"m","max_tokens":1,"max_tokens":1000}', RequestFacts("m", False, 1000, False)),
        (
            b'{"model":"m","stream_options":{"include_usage":false,"include_usage":true}}',
            RequestFacts("m", False, None, True, has_stream_options=True),
        ),
    ],
)
def test_request_facts_are_read_as_the_provider_reads_them(body: bytes, expected: RequestFacts) -> None:
    assert read_request(body) == expected
    assert facts_with_orjson(body) == expected


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(
        st.sampled_from(["model", "stream", "max_tokens", "max_output_tokens", "stream_options", "x"]), max_size=6
    ),
    values=st.lists(model_values | st.just("m") | st.just(True), min_size=6, max_size=6),
)
def test_any_object_gets_orjsons_facts(keys: list[str], values: list[object]) -> None:
    members = [
        f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False)}" for key, value in zip(keys, values, strict=False)
    ]
    body = ("{" + ",".join(members) + "}").encode("utf-8", "surrogatepass")
    assert read_request(body) == facts_with_orjson(body)
