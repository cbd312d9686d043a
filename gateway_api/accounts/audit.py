"""Audit trail of changes made through the REST API: who did what to which object, before and after.

Snapshots are built by callers from their public (secret-free) views; `redact` is a second line of defence
that drops any field whose name says it holds a secret, however deeply nested.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from gateway_api.db.models import AuditEvent, User

SECRET_FIELD_MARKERS = ("password", "credential", "secret", "digest", "token", "api_key")
# Safe fields whose names contain a marker: they describe a secret without revealing it.
SAFE_FIELDS = frozenset({"credential_last4", "has_password"})


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: "[redacted]" if _is_secret_field(str(key)) else redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered not in SAFE_FIELDS and any(marker in lowered for marker in SECRET_FIELD_MARKERS)


def record_event(
    session: Session,
    actor: User,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add the event to the caller's transaction, so it is stored exactly when the change is."""
    session.add(
        AuditEvent(
            actor_user_id=actor.id,
            actor_email=actor.email,
            action=action,
            target_type=target_type,
            target_id=str(target_id)[:64],
            before=redact(before) if before is not None else None,
            after=redact(after) if after is not None else None,
        )
    )
