"""Which sub-paths under `/api/llm-proxy/{provider}` the gateway proxies, and strict path validation.

Only known endpoints are forwarded (anything else is a gateway 404), so the provider credential is
never attached to an arbitrary upstream path. The sub-path arrives as the raw, still percent-encoded
ASGI `raw_path` remainder; it is validated before anything is decoded, and only the model id of
`models/{id}` is ever percent-decoded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from gateway_api.providers.names import PROVIDER_NAMES, ProviderName
from gateway_api.providers.spec import PROVIDERS, EndpointKind, EndpointSpec, error_body

PROXY_PREFIX = "/api/llm-proxy"
_PREFIX_BYTES = PROXY_PREFIX.encode() + b"/"
_PROVIDERS_BY_BYTES: Mapping[bytes, ProviderName] = MappingProxyType({name.encode(): name for name in PROVIDER_NAMES})
# A path that names no provider is answered in this provider's envelope.
FALLBACK_PROVIDER: ProviderName = "openai"

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


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: EndpointKind
    upstream_path: str  # always starts with /v1; join with join_base_url()
    model_in_body: bool  # the JSON body's top-level "model" decides access
    usage_accounted: bool  # a usage row is recorded for a successful call
    model_id: str | None = None  # decoded id of models/{id}

    @classmethod
    def of(cls, spec: EndpointSpec) -> Endpoint:
        return cls(spec.kind, spec.upstream_path, spec.model_in_body, spec.usage_accounted)


def split_target(raw_path: bytes) -> tuple[ProviderName | None, bytes]:
    """(provider, remaining raw path) for `/api/llm-proxy/{provider}{rest}`; (None, b"") for anything else."""
    if not raw_path.startswith(_PREFIX_BYTES):
        return None, b""
    name, slash, tail = raw_path[len(_PREFIX_BYTES) :].partition(b"/")
    provider = _PROVIDERS_BY_BYTES.get(name)
    return (provider, slash + tail) if provider is not None else (None, b"")


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
    known = PROVIDERS[provider].endpoints.get((method, tuple(segments)))
    if known is not None:
        return Endpoint.of(known)
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


def proxy_error_body(scope: MutableMapping[str, Any], status: int, message: str) -> bytes:
    """An error of the gateway's own for a proxy path, in the envelope of the provider the path names."""
    provider, _ = split_target(scope.get("raw_path") or scope["path"].encode())
    return error_body(provider or FALLBACK_PROVIDER, status, message)
