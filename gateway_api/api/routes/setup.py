"""Where a gateway's setup stands (admin): the steps between a fresh install and a user's first proxied call.

The home page turns this into a checklist. Each figure comes from the proxy's own snapshot where the proxy decides
(which models are callable, who may call them), so a ticked step is one the proxy agrees with.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select

from gateway_api.accounts.access import any_pattern_matches
from gateway_api.api.deps import ServicesDep, SessionDep, require_admin
from gateway_api.catalog.snapshot import Snapshot
from gateway_api.db.models import Provider, UsageRecord

router = APIRouter(prefix="/setup", tags=["setup"], dependencies=[Depends(require_admin)])


class SetupStatus(BaseModel):
    providers: int = Field(description="providers configured")
    providers_with_credential: int
    active_models: int = Field(description="active models of providers with a credential: what can be called")
    policies: int
    policies_granting: int = Field(description="policies that match at least one callable model")
    users_with_access: int = Field(description="active users granted at least one callable model")
    first_call_at: datetime | None = Field(description="when the first proxied call was recorded; null: none yet")


def users_with_access(snapshot: Snapshot) -> tuple[int, int]:
    """(policies that grant a callable model, active users such a policy names).

    Per policy rather than per user: a policy's patterns are matched against the models once, then users are only
    compared by their subject tokens, so thousands of users cost one set intersection each.
    """
    callable_models = [m.name for m in snapshot.models_by_name.values() if m.active and m.provider.credential]
    granting = [p for p in snapshot.policies if any(any_pattern_matches(p.models, m) for m in callable_models)]
    subjects: frozenset[str] = frozenset().union(*(p.subjects for p in granting))
    users = sum(1 for user in snapshot.users_by_id.values() if user.active and user.subjects & subjects)
    return len(granting), users


@router.get("", response_model=SetupStatus)
def read_setup_status(session: SessionDep, services: ServicesDep) -> SetupStatus:
    """Providers, callable models, policies, users with access and the first call: what is done, what is next."""
    services.catalog.reload_if_stale()
    snapshot = services.catalog.snapshot
    providers, with_credential = session.exec(
        select(func.count(), func.count(col(Provider.credential_encrypted)))
    ).one()
    granting, users = users_with_access(snapshot)
    return SetupStatus(
        providers=providers,
        providers_with_credential=with_credential,
        active_models=sum(1 for m in snapshot.models_by_name.values() if m.active and m.provider.credential),
        policies=len(snapshot.policies),
        policies_granting=granting,
        users_with_access=users,
        first_call_at=session.exec(select(func.min(UsageRecord.created_at))).one(),
    )
