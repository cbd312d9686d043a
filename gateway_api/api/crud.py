"""Small helpers every resource router shares: load-or-404 and commit-a-config-change."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Path
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from gateway_api.api.errors import conflict, not_found
from gateway_api.db.config_version import bump_config_version
from gateway_api.services import AppServices

Row = TypeVar("Row", bound=SQLModel)

# Largest id a request may name: ids are 32-bit INTEGER columns, and PostgreSQL refuses a query comparing one
# with a larger number (a 500) instead of finding nothing.
MAX_ID = 2**31 - 1


def get_or_404(session: Session, table: type[Row], ident: int, what: str) -> Row:
    row = session.get(table, ident) if 0 < ident <= MAX_ID else None
    if row is None:
        raise not_found(what, ident)
    return row


def commit_config_change(session: Session, services: AppServices, conflict_message: str = "") -> None:
    """Commit a change the proxy caches: bump the catalog version (every replica reloads) and refresh ours now.

    A unique-constraint race (two admins creating the same name) surfaces as 409, not 500.
    """
    bump_config_version(session)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict(conflict_message or "the change conflicts with an existing object") from None
    services.catalog.reload_if_stale()


IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the object's id")]
