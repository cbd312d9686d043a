"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway_api.accounts.users import user_group_names
from gateway_api.api.deps import CurrentUser, ServicesDep, SessionDep
from gateway_api.db.models import ProviderKind, Role
from gateway_api.providers.spec import PROVIDERS
from gateway_api.proxy.routes import PROXY_PREFIX

router = APIRouter(prefix="/me", tags=["me"])


class MePublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    groups: list[str]


@router.get("", response_model=MePublic)
def read_me(user: CurrentUser, session: SessionDep) -> MePublic:
    """Who am I."""
    return MePublic(
        id=user.id or 0,
        email=user.email,
        name=user.name,
        role=user.role,
        groups=user_group_names(session, user.id or 0),
    )


class MyModel(BaseModel):
    name: str
    display_name: str
    provider: str


class MyProvider(BaseModel):
    kind: ProviderKind
    base_url: str
    models: list[MyModel]


class MyModels(BaseModel):
    public_url: str = Field(description="GATEWAY_PUBLIC_URL, or the address this request was sent to when unset")
    public_url_configured: bool = Field(description="false: clients should use the address they reach us at")
    providers: list[MyProvider]


def public_base_url(configured: str, request: Request) -> str:
    """GATEWAY_PUBLIC_URL, else the scheme, host and port this request came to (the caller's own view of us)."""
    return configured or str(request.base_url).rstrip("/")


@router.get("/models", response_model=MyModels)
def read_my_models(user: CurrentUser, services: ServicesDep, request: Request) -> MyModels:
    """The models you may call, per provider, with the base URL to point clients at."""
    public_url = public_base_url(services.settings.public_url, request)
    # The snapshot is the proxy's own view, so this page shows exactly what the proxy will allow.
    services.catalog.reload_if_stale()
    snapshot = services.catalog.snapshot
    entry = snapshot.users_by_id.get(user.id or 0)
    providers = []
    for kind in map(ProviderKind, PROVIDERS):  # in the order the Models page lists them
        granted = snapshot.granted_models(entry, kind) if entry is not None and entry.active else []
        models = [
            MyModel(name=m.name, display_name=m.display_name, provider=m.provider.name)
            for m in granted
            if m.provider.credential
        ]
        if models:
            base_url = f"{public_url}{PROXY_PREFIX}/{kind.value}"
            providers.append(MyProvider(kind=kind, base_url=base_url, models=models))
    return MyModels(
        public_url=public_url, public_url_configured=bool(services.settings.public_url), providers=providers
    )
