"""Upstream providers (admin): base URL and a write-only credential; connection test; model import."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import case, func
from sqlmodel import Session, col, delete, select

from gateway_api.accounts.audit import record_event
from gateway_api.api.crud import IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import conflict
from gateway_api.core.names import ProviderName
from gateway_api.db.models import Model, Provider, ProviderKind, saved_id, utcnow
from gateway_api.providers.admin_client import UpstreamProblem, list_upstream_models
from gateway_api.providers.credential_binding import credential_bound_here, move_provider, origin_of, set_credential
from gateway_api.providers.shipped_prices import apply_shipped_price
from gateway_api.providers.spec import PROVIDERS
from gateway_api.services import AppServices

router = APIRouter(prefix="/providers", tags=["providers"], dependencies=[Depends(require_admin)])

# Printable ASCII without spaces: anything else cannot travel in an HTTP header and is never a real key.
CREDENTIAL_PATTERN = r"^[\x21-\x7e]+$"


def _check_base_url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query or fragment")
    return value


class ProviderCreate(BaseModel):
    name: ProviderName
    kind: ProviderKind
    base_url: str | None = Field(default=None, max_length=500, description="default: the provider's public API")
    credential: str | None = Field(default=None, min_length=1, max_length=2000, pattern=CREDENTIAL_PATTERN)

    _base_url = field_validator("base_url")(_check_base_url)


class ProviderUpdate(BaseModel):
    name: ProviderName | None = None
    base_url: str | None = Field(default=None, max_length=500)
    credential: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        pattern=CREDENTIAL_PATTERN,
        description="omit to keep the stored credential; a string replaces it; null removes it",
    )

    _base_url = field_validator("base_url")(_check_base_url)


class ProviderPublic(BaseModel):
    id: int
    name: str
    kind: ProviderKind
    base_url: str
    configured: bool
    credential_last4: str | None
    model_count: int
    active_model_count: int
    created_at: datetime
    updated_at: datetime
    credential_cleared: bool = Field(
        default=False, description="this change moved the provider to another host and removed its credential"
    )


class ProvidersPublic(BaseModel):
    data: list[ProviderPublic]
    count: int


class ConnectionCheck(BaseModel):
    ok: bool
    message: str
    status_code: int | None = None
    models_found: int = 0


class ImportOptions(BaseModel):
    activate: bool = Field(default=False, description="true: the models added are active (callable) at once")


class ImportResult(BaseModel):
    added: list[str]
    skipped: list[str]
    named: list[str] = Field(
        default_factory=list, description="models already present that took the provider's display name"
    )


def provider_public(session: Session, provider: Provider, *, credential_cleared: bool = False) -> ProviderPublic:
    counts = session.exec(
        select(func.count(), func.coalesce(func.sum(case((col(Model.active), 1), else_=0)), 0)).where(
            Model.provider_id == provider.id
        )
    ).one()
    return ProviderPublic(
        id=provider.id or 0,
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        configured=provider.credential_encrypted is not None,
        credential_last4=provider.credential_last4,
        model_count=counts[0],
        active_model_count=int(counts[1]),
        created_at=provider.created_at,
        updated_at=provider.updated_at,
        credential_cleared=credential_cleared,
    )


def _audit_view(session: Session, provider: Provider) -> dict[str, Any]:
    return provider_public(session, provider).model_dump(
        mode="json", exclude={"created_at", "updated_at", "credential_cleared"}
    )


def _ensure_unique_name(session: Session, name: str, own_id: int | None = None) -> None:
    existing = session.exec(select(Provider.id).where(Provider.name == name)).first()
    if existing is not None and existing != own_id:
        raise conflict(f'a provider named "{name}" already exists')


@router.get("", response_model=ProvidersPublic)
def list_providers(session: SessionDep) -> ProvidersPublic:
    """List providers (credentials shown only as configured / last 4 characters)."""
    providers = session.exec(select(Provider)).all()
    # Anthropic first, then by name; sorted here because PostgreSQL orders enum columns by declaration.
    data = sorted((provider_public(session, p) for p in providers), key=lambda p: (p.kind, p.name))
    return ProvidersPublic(data=data, count=len(data))


@router.post("", response_model=ProviderPublic, status_code=status.HTTP_201_CREATED)
def create_provider(
    body: ProviderCreate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> ProviderPublic:
    """Add a provider, optionally with its credential."""
    _ensure_unique_name(session, body.name)
    provider = Provider(name=body.name, kind=body.kind, base_url=body.base_url or PROVIDERS[body.kind].default_base_url)
    set_credential(provider, services.cipher, body.credential)
    session.add(provider)
    session.flush()
    record_event(session, admin, "provider.create", "provider", provider.id, after=_audit_view(session, provider))
    commit_config_change(session, services, f'a provider named "{body.name}" already exists')
    return provider_public(session, provider)


@router.get("/{provider_id}", response_model=ProviderPublic)
def read_provider(provider_id: IdPath, session: SessionDep) -> ProviderPublic:
    """One provider."""
    return provider_public(session, get_or_404(session, Provider, provider_id, "provider"))


@router.patch("/{provider_id}", response_model=ProviderPublic)
def update_provider(
    provider_id: IdPath, body: ProviderUpdate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> ProviderPublic:
    """Rename, change the base URL, replace or remove the credential."""
    provider = get_or_404(session, Provider, provider_id, "provider")
    before = _audit_view(session, provider)
    if body.name is not None:
        _ensure_unique_name(session, body.name, provider.id)
        provider.name = body.name
    # The credential is bound to its host: moving elsewhere removes it unless this request brings a new one.
    cleared = body.base_url is not None and move_provider(provider, body.base_url)
    if "credential" in body.model_fields_set:
        set_credential(provider, services.cipher, body.credential)
        cleared = False
    provider.updated_at = utcnow()
    session.add(provider)
    session.flush()
    after = _audit_view(session, provider)
    record_event(session, admin, "provider.update", "provider", provider.id, before=before, after=after)
    if cleared:
        moved = {"from": origin_of(str(before["base_url"])), "to": origin_of(provider.base_url)}
        record_event(session, admin, "provider.credential_cleared", "provider", provider.id, after=moved)
    commit_config_change(session, services, f'a provider named "{provider.name}" already exists')
    return provider_public(session, provider, credential_cleared=cleared)


@router.delete("/{provider_id}", response_model=ProviderPublic)
def delete_provider(
    provider_id: IdPath, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> ProviderPublic:
    """Delete a provider and its models (usage history stays)."""
    provider = get_or_404(session, Provider, provider_id, "provider")
    view = provider_public(session, provider)
    session.exec(delete(Model).where(col(Model.provider_id) == provider.id))
    session.delete(provider)
    record_event(session, admin, "provider.delete", "provider", provider_id, before=_audit_view_of(view))
    commit_config_change(session, services)
    return view


def _audit_view_of(view: ProviderPublic) -> dict[str, Any]:
    return view.model_dump(mode="json", exclude={"created_at", "updated_at", "credential_cleared"})


def _credential_of(provider: Provider, services: AppServices) -> str | None:
    """The credential, only if it was saved for the host the provider points at now."""
    if provider.credential_encrypted is None or not credential_bound_here(provider):
        return None
    try:
        return services.cipher.decrypt(provider.credential_encrypted)
    except ValueError:
        return None


@router.post("/{provider_id}/test", response_model=ConnectionCheck)
def test_provider(provider_id: IdPath, session: SessionDep, services: ServicesDep) -> ConnectionCheck:
    """Check the stored credential against the provider's model list and say what failed."""
    provider = get_or_404(session, Provider, provider_id, "provider")
    credential = _credential_of(provider, services)
    if credential is None:
        if provider.credential_encrypted is None:
            message = "no credential is configured"
        elif not credential_bound_here(provider):
            message = "the stored credential was saved for another host than the base URL's; enter it again"
        else:
            message = "the stored credential cannot be decrypted (was GATEWAY_SECRET_KEY changed?); set it again"
        return ConnectionCheck(ok=False, message=message)
    try:
        found = list_upstream_models(provider.kind, provider.base_url, credential)
    except UpstreamProblem as problem:
        return ConnectionCheck(ok=False, message=problem.message, status_code=problem.status_code)
    return ConnectionCheck(
        ok=True,
        message=f"connected: the credential works and lists {len(found.names)} models",
        status_code=found.status_code,
        models_found=len(found.names),
    )


@router.post("/{provider_id}/import-models", response_model=ImportResult)
def import_models(
    provider_id: IdPath,
    admin: AdminUser,
    session: SessionDep,
    services: ServicesDep,
    options: ImportOptions | None = None,
) -> ImportResult:
    """Add the models the provider lists with their display names and shipped prices, inactive unless `activate`;
    names that exist are skipped, and take the provider's display name if theirs is only the id."""
    activate = options.activate if options is not None else False
    provider = get_or_404(session, Provider, provider_id, "provider")
    credential = _credential_of(provider, services)
    if credential is None:
        raise conflict(f'provider "{provider.name}" has no usable credential; configure it first')
    try:
        found = list_upstream_models(provider.kind, provider.base_url, credential)
    except UpstreamProblem as problem:
        raise conflict(f"could not read the model list: {problem.message}") from None
    existing = (
        set(session.exec(select(Model.name).where(col(Model.name).in_(found.names))).all()) if found.names else set()
    )
    added = [name for name in found.names if name not in existing and 0 < len(name) <= 200]
    for name in added:
        display_name = found.display_names.get(name, name)
        model = Model(provider_id=saved_id(provider), name=name, display_name=display_name, active=activate)
        apply_shipped_price(model)
        session.add(model)
    skipped = [name for name in found.names if name not in added]
    named = _take_display_names(session, provider, found.display_names, skipped)
    if added or named:
        record_event(
            session,
            admin,
            "provider.import_models",
            "provider",
            provider.id,
            after={"added": added, "skipped": skipped, "named": named, "activated": activate and bool(added)},
        )
        commit_config_change(session, services, "another change added the same models; try again")
    return ImportResult(added=added, skipped=skipped, named=named)


def _take_display_names(
    session: Session, provider: Provider, display_names: dict[str, str], names: list[str]
) -> list[str]:
    """Give this provider's existing models the provider's display name where theirs only repeats the id (an admin's
    own display name stays); returns the names changed."""
    candidates = [name for name in names if name in display_names]
    if not candidates:
        return []
    models = session.exec(
        select(Model).where(col(Model.provider_id) == provider.id, col(Model.name).in_(candidates))
    ).all()
    named = []
    for model in models:
        if model.display_name in {"", model.name}:
            model.display_name = display_names[model.name]
            model.updated_at = utcnow()
            session.add(model)
            named.append(model.name)
    return sorted(named)
