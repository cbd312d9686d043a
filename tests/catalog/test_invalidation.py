"""Catalog invalidation through a real Redis: published after commit only, for the broadcaster's own engine, and
a listening catalog reloads on the message."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from sqlmodel import Session

from gateway_api.catalog.invalidation import CHANNEL, CatalogBroadcaster, listen_for_invalidations
from gateway_api.catalog.snapshot import Catalog
from gateway_api.db.config_version import bump_config_version, read_config_version
from gateway_api.db.engine import make_engine, upgrade_database
from gateway_api.security.crypto import CredentialCipher
from tests.support.served import REDIS_URL

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="GATEWAY_TEST_REDIS_URL is not set")


@pytest.fixture
def broadcaster(engine: Engine) -> Iterator[CatalogBroadcaster]:
    broadcaster = CatalogBroadcaster(engine, REDIS_URL)
    broadcaster.install()
    yield broadcaster
    broadcaster.remove()


def bump(engine: Engine, *, commit: bool) -> None:
    with Session(engine) as session:
        bump_config_version(session)
        if commit:
            session.commit()
        else:
            session.rollback()


def test_published_after_a_bumping_commit_only(engine: Engine, broadcaster: CatalogBroadcaster, tmp_path: Path) -> None:
    subscriber = redis.Redis.from_url(REDIS_URL).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(CHANNEL)
    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade_database(other_engine)
    try:
        bump(engine, commit=False)  # rolled back: nothing changed, nothing to announce
        with Session(engine) as session:  # a commit without a bump
            session.commit()
        bump(other_engine, commit=True)  # another engine's change is not this broadcaster's to announce
        assert broadcaster.published == 0

        bump(engine, commit=True)

        assert broadcaster.published == 1
        received = [subscriber.get_message(timeout=1) for _ in range(3)]  # the first read eats the subscribe reply
        # Other gateways on this Redis may publish too: the broadcaster's own count above is the exact check.
        assert CHANNEL.encode() in [m["channel"] for m in received if m is not None]
    finally:
        subscriber.close()
        other_engine.dispose()


def test_a_listening_catalog_reloads_on_the_message(engine: Engine, broadcaster: CatalogBroadcaster) -> None:
    catalog = Catalog(engine, CredentialCipher("test-secret-key-0123456789abcdef"))
    catalog.reload()

    async def scenario() -> int:
        listener = asyncio.create_task(listen_for_invalidations(REDIS_URL, catalog))
        try:
            await asyncio.sleep(0.5)  # subscribed (a message before that would be caught by the catch-up reload)
            await asyncio.to_thread(bump, engine, commit=True)
            async with asyncio.timeout(10):
                while catalog.snapshot.version != read_config_version(engine):
                    await asyncio.sleep(0.01)
            return catalog.snapshot.version
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    assert asyncio.run(scenario()) == read_config_version(engine) >= 1


def test_an_older_snapshot_never_replaces_a_newer_one(engine: Engine) -> None:
    catalog = Catalog(engine, CredentialCipher("test-secret-key-0123456789abcdef"))
    bump(engine, commit=True)
    newer = catalog.reload()
    newer.version += 100  # as if a later reload had already landed

    assert catalog.reload() is newer
