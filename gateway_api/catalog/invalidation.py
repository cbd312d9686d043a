"""Catalog invalidation across replicas through Redis pub/sub.

`bump_config_version` marks the session; once that session's transaction commits, `CatalogBroadcaster` publishes
one message on CHANNEL (after commit, so a replica that reloads on the message sees the change). Every replica
runs `listen_for_invalidations`, which reloads its catalog when a message arrives. Redis is only a fast path: the
version row stays the truth, and the poll in `Catalog.watch` catches anything a lost message would miss.
"""

from __future__ import annotations

import asyncio
import logging

import redis
import redis.asyncio as aioredis
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from gateway_api.catalog.snapshot import Catalog
from gateway_api.db.config_version import CATALOG_BUMPED

log = logging.getLogger("gateway.invalidation")

CHANNEL = "gateway:catalog-invalidated"
REDIS_TIMEOUT_SECONDS = 2.0
RESUBSCRIBE_DELAY_SECONDS = 1.0


class CatalogBroadcaster:
    """Publishes an invalidation after every commit on `engine` that bumped the config version."""

    def __init__(self, engine: Engine, redis_url: str) -> None:
        self._engine = engine
        self._client = redis.Redis.from_url(
            redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.published = 0

    def install(self) -> None:
        # Session-class events: the REST API, the CLI and the config file all commit through plain Sessions.
        event.listen(Session, "after_commit", self._after_commit)
        event.listen(Session, "after_rollback", self._after_rollback)

    def remove(self) -> None:
        event.remove(Session, "after_commit", self._after_commit)
        event.remove(Session, "after_rollback", self._after_rollback)
        self._client.close()

    def publish(self) -> None:
        """Tell every replica to reload; a Redis failure is logged, never raised (the poll is the fallback)."""
        try:
            self._client.publish(CHANNEL, b"1")
            self.published += 1
        except redis.RedisError as exc:
            log.warning("could not publish a catalog invalidation: %s", exc.__class__.__name__)

    def _owns(self, session: Session) -> bool:
        # Several apps (tests) or engines may live in one process; each broadcaster answers for its own engine.
        return session.bind is self._engine

    def _after_commit(self, session: Session) -> None:
        if self._owns(session) and session.info.pop(CATALOG_BUMPED, False):
            self.publish()

    def _after_rollback(self, session: Session) -> None:
        if self._owns(session):
            session.info.pop(CATALOG_BUMPED, None)


async def listen_for_invalidations(redis_url: str, catalog: Catalog) -> None:
    """Reload `catalog` on every invalidation message, resubscribing after Redis outages (runs until cancelled).

    After each (re)subscription the version row is checked once: messages sent while unsubscribed are gone."""
    client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        while True:
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    await _reload(catalog)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await _reload(catalog)
            except (redis.RedisError, OSError) as exc:
                log.warning("catalog invalidation channel lost, retrying: %s", exc.__class__.__name__)
                await asyncio.sleep(RESUBSCRIBE_DELAY_SECONDS)
    finally:
        await client.aclose()


async def _reload(catalog: Catalog) -> None:
    try:
        await asyncio.to_thread(catalog.reload_if_stale)
    except Exception as exc:  # noqa: BLE001 - a database outage keeps the cached snapshot serving
        log.warning("catalog reload after invalidation failed: %s", exc.__class__.__name__)
