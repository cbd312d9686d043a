"""`GET v1/models` and `GET v1/models/{id}` answered from the catalog, in each provider's own format.

Built from the gateway's model table (the caller's granted, active models), never from the upstream's list, so
clients see exactly what they may call, even when the provider account offers more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

import orjson

from gateway_api.catalog.snapshot import ModelEntry
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import PROVIDERS

ANTHROPIC_DEFAULT_LIMIT = 20
ANTHROPIC_MAX_LIMIT = 1000


def _anthropic_model(model: ModelEntry) -> dict[str, Any]:
    created = model.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "model", "id": model.name, "display_name": model.display_name, "created_at": created}


def _openai_model(model: ModelEntry) -> dict[str, Any]:
    return {
        "id": model.name,
        "object": "model",
        "created": int(model.created_at.timestamp()),
        "owned_by": model.provider.name,
    }


def _openai_list(models: list[ModelEntry], query: bytes) -> bytes:
    return orjson.dumps({"object": "list", "data": [_openai_model(m) for m in models]})


def _anthropic_list(models: list[ModelEntry], query: bytes) -> bytes:
    """Anthropic's cursor parameters (limit, after_id, before_id) are honoured."""
    params = parse_qs(query.decode("latin-1"))
    limit = _limit(params.get("limit", [""])[0])
    names = [m.name for m in models]
    after_id = params.get("after_id", [""])[0]
    before_id = params.get("before_id", [""])[0]
    if before_id:
        end = names.index(before_id) if before_id in names else len(models)
        page = models[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        start = names.index(after_id) + 1 if after_id in names else 0
        page = models[start : start + limit]
        has_more = start + limit < len(models)
    return orjson.dumps(
        {
            "data": [_anthropic_model(m) for m in page],
            "has_more": has_more,
            "first_id": page[0].name if page else None,
            "last_id": page[-1].name if page else None,
        }
    )


# Each list format (ProviderSpec.model_list_format): the list document and one model's document.
_FORMATS: Mapping[str, tuple[Callable[[list[ModelEntry], bytes], bytes], Callable[[ModelEntry], dict[str, Any]]]] = (
    MappingProxyType({"anthropic": (_anthropic_list, _anthropic_model), "openai": (_openai_list, _openai_model)})
)


def model_list_body(provider: ProviderName, models: list[ModelEntry], query: bytes) -> bytes:
    list_body, _ = _FORMATS[PROVIDERS[provider].model_list_format]
    return list_body(models, query)


def model_body(provider: ProviderName, model: ModelEntry) -> bytes:
    _, model_document = _FORMATS[PROVIDERS[provider].model_list_format]
    return orjson.dumps(model_document(model))


def _limit(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        return ANTHROPIC_DEFAULT_LIMIT
    return min(max(value, 1), ANTHROPIC_MAX_LIMIT)
