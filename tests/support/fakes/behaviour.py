"""What the fake upstream records and how a test tells it to behave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from multidict import CIMultiDictProxy

from tests.support.fakes import provider_bodies as bodies
from tests.support.fakes.provider_bodies import FakeUsage
from tests.support.fakes.tool_bodies import ToolCallSpec


@dataclass(slots=True)
class RecordedRequest:
    method: str
    path: str  # raw (still percent-encoded) path, without the query
    query_string: str  # raw, exactly as received
    headers: CIMultiDictProxy[str]
    body: bytes
    completed: bool = False  # the whole response was written (False: error, drop or client gone)

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(slots=True)
class FakeBehaviour:
    usage: FakeUsage = field(default_factory=FakeUsage)
    reply_text: str = "Hello from the fake upstream, one word at a time."
    response_model: str | None = None  # model reported back (default: the requested one)
    anthropic_models: list[str] = field(default_factory=lambda: list(bodies.ANTHROPIC_MODELS))
    openai_models: list[str] = field(default_factory=lambda: list(bodies.OPENAI_MODELS))
    anthropic_display_names: dict[str, str] = field(default_factory=dict)  # by id; default: the id itself
    error_status: int | None = None  # answer inference and model calls with this status
    error_body: bytes | None = None  # default: the provider's envelope
    error_headers: dict[str, str] = field(default_factory=dict)  # e.g. retry-after
    error_count: int | None = None  # fail only the first N calls (None: all)
    extra_headers: dict[str, str] = field(default_factory=dict)
    headers_delay: float = 0.0  # seconds before the response head
    chunk_delay: float = 0.0  # seconds between body chunks
    first_chunk_delay: float = 0.0  # seconds between the response head and the first body chunk
    chunk_size: int | None = None  # re-split the (encoded) body into pieces of this many bytes
    content_encoding: str | None = None  # gzip | deflate | br | zstd
    drop_after_bytes: int | None = None  # close the connection after this many body bytes
    malformed_sse: bool = False  # interleave garbage events (usage must still come out exact)
    pretty_json: bool = False  # indent non-streaming JSON bodies
    usage_on_last_content_chunk: bool = False  # chat completions streaming variant
    tool_call: ToolCallSpec | None = None  # the reply's text is followed by this tool call (every format)
    # Chooses the reply text from the request's JSON (None: reply_text), e.g. a judge's verdict by content.
    reply_for: Callable[[Any], str | None] | None = None
    # Chooses the tool call from the request's JSON when set (None: a plain reply; `tool_call` is then ignored), so an
    # agent's turns can differ: a call first, text once its result comes back (tool_bodies.call_until_result).
    tool_call_for: Callable[[Any], ToolCallSpec | None] | None = None

    def tool_call_for_request(self, request_json: Any) -> ToolCallSpec | None:
        return self.tool_call_for(request_json) if self.tool_call_for is not None else self.tool_call
