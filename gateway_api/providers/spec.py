"""Everything the gateway knows about each upstream provider, in one table.

Code looks a provider's `ProviderSpec` up (`PROVIDERS[name]`) instead of branching on its name: adding a provider
(Azure OpenAI, Bedrock) is a new entry here plus whatever quirks it really has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from gateway_api.providers.envelopes import anthropic_error_body, openai_error_body
from gateway_api.providers.names import ProviderName

# A figure's place in a provider's `usage` object: a key, or (key of a details object, key inside it).
UsagePath = str | tuple[str, str]


@dataclass(frozen=True, slots=True)
class UsageShape:
    """Where one wire format puts each token figure in its `usage` object (None: it never reports that figure)."""

    input_tokens: UsagePath
    output_tokens: UsagePath
    cache_read_tokens: UsagePath | None
    cache_write_tokens: UsagePath | None
    reasoning_tokens: UsagePath | None
    # The shape applies to a usage object holding one of these keys; a provider's last shape is its fallback.
    recognised_by: tuple[str, ...] = ()


class EndpointKind(StrEnum):
    """The endpoints the proxy knows; the value is what usage records store."""

    PROBE = "probe"
    MESSAGES = "messages"
    COUNT_TOKENS = "count_tokens"
    LIST_MODELS = "list_models"
    GET_MODEL = "get_model"
    RESPONSES = "responses"
    CHAT_COMPLETIONS = "chat_completions"


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One endpoint the proxy serves under a provider's prefix, by method and path segments after `/v1`."""

    kind: EndpointKind
    upstream_path: str  # always starts with /v1
    model_in_body: bool  # the JSON body's top-level "model" decides access
    usage_accounted: bool  # a usage row is recorded for the call


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: ProviderName
    default_base_url: str
    # The header that carries the provider credential upstream, and how its value is built from the credential.
    credential_header: str
    credential_scheme: str  # prefix of the header value ("Bearer ") or ""
    # Headers every call of the gateway's own (model listing) must add, e.g. the API version.
    admin_headers: Mapping[str, str]
    # Query parameters of a model-list request for the largest page the provider serves.
    model_list_params: Mapping[str, str | int]
    error_body: Callable[[int, str, str | None, str | None], bytes]
    # "anthropic": `data/has_more/first_id/last_id` with cursor paging; "openai": `object: list`.
    model_list_format: ProviderName
    usage_shapes: tuple[UsageShape, ...]
    # Anthropic reports uncached input apart from the cache figures; the gateway's input counts all three.
    input_excludes_cache: bool
    # Whether cache writes have a price of their own (OpenAI bills them as ordinary input).
    bills_cache_writes: bool
    endpoints: Mapping[tuple[str, tuple[str, ...]], EndpointSpec]
    # Client headers forwarded upstream (an allow-list: cookies, x-forwarded-*, organisation headers and anything
    # unknown stay behind), by exact lower-case name or by prefix. Real clients' headers: reference/client-protocol.
    forwarded_headers: frozenset[bytes] = frozenset()
    forwarded_header_prefixes: tuple[bytes, ...] = ()
    # Query parameters an endpoint defines, forwarded as received; any other parameter is dropped.
    query_params: Mapping[EndpointKind, frozenset[bytes]] = field(default_factory=lambda: MappingProxyType({}))

    def credential_value(self, credential: str) -> str:
        return self.credential_scheme + credential


def _endpoints(
    *entries: tuple[str, tuple[str, ...], EndpointSpec],
) -> Mapping[tuple[str, tuple[str, ...]], EndpointSpec]:
    return MappingProxyType({(method, segments): spec for method, segments, spec in entries})


# Headers every client library sends, whatever the provider.
_COMMON_FORWARDED_HEADERS = frozenset({b"content-type", b"accept", b"user-agent", b"idempotency-key"})
_COMMON_FORWARDED_PREFIXES = (b"x-stainless-",)  # the official SDKs' telemetry (os, runtime, retry count, timeout)

ANTHROPIC = ProviderSpec(
    name="anthropic",
    default_base_url="https://api.anthropic.com",
    credential_header="x-api-key",
    credential_scheme="",
    admin_headers=MappingProxyType({"anthropic-version": "2023-06-01"}),
    model_list_params=MappingProxyType({"limit": 1000}),
    error_body=anthropic_error_body,
    model_list_format="anthropic",
    usage_shapes=(
        UsageShape(
            input_tokens="input_tokens",
            output_tokens="output_tokens",
            cache_read_tokens="cache_read_input_tokens",
            cache_write_tokens="cache_creation_input_tokens",
            reasoning_tokens=None,
        ),
    ),
    input_excludes_cache=True,
    bills_cache_writes=True,
    endpoints=_endpoints(
        # Claude Code's start-up probe; answered by the gateway itself, never forwarded.
        ("HEAD", (), EndpointSpec(EndpointKind.PROBE, "/v1", False, False)),
        ("POST", ("messages",), EndpointSpec(EndpointKind.MESSAGES, "/v1/messages", True, True)),
        (
            "POST",
            ("messages", "count_tokens"),
            EndpointSpec(EndpointKind.COUNT_TOKENS, "/v1/messages/count_tokens", True, False),
        ),
        ("GET", ("models",), EndpointSpec(EndpointKind.LIST_MODELS, "/v1/models", False, False)),
    ),
    forwarded_headers=_COMMON_FORWARDED_HEADERS
    | {
        b"anthropic-version",
        b"anthropic-beta",
        b"anthropic-dangerous-direct-browser-access",
        b"x-app",
        b"x-claude-code-session-id",
    },
    forwarded_header_prefixes=_COMMON_FORWARDED_PREFIXES,
    # Claude Code calls `/v1/messages?beta=true`.
    query_params=MappingProxyType(
        {EndpointKind.MESSAGES: frozenset({b"beta"}), EndpointKind.COUNT_TOKENS: frozenset({b"beta"})}
    ),
)

OPENAI = ProviderSpec(
    name="openai",
    default_base_url="https://api.openai.com",
    credential_header="authorization",
    credential_scheme="Bearer ",
    admin_headers=MappingProxyType({}),
    model_list_params=MappingProxyType({}),
    error_body=openai_error_body,
    model_list_format="openai",
    usage_shapes=(
        UsageShape(  # Chat Completions
            input_tokens="prompt_tokens",
            output_tokens="completion_tokens",
            cache_read_tokens=("prompt_tokens_details", "cached_tokens"),
            cache_write_tokens=None,
            reasoning_tokens=("completion_tokens_details", "reasoning_tokens"),
            recognised_by=("prompt_tokens", "completion_tokens"),
        ),
        UsageShape(  # Responses
            input_tokens="input_tokens",
            output_tokens="output_tokens",
            cache_read_tokens=("input_tokens_details", "cached_tokens"),
            cache_write_tokens=None,
            reasoning_tokens=("output_tokens_details", "reasoning_tokens"),
        ),
    ),
    input_excludes_cache=False,
    bills_cache_writes=False,
    endpoints=_endpoints(
        ("POST", ("responses",), EndpointSpec(EndpointKind.RESPONSES, "/v1/responses", True, True)),
        (
            "POST",
            ("chat", "completions"),
            EndpointSpec(EndpointKind.CHAT_COMPLETIONS, "/v1/chat/completions", True, True),
        ),
        ("GET", ("models",), EndpointSpec(EndpointKind.LIST_MODELS, "/v1/models", False, False)),
    ),
    # Not openai-organization / openai-project: which organisation is billed is the provider's configuration.
    forwarded_headers=_COMMON_FORWARDED_HEADERS
    | {b"openai-beta", b"originator", b"session-id", b"thread-id", b"x-client-request-id", b"version"},
    forwarded_header_prefixes=(*_COMMON_FORWARDED_PREFIXES, b"x-codex-"),
)

# In the order users see them (the Models page lists Anthropic first).
PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType({spec.name: spec for spec in (ANTHROPIC, OPENAI)})


def join_base_url(base_url: str, endpoint_path: str, query: bytes | str = "") -> str:
    """Join a provider base URL (with or without a trailing `/v1`, with or without '/') and an endpoint path starting
    with `/v1`, never producing `/v1/v1`. A query string is appended exactly as received (it is already encoded)."""
    base = base_url.rstrip("/")
    if base.endswith("/v1") and (endpoint_path == "/v1" or endpoint_path.startswith("/v1/")):
        base = base[: -len("/v1")]
    url = base + endpoint_path
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    return f"{url}?{query}" if query else url


def error_body(
    provider: ProviderName | str, status: int, message: str, *, code: str | None = None, param: str | None = None
) -> bytes:
    """A gateway-made error in `provider`'s own envelope (see envelopes.py)."""
    return PROVIDERS[provider].error_body(status, message, code, param)
