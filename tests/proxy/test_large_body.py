"""The streaming scan of large bodies (issue 15, point 7) reads what a whole parse reads, and refuses the same."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway_api.proxy.large_body import MAX_DEPTH, read_large_request
from gateway_api.proxy.refusal import Refusal
from gateway_api.proxy.request_model import RequestFacts, facts_with_orjson

SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(['"', "\\", "[", "}", '\\"'])
VALUES = st.recursive(
    SCALARS | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)
READ = st.sampled_from(
    ["model", "stream", "max_tokens", "max_output_tokens", "max_completion_tokens", "stream_options"]
)
MEMBERS = st.lists(st.tuples(READ | TEXT, VALUES | TEXT), max_size=8)


def scan(body: bytes) -> RequestFacts | Refusal:
    return asyncio.run(read_large_request(body))


def as_object(members: list[tuple[str, Any]], indent: bool) -> bytes:
    """A JSON object with the members in order, repeated keys kept (json.dumps of a dict cannot repeat one)."""
    separator = b",\n  " if indent else b","
    parts = [orjson.dumps(key) + (b" : " if indent else b":") + orjson.dumps(value) for key, value in members]
    return b"{" + separator.join(parts) + b"}"


def same_answer(ours: RequestFacts | Refusal, theirs: RequestFacts | Refusal) -> None:
    if isinstance(theirs, Refusal):
        assert isinstance(ours, Refusal) and (ours.status, ours.message) == (theirs.status, theirs.message)
    else:
        assert ours == theirs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=MEMBERS, model=st.none() | TEXT, indent=st.booleans())
def test_valid_documents_give_the_answer_of_a_whole_parse(
    members: list[tuple[str, Any]], model: str | None, indent: bool
) -> None:
    if model is not None:
        members = [*members, ("model", model)]
    body = as_object(members, indent)
    same_answer(scan(body), facts_with_orjson(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"a","model":"b"}',
        b'{"mod\\u0065l":"escaped","x":1}',
        b'  {"model" : "spaced" , "stream" : true }  ',
        b'{"model":"m","stream_options":{"include_usage":true},"max_completion_tokens":7}',
        b'{"x":"a string with \\" and [ and } inside","model":"m"}',
        b'{"x":[[[[]]],{"a":[{}]}],"model":"m"}',
        b"[1,2,3]",
        b'"just a string"',
        b"{}",
        b'{"model":42}',
    ],
)
def test_known_shapes(body: bytes) -> None:
    same_answer(scan(body), facts_with_orjson(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"m"',
        b'{"model":"m"}}',
        b'{"model":"m",}',
        b'{"model":"m" "x":1}',
        b'{"x":[1,2}, "model":"m"}',
        b'{"x":{"a":1], "model":"m"}',
        b'{"model":"unterminated}',
        b'{"model":"m","x":"\\',
        b'{"x":' + b"[" * (MAX_DEPTH + 10) + b',"model":"m"}',  # never closed: the open levels are bounded
        b'{"model":"m","x":"\xff\xfe"}',
        b'\xef\xbb\xbf{"model":"m"}',
        b'{"model":"m"} trailing',
        b'{"model":nope}',
        b"",
    ],
)
def test_malformed_bodies_are_refused_as_not_json(body: bytes) -> None:
    ours = scan(body)
    assert isinstance(ours, Refusal) and ours.status == 400
    assert isinstance(facts_with_orjson(body), Refusal)


def test_nesting_deeper_than_any_parser_accepts_is_refused_in_bounded_time() -> None:
    deep = b"[" * 20_000 + b"]" * 20_000
    body = b'{"x":[' + b",".join([deep] * 60) + b'],"model":"m"}'  # 2.4 MB of nesting 20,000 deep
    started = time.perf_counter()
    assert scan(body) == Refusal(400, "request body is not valid JSON")
    assert isinstance(facts_with_orjson(body), Refusal)
    assert time.perf_counter() - started < 10


def test_a_hostile_30_mib_body_is_scanned_quickly_without_copies() -> None:
    body = b'{"pad":[' + b"[]," * (10 * 1024 * 1024) + b'[]],"model":"claude-x","stream":true}'
    assert scan(body) == RequestFacts(model="claude-x", stream=True, max_output_tokens=None, include_usage=False)
