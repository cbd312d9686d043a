"""Who is calling the proxy: the gateway key from `x-api-key` or `Authorization: Bearer`, checked in memory.

The catalog snapshot answers every steady-state call. A key it does not know may have been issued a moment ago on
another replica, so a well-formed one gets one database look-up (in a thread), behind a per-address throttle so
key guessing cannot turn into database load.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from gateway_api.catalog.snapshot import KeyEntry, UserEntry
from gateway_api.db.models import ApiKey, Scope
from gateway_api.limits.owner_client import failure_throttle
from gateway_api.proxy.refusal import KnownKey, Refusal
from gateway_api.security.keys import KEY_PREFIX
from gateway_api.services import AppServices

log = logging.getLogger("gateway.proxy.auth")

MAX_KEY_LENGTH = 256
# Expired keys seen recently, by digest: a client retrying one is answered without a database look-up each time.
MAX_REMEMBERED_EXPIRED_KEYS = 10_000


def expired_key_refusal(expires_at: float, key: KnownKey) -> Refusal:
    """An expired key is a real key, not a guess: it gets its own message and never feeds the guessing throttle."""
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Refusal(401, f"this key expired on {when}; create a new one with `gateway login --scope llm`", key=key)


@dataclass(frozen=True, slots=True)
class Caller:
    key: KeyEntry
    user: UserEntry


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What the database says of a key the snapshot does not hold: live (the snapshot is stale), or why not."""

    key: KnownKey
    revoked: bool
    expires_at: float | None  # POSIX seconds

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def presented_key(auth_values: list[tuple[bytes, bytes]]) -> str | Refusal:
    """The one key the request carries in `x-api-key` and/or `authorization` (name, value) pairs."""
    keys: set[str] = set()
    for name, value in auth_values:
        text = value.decode("latin-1").strip()
        if name == b"authorization":
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return Refusal(401, "the Authorization header must be 'Bearer <gateway API key>'")
            text = token.strip()
        if text:
            keys.add(text)
    if not keys:
        return Refusal(401, "missing API key: send a gateway key in x-api-key or Authorization: Bearer")
    if len(keys) > 1:
        return Refusal(401, "x-api-key and Authorization carry different keys; send one gateway key")
    return keys.pop()


class KeyDigester:
    """`security.keys.digest_key` for one pepper, keying the HMAC once instead of on every call (hot path)."""

    def __init__(self, pepper: bytes) -> None:
        self._keyed = hmac.new(pepper, digestmod=hashlib.sha256)

    def __call__(self, secret: str) -> str:
        mac = self._keyed.copy()
        mac.update(secret.encode("utf-8", "surrogatepass"))
        return mac.hexdigest()


class KeyAuthenticator:
    def __init__(self, services: AppServices) -> None:
        self._services = services
        self._digest = KeyDigester(services.key_pepper)
        settings = services.settings
        # Its own throttle: failed key guesses must not lock the same address out of the login form.
        self._throttle = failure_throttle(settings, "proxy-keys")
        self._expired: dict[str, tuple[float, KnownKey]] = {}  # digest -> expiry (POSIX seconds), the key

    async def authenticate(self, secret: str, client_address: str) -> Caller:
        """The caller behind a live key of an active user with the llm scope; raises the Refusal otherwise."""
        services = self._services
        digest = self._digest(secret)
        key = services.catalog.snapshot.keys_by_digest.get(digest)
        if key is None:
            services.metrics.key_cache_misses.inc()
            expired = self._expired.get(digest)
            if expired is not None:
                raise expired_key_refusal(*expired)
            await self._look_up_new_key(secret, digest, client_address)
            key = services.catalog.snapshot.keys_by_digest.get(digest)
            if key is None:
                raise Refusal(401, "invalid API key")
        else:
            services.metrics.key_cache_hits.inc()
        if key.expires_at is not None and key.expired(time.time()):
            raise expired_key_refusal(key.expires_at, _known(key))
        user = services.catalog.snapshot.users_by_id.get(key.user_id)
        if user is None or not user.active:
            raise Refusal(401, "the user of this API key is deactivated", key=_known(key))
        if Scope.llm not in key.scopes:
            raise Refusal(403, "this API key lacks the llm scope required to call models", key=_known(key))
        return Caller(key=key, user=user)

    async def _look_up_new_key(self, secret: str, digest: str, client_address: str) -> None:
        """Returns when the database knows the key (the snapshot is then reloaded); raises why it is refused."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > MAX_KEY_LENGTH:
            raise Refusal(401, "invalid API key")
        # In a thread: with several workers the throttle is a round trip to the counter owner.
        wait = await asyncio.to_thread(self._throttle.retry_after, client_address)
        if wait > 0:
            log.warning("proxy key guessing throttled", extra={"client_address": client_address})
            raise Refusal(429, "too many invalid API keys from this address; try again later", retry_after=wait)
        found = await asyncio.to_thread(self._find_in_database, digest)
        if found is None or found.revoked:
            await asyncio.to_thread(self._throttle.record_failure, client_address)
            log.info("proxy call with an unknown or revoked API key", extra={"client_address": client_address})
            raise Refusal(401, "invalid API key", key=found.key if found is not None else None)
        if found.expires_at is not None and found.expired(time.time()):
            if len(self._expired) >= MAX_REMEMBERED_EXPIRED_KEYS:
                self._expired.pop(next(iter(self._expired)))
            self._expired[digest] = (found.expires_at, found.key)
            raise expired_key_refusal(found.expires_at, found.key)
        # Live: issued a moment ago, possibly to a deactivated user or without the llm scope (the snapshot decides).
        await asyncio.to_thread(self._refresh_catalog)

    def _refresh_catalog(self) -> None:
        # A key written without a version bump would otherwise stay invisible until the next change.
        catalog = self._services.catalog
        if not catalog.reload_if_stale():
            catalog.reload()

    def _find_in_database(self, digest: str) -> StoredKey | None:
        """The key with this digest, live or not; None when the gateway never issued it."""
        with Session(self._services.engine) as session:
            row = session.exec(
                select(ApiKey.id, ApiKey.user_id, ApiKey.revoked_at, ApiKey.expires_at).where(ApiKey.digest == digest)
            ).first()
        if row is None:
            return None
        key_id, user_id, revoked_at, expires_at = row
        assert key_id is not None  # a stored row has its id
        return StoredKey(
            key=KnownKey(user_id=user_id, key_id=key_id),
            revoked=revoked_at is not None,
            expires_at=_posix(expires_at) if expires_at is not None else None,
        )


def _known(key: KeyEntry) -> KnownKey:
    return KnownKey(user_id=key.user_id, key_id=key.id)


def _posix(moment: datetime) -> float:
    # Stored naive in UTC (SQLite drops the zone).
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
