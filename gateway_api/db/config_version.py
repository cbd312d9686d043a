"""The configuration version: one row whose number grows with every change the proxy caches.

Every change to keys, users, groups, policies, models, providers or limits calls `bump_config_version` in its own
transaction; each replica compares the number with its catalog snapshot's (poll, or a Redis message) and reloads.
"""

from __future__ import annotations

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from gateway_api.db.models import ConfigVersion

# Session.info flag: this transaction bumped the version (the Redis broadcaster publishes once it commits).
CATALOG_BUMPED = "gateway_catalog_bumped"


def config_version(session: Session) -> int:
    return session.exec(select(ConfigVersion.version).where(ConfigVersion.name == "catalog")).first() or 0


def read_config_version(engine: Engine) -> int:
    with Session(engine) as session:
        return config_version(session)


def bump_config_version(session: Session) -> None:
    """Mark the catalog stale for every replica; call inside the transaction that made the change."""
    session.info[CATALOG_BUMPED] = True
    updated = session.exec(
        update(ConfigVersion).where(col(ConfigVersion.name) == "catalog").values(version=col(ConfigVersion.version) + 1)
    )
    if updated.rowcount == 0:
        session.add(ConfigVersion(name="catalog", version=1))
