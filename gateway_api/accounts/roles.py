"""What each role may do, in one place: the REST API's checks and the LLM-call log's body access ask here.

- user: their own keys, usage and limits.
- admin: everything, reads and changes.
- auditor: reads everything an admin reads and changes nothing of the gateway (their own sign-in and keys
  work as a user's); the only role that reads LLM-call bodies, so that the people who configure the gateway
  are not the ones who read what was sent through it.
"""

from __future__ import annotations

from gateway_api.db.models import Role, User

AUDITOR_REFUSAL = "auditors may read, not change"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def can_read_everything(user: User) -> bool:
    """May see every user's objects (keys, usage, limits, the audit trail, the configuration)."""
    return user.role in (Role.admin, Role.auditor)


def can_change_everything(user: User) -> bool:
    return user.role == Role.admin


def can_read_bodies(user: User) -> bool:
    """May read the request and response bodies of LLM calls: auditors only, not even admins."""
    return user.role == Role.auditor and user.active
