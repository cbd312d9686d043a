"""Who may read what of the call log."""

from __future__ import annotations

from gateway_api.db.models import Role, User


def can_read_bodies(user: User) -> bool:
    """Whether `user` may read the stored request and response bodies of calls. Administrators for now; the
    auditor role narrows this to auditors (the only role that reads bodies)."""
    return user.role == Role.admin
