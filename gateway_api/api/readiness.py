"""What `/readyz` reports: whether this replica can serve proxied calls, and how what it depends on is doing.

Ready (200) means the proxy is built and serving, its upstream client started, and the catalog snapshot loaded and
current: the proxy authorises every call from that snapshot, so a database outage alone does not make a replica
unready (a load balancer would otherwise take every replica out at once while each could still serve); a snapshot
that cannot be refreshed although the database answers does (a replica that would go on serving revoked keys). The database, Redis and the
usage writer are reported in the body, each with its state, for monitoring and for people.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, cast

import redis.asyncio as aioredis
from sqlalchemy import text

from gateway_api.services import AppServices

DATABASE_TIMEOUT_SECONDS = 2.0
REDIS_TIMEOUT_SECONDS = 1.0
# A snapshot not confirmed current for this long (or four catalog polls, if longer) is checked before answering.
STALE_AFTER_SECONDS = 30.0
# The usage writer counts as behind when this many rows wait (two full batches), whatever the database says.
BEHIND_ROWS = 2000


async def readiness(services: AppServices) -> tuple[bool, dict[str, Any]]:
    """(ready, body). The probes run at once, each bounded by its timeout."""
    database, redis_state = await asyncio.gather(_database(services), _redis(services.settings.redis_url))
    catalog = services.catalog
    proxy = "ok" if services.proxy_serving else "stopped"
    catalog_state = "ok" if catalog.snapshot.version >= 0 else "not loaded"
    if catalog_state == "ok" and database == "ok" and not await _catalog_current(services):
        catalog_state = "stale"  # the database answers, yet the snapshot cannot be brought up to date
    ready = services.proxy_serving and catalog_state == "ok"
    body: dict[str, Any] = {
        "status": "ok" if ready else "unavailable",
        "proxy": proxy,
        "catalog": {
            "status": catalog_state,
            "version": catalog.snapshot.version,
            "checked_seconds_ago": round(time.monotonic() - catalog.checked_at, 3),
        },
        "database": database,
        "redis": redis_state,
        "usage": usage_writer(services),
        "spool": usage_spool(services),
    }
    return ready, body


async def _catalog_current(services: AppServices) -> bool:
    """Whether the snapshot is current. Its watcher checks every few seconds; one not checked for a while (during
    an outage that just ended, or a watcher that stopped) is checked here, so a replica is never pulled for a
    refresh that simply had not come round yet."""
    catalog = services.catalog
    if time.monotonic() - catalog.checked_at <= max(STALE_AFTER_SECONDS, 4 * services.settings.catalog_poll_seconds):
        return True
    try:
        await asyncio.wait_for(asyncio.to_thread(catalog.reload_if_stale), DATABASE_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - a snapshot that cannot be refreshed is reported, never raised
        return False
    return True


def usage_writer(services: AppServices) -> dict[str, Any]:
    recorder = services.recorder
    failing = recorder.failing_seconds()
    status = "failing" if failing else "behind" if recorder.pending >= BEHIND_ROWS else "ok"
    state: dict[str, Any] = {
        "status": status,
        "queued": recorder.pending,
        "failing_seconds": round(failing, 3),
        "dead_letters": recorder.dead_letters,
    }
    if recorder.last_error:
        state["last_error"] = recorder.last_error
    return state


def usage_spool(services: AppServices) -> dict[str, Any]:
    spool = services.spool
    return {
        "status": "unavailable" if not spool.available else "failing" if spool.sync_failures else "ok",
        "directory": str(spool.directory),
        "rows_not_in_database": spool.unacknowledged,
        "calls_in_flight": spool.in_flight,
        "synced_seconds_ago": round(time.monotonic() - spool.synced_at, 3),
        "orphans_waiting": spool.orphans_waiting,
        "replayed_rows": spool.replayed_rows,
    }


async def _database(services: AppServices) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, services), DATABASE_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is reported, never raised
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def _ping(services: AppServices) -> None:
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _redis(url: str | None) -> str:
    if not url:
        return "not configured"
    client = aioredis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        await asyncio.wait_for(cast(Awaitable[bool], client.ping()), REDIS_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        return f"unavailable ({type(exc).__name__})"
    finally:
        await client.aclose()
    return "ok"
