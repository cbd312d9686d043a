"""Secret-free snapshots of the objects the CLI and the config file change, for the audit trail.

They carry the same fields as the REST API's audit snapshots of these objects, so an event reads the same
whoever made the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from gateway_api.accounts.users import user_group_names
from gateway_api.db.models import ApiKey, Model, Policy, Provider, User, saved_id


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def user_view(session: Session, user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "active": user.active,
        "groups": user_group_names(session, saved_id(user)),
        "has_password": bool(user.password_hash),
    }


def key_view(key: ApiKey, owner_email: str) -> dict[str, Any]:
    return {
        "user_email": owner_email,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": sorted(key.scope_set),
        "expires_at": _when(key.expires_at),
        "revoked_at": _when(key.revoked_at),
    }


def provider_view(provider: Provider) -> dict[str, Any]:
    return {
        "name": provider.name,
        "kind": provider.kind.value,
        "base_url": provider.base_url,
        "credential_last4": provider.credential_last4,
    }


def model_view(model: Model) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude={"created_at", "updated_at"})


def policy_view(policy: Policy) -> dict[str, Any]:
    return {"name": policy.name, "subjects": list(policy.subjects), "models": list(policy.models)}
