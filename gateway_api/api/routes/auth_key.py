"""The key a request carries, whatever its scope: what it is (so `gateway login` can tell whether the key it kept
still works) and revoking it (`gateway logout`). Holding a key is the right to look at it and to end it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from gateway_api.accounts.api_keys import revoke_key
from gateway_api.accounts.audit import record_event
from gateway_api.api.crud import commit_config_change
from gateway_api.api.deps import ServicesDep, SessionDep, client_address, presented_key, refuse_if_throttled
from gateway_api.db.models import ApiKey, Scope, User

router = APIRouter(prefix="/auth/key", tags=["auth"])


class PresentedKey(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    expires_at: datetime | None
    user_email: str


def _presented_key(request: Request, services: ServicesDep, session: SessionDep) -> tuple[ApiKey, User]:
    client = client_address(request)
    refuse_if_throttled(services, client, "too many failed attempts", "API token guessing throttled")
    return presented_key(request, services, session, client)


@router.get("", response_model=PresentedKey)
def read_presented_key(request: Request, services: ServicesDep, session: SessionDep) -> PresentedKey:
    """The key this request carries (any scope): 401 once it is revoked or expired."""
    key, user = _presented_key(request, services, session)
    return PresentedKey(
        id=key.id or 0,
        name=key.name,
        prefix=key.prefix,
        scopes=sorted(Scope(s) for s in key.scope_set),
        expires_at=key.expires_at,
        user_email=user.email,
    )


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def revoke_presented_key(request: Request, services: ServicesDep, session: SessionDep) -> None:
    """Revoke the key this request carries (any scope); it stops working at once."""
    key, user = _presented_key(request, services, session)
    key = session.merge(key)
    revoke_key(session, key)
    record_event(session, user, "key.revoke", "api_key", key.id, before={"name": key.name, "prefix": key.prefix})
    commit_config_change(session, services)
