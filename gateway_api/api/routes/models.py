"""Gateway models (admin): provider-native names, active flag and prices (USD per million tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, or_, select

from gateway_api.accounts.audit import record_event
from gateway_api.api.crud import MAX_ID, IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import conflict, field_error
from gateway_api.core.names import Name
from gateway_api.db.models import Model, Provider, ProviderKind, utcnow
from gateway_api.providers.shipped_prices import PRICE_FIELDS, apply_shipped_price

router = APIRouter(prefix="/models", tags=["models"], dependencies=[Depends(require_admin)])

# Provider-native ids: letters, digits and . _ - : / @ (e.g. "claude-sonnet-4-5", "ft:gpt-4.1:org:x", "a/b").
Price = Annotated[float | None, Field(default=None, ge=0, le=1_000_000)]


class ModelCreate(BaseModel):
    provider_id: int = Field(ge=1, le=MAX_ID)
    name: Name
    display_name: str | None = Field(default=None, max_length=200)
    active: bool = True
    price_input: Price = None
    price_output: Price = None
    price_cache_read: Price = None
    price_cache_write: Price = None


class ModelUpdate(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    active: bool | None = None
    price_input: Price = None
    price_output: Price = None
    price_cache_read: Price = None
    price_cache_write: Price = None
    reset_prices: bool = Field(default=False, description="restore the shipped list prices (unknown: null)")


class ModelPublic(BaseModel):
    id: int
    provider_id: int
    provider_name: str
    provider_kind: ProviderKind
    name: str
    display_name: str
    active: bool
    price_input: float | None
    price_output: float | None
    price_cache_read: float | None
    price_cache_write: float | None
    created_at: datetime
    updated_at: datetime


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


def model_public(model: Model, provider: Provider) -> ModelPublic:
    return ModelPublic(
        provider_name=provider.name,
        provider_kind=provider.kind,
        display_name=model.display_name or model.name,
        **model.model_dump(exclude={"display_name"}),
    )


def _audit_view(model: Model) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude={"created_at", "updated_at"})


def _load(session: Session, model_id: int) -> tuple[Model, Provider]:
    model = get_or_404(session, Model, model_id, "model")
    provider = session.get(Provider, model.provider_id)
    assert provider is not None  # foreign key
    return model, provider


@router.get("", response_model=ModelsPublic)
def list_models(
    session: SessionDep,
    provider_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="search in name and display name")] = None,
) -> ModelsPublic:
    """List models, optionally by provider, active flag or a search string."""
    query = select(Model, Provider).join(Provider, col(Provider.id) == col(Model.provider_id))
    if provider_id is not None:
        query = query.where(Model.provider_id == provider_id)
    if active is not None:
        query = query.where(Model.active == active)
    if q:
        needle = f"%{q.lower()}%"
        query = query.where(or_(col(Model.name).ilike(needle), col(Model.display_name).ilike(needle)))
    rows = session.exec(query).all()
    # Sorted here, not in SQL: PostgreSQL orders an enum column by declaration, SQLite by text.
    data = sorted((model_public(model, provider) for model, provider in rows), key=lambda m: (m.provider_kind, m.name))
    return ModelsPublic(data=data, count=len(data))


@router.post("", response_model=ModelPublic, status_code=status.HTTP_201_CREATED)
def create_model(body: ModelCreate, admin: AdminUser, session: SessionDep, services: ServicesDep) -> ModelPublic:
    """Add a model; prices not given come from the shipped price table."""
    provider = session.get(Provider, body.provider_id)
    if provider is None:
        raise field_error("provider_id", f"provider {body.provider_id} does not exist")
    if session.exec(select(Model.id).where(Model.name == body.name)).first() is not None:
        raise conflict(f'a model named "{body.name}" already exists')
    model = Model(provider_id=body.provider_id, name=body.name, display_name=body.display_name or body.name)
    model.active = body.active
    apply_shipped_price(model)
    for field in PRICE_FIELDS:
        if getattr(body, field) is not None:
            setattr(model, field, getattr(body, field))
    session.add(model)
    session.flush()
    record_event(session, admin, "model.create", "model", model.id, after=_audit_view(model))
    commit_config_change(session, services, f'a model named "{body.name}" already exists')
    return model_public(model, provider)


@router.get("/{model_id}", response_model=ModelPublic)
def read_model(model_id: IdPath, session: SessionDep) -> ModelPublic:
    """One model."""
    return model_public(*_load(session, model_id))


@router.patch("/{model_id}", response_model=ModelPublic)
def update_model(
    model_id: IdPath, body: ModelUpdate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> ModelPublic:
    """Change the display name, activate or deactivate, override or reset prices (null: unknown)."""
    model, provider = _load(session, model_id)
    before = _audit_view(model)
    if body.display_name is not None:
        model.display_name = body.display_name or model.name
    if body.active is not None:
        model.active = body.active
    if body.reset_prices:
        apply_shipped_price(model)
    for field in PRICE_FIELDS:
        if field in body.model_fields_set:
            setattr(model, field, getattr(body, field))
    model.updated_at = utcnow()
    session.add(model)
    record_event(session, admin, "model.update", "model", model.id, before=before, after=_audit_view(model))
    commit_config_change(session, services)
    return model_public(model, provider)


@router.delete("/{model_id}", response_model=ModelPublic)
def delete_model(model_id: IdPath, admin: AdminUser, session: SessionDep, services: ServicesDep) -> ModelPublic:
    """Delete a model (its usage history stays)."""
    model, provider = _load(session, model_id)
    view = model_public(model, provider)
    session.delete(model)
    record_event(session, admin, "model.delete", "model", model_id, before=_audit_view(model))
    commit_config_change(session, services)
    return view
