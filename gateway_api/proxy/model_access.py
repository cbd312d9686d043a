"""Which models a caller may see and call: model lists answered from the catalog snapshot, and the requested
model checked in the order the reference product answers (known and active, this route's provider, granted,
a credential to call it with)."""

from __future__ import annotations

from gateway_api.catalog.snapshot import ModelEntry, Snapshot
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind
from gateway_api.proxy.auth import Caller
from gateway_api.proxy.model_lists import model_body, model_list_body
from gateway_api.proxy.refusal import Refusal
from gateway_api.proxy.routes import Endpoint


def model_list(snapshot: Snapshot, caller: Caller, provider: ProviderName, endpoint: Endpoint, query: bytes) -> bytes:
    """Model lists are answered from the catalog, never forwarded."""
    if endpoint.kind is EndpointKind.LIST_MODELS:
        models = [m for m in snapshot.granted_models(caller.user, provider) if callable_here(m, provider)]
        return model_list_body(provider, models, query)
    listed = snapshot.models_by_name.get(endpoint.model_id or "")
    if listed is None or not callable_here(listed, provider) or not snapshot.is_granted(caller.user, listed.name):
        raise Refusal(404, f'model "{endpoint.model_id}" not found', code="model_not_found")
    return model_body(provider, listed)


def authorised_model(
    snapshot: Snapshot, caller: Caller, provider: ProviderName, model_name: str
) -> tuple[ModelEntry, str]:
    """The requested model, checked in the order the reference product answers, and the credential its provider
    is called with."""
    model = snapshot.models_by_name.get(model_name)
    if model is None or not model.active:
        raise Refusal(404, f'model "{model_name}" is not available on this gateway', code="model_not_found")
    if model.provider.kind != provider:
        raise Refusal(400, "requested model does not match the provider for this route")
    if not snapshot.is_granted(caller.user, model_name):
        raise Refusal(403, f'user does not have permission to use model "{model_name}"')
    credential = model.provider.credential
    if not credential:
        raise Refusal(
            400, f'provider "{model.provider.name}" ({provider}) is not configured: an admin must set its API key'
        )
    return model, credential


def callable_here(model: ModelEntry, provider: ProviderName) -> bool:
    """Listed to clients: active, on this route's provider, and that provider has a credential to call it with."""
    return model.active and model.provider.kind == provider and bool(model.provider.credential)
