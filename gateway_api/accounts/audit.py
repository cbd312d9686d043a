"""Audit trail of admin changes: who (a user, the CLI or the config file) did what to which object, before and
after.

Snapshots are built by callers from their public (secret-free) views; `redact` is a second line of defence that
replaces the fields named in `SECRET_FIELDS`, however deeply nested. The list is explicit: a token quota or a
rate is a number an auditor must be able to read, not a secret because its name contains "token".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlmodel import Session

from gateway_api.db.models import AuditEvent, User

SECRET_FIELDS = frozenset(
    {
        "password",
        "new_password",
        "password_hash",
        "api_key",
        "credential",
        "credential_encrypted",
        "secret",
        "secret_key",
        "client_secret",
        "oidc_client_secret",
        "digest",
        "key_hash",
        "key_digest",
        "secret_hash",
        "authorization",
        "access_token",
        "refresh_token",
        "id_token",
    }
)
REDACTED = "[redacted]"


class SystemActor(StrEnum):
    """Changes made without a signed-in user: the `gateway` CLI on the server, or the config file at start."""

    cli = "cli"
    config = "config"


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: REDACTED if is_secret_field(str(key)) else redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def is_secret_field(name: str) -> bool:
    return name.lower() in SECRET_FIELDS


def record_event(
    session: Session,
    actor: User | SystemActor,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add the event to the caller's transaction, so it is stored exactly when the change is."""
    actor_user_id, actor_email = (None, actor.value) if isinstance(actor, SystemActor) else (actor.id, actor.email)
    session.add(
        AuditEvent(
            actor_user_id=actor_user_id,
            actor_email=actor_email,
            action=action,
            target_type=target_type,
            target_id=str(target_id)[:64],
            before=redact(before) if before is not None else None,
            after=redact(after) if after is not None else None,
        )
    )
