"""Which sub-paths under `/api/llm-proxy/{provider}` the gateway proxies, and strict path validation.

Only known endpoints are forwarded (anything else is a gateway 404), so the provider credential is
never attached to an arbitrary upstream path. The sub-path arrives as the raw, still percent-encoded
ASGI `raw_path` remainder; it is validated before anything is decoded, and only the model id of
`models/{id}` is ever percent-decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from gateway_api.providers.names import ProviderName

MAX_MODEL_ID_LENGTH = 256

# RFC 3986 path characters. Anything else (backslash, NUL, controls, spaces, '?', '#', non-ASCII)
# makes the whole path invalid rather than being guessed at.
_PATH_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Encoded dot, slash and backslash are how traversal hides from naive checks; never accept them.
_FORBIDDEN_ESCAPES = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
_MODEL_ID_SEGMENT = re.compile(r"[A-Za-z0-9\-._~:@+]+")
# The official SDKs send a model id containing '/' as %2F. `models/{id}` is answered by the gateway, never
# forwarded, so its encoded slashes are read as segment separators (and the segments validated as usual).
_MODEL_LOOKUP = re.compile(rb"(?P<head>(?:/v1)?/models/)(?P<id>[^/].*)")
_ENCODED_SLASH = re.compile(rb"%2f", re.IGNORECASE)


class EndpointKind(StrEnum):
    PROBE = "probe"
    MESSAGES = "messages"
    COUNT_TOKENS = "count_tokens"
    LIST_MODELS = "list_models"
    GET_MODEL = "get_model"
    RESPONSES = "responses"
    CHAT_COMPLETIONS = "chat_completions"


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: EndpointKind
    upstream_path: str  # always starts with /v1; join with upstream_url()
    model_in_body: bool  # the JSON body's top-level "model" decides access
    usage_accounted: bool  # a usage row is recorded for a successful call
    model_id: str | None = None  # decoded id of models/{id}


@dataclass(frozen=True, slots=True)
class _Route:
    kind: EndpointKind
    upstream_path: str
    model_in_body: bool
    usage_accounted: bool

    def endpoint(self) -> Endpoint:
        return Endpoint(self.kind, self.upstream_path, self.model_in_body, self.usage_accounted)


_FIXED_ROUTES: MappingProxyType[tuple[ProviderName, str, tuple[str, ...]], _Route] = MappingProxyType(
    {
        # Claude Code's start-up probe; answered by the gateway itself, never forwarded.
        ("anthropic", "HEAD", ()): _Route(EndpointKind.PROBE, "/v1", False, False),
        ("anthropic", "POST", ("messages",)): _Route(EndpointKind.MESSAGES, "/v1/messages", True, True),
        ("anthropic", "POST", ("messages", "count_tokens")): _Route(
            EndpointKind.COUNT_TOKENS, "/v1/messages/count_tokens", True, False
        ),
        ("anthropic", "GET", ("models",)): _Route(EndpointKind.LIST_MODELS, "/v1/models", False, False),
        ("openai", "POST", ("responses",)): _Route(EndpointKind.RESPONSES, "/v1/responses", True, True),
        ("openai", "POST", ("chat", "completions")): _Route(
            EndpointKind.CHAT_COMPLETIONS, "/v1/chat/completions", True, True
        ),
        ("openai", "GET", ("models",)): _Route(EndpointKind.LIST_MODELS, "/v1/models", False, False),
    }
)


def resolve(provider: ProviderName, method: str, subpath: bytes | str) -> Endpoint | None:
    """The endpoint for `method` + `subpath` (the raw path after `/api/llm-proxy/{provider}`,
    "" or starting with "/", with or without a leading `/v1`), or None if it is not proxied."""
    method = method.upper()
    if method == "GET":
        subpath = _model_lookup_slashes(subpath)
    segments = _split_path(subpath)
    if segments is None:
        return None
    if segments and segments[0] == "v1":
        segments = segments[1:]
    route = _FIXED_ROUTES.get((provider, method, tuple(segments)))
    if route is not None:
        return route.endpoint()
    if method == "GET" and len(segments) >= 2 and segments[0] == "models":
        model_id = _decode_model_id(segments[1:])
        if model_id is not None:
            return Endpoint(
                EndpointKind.GET_MODEL,
                f"/v1/models/{model_id}",
                model_in_body=False,
                usage_accounted=False,
                model_id=model_id,
            )
    return None


def _model_lookup_slashes(subpath: bytes | str) -> bytes | str:
    raw = subpath.encode("latin-1", "replace") if isinstance(subpath, str) else subpath
    match = _MODEL_LOOKUP.fullmatch(raw)
    if match is None:
        return subpath
    return match["head"] + _ENCODED_SLASH.sub(b"/", match["id"])


def _split_path(subpath: bytes | str) -> list[str] | None:
    """Raw (still encoded) segments of a syntactically safe path, or None."""
    try:
        path = subpath.decode("ascii") if isinstance(subpath, bytes) else subpath
        path.encode("ascii")
    except UnicodeError:
        return None
    if path in ("", "/"):
        return []
    if not path.startswith("/") or not _PATH_CHARACTERS.fullmatch(path):
        return None
    if _FORBIDDEN_ESCAPES.search(path) or "%" in _PERCENT_ESCAPE.sub("", path):
        return None  # an encoded dot/slash/backslash, or a '%' that is not a valid escape
    segments = path[1:].split("/")
    # Empty segments ('//', trailing '/') and dot segments have no meaning upstream but can
    # change what a normalising server or proxy resolves; reject instead of normalising.
    if any(segment in ("", ".", "..") for segment in segments):
        return None
    return segments


def _decode_model_id(raw_segments: list[str]) -> str | None:
    decoded: list[str] = []
    for raw in raw_segments:
        segment = _PERCENT_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), raw)
        if not _MODEL_ID_SEGMENT.fullmatch(segment) or ".." in segment or segment == ".":
            return None
        decoded.append(segment)
    model_id = "/".join(decoded)
    return model_id if len(model_id) <= MAX_MODEL_ID_LENGTH else None


def upstream_url(base_url: str, endpoint_path: str, query: bytes | str = "") -> str:
    """Join a provider base URL (with or without a trailing `/v1`, with or without '/') and an
    endpoint path starting with `/v1`, never producing `/v1/v1`. The query string is appended
    exactly as received (it is already encoded; send it with yarl's `encoded=True`)."""
    base = base_url.rstrip("/")
    if base.endswith("/v1") and (endpoint_path == "/v1" or endpoint_path.startswith("/v1/")):
        base = base[: -len("/v1")]
    url = base + endpoint_path
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    return f"{url}?{query}" if query else url
