"""The proxy's in-memory view of keys, users, policies, models and providers.

Proxied calls read only this snapshot, never the database. Every change the proxy must see bumps the
``ConfigVersion`` row (``bump_config_version``) in the same transaction; each replica notices the new version
(poll, or a Redis message) and swaps in a freshly loaded snapshot. Snapshots are immutable, so a request holds a
consistent view even while a reload happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway_api.accounts.access import any_pattern_matches, normalise_subject, subject_tokens
from gateway_api.db.config_version import config_version, read_config_version
from gateway_api.db.models import (
    ApiKey,
    Group,
    MessagePolicy,
    MessagePolicySettings,
    Model,
    Policy,
    Provider,
    Role,
    UsageLimit,
    User,
    UserGroup,
    utcnow,
)
from gateway_api.limits.rules import LimitValues
from gateway_api.message_policies.rules import MessagePolicyEntry
from gateway_api.message_policies.stored.entries import policy_entry
from gateway_api.providers.credential_binding import credential_bound_here
from gateway_api.security.crypto import CredentialCipher

log = logging.getLogger("gateway.catalog")


@dataclass(frozen=True, slots=True)
class KeyEntry:
    id: int
    user_id: int
    prefix: str
    scopes: frozenset[str]
    expires_at: float | None  # POSIX seconds

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class UserEntry:
    id: int
    email: str
    role: str
    active: bool
    subjects: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    id: int
    name: str
    kind: str
    base_url: str
    credential: str | None


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: int
    name: str
    display_name: str
    active: bool
    provider: ProviderEntry
    created_at: datetime
    price_input: float | None
    price_output: float | None
    price_cache_read: float | None
    price_cache_write: float | None


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    subjects: frozenset[str]
    models: tuple[str, ...]


@dataclass(slots=True)
class Snapshot:
    version: int
    keys_by_digest: dict[str, KeyEntry]
    users_by_id: dict[int, UserEntry]
    models_by_name: dict[str, ModelEntry]
    policies: tuple[PolicyEntry, ...]
    # Limit overrides (gateway_api/limits) by user id and by API key id; absent = none set.
    user_limits: dict[int, LimitValues] = field(default_factory=dict)
    key_limits: dict[int, LimitValues] = field(default_factory=dict)
    # Enabled message policies by name, and the model that judges judged ones (None: they fail, on_judge_error).
    message_policies: tuple[MessagePolicyEntry, ...] = ()
    message_policy_judge: str | None = None
    # Memo of grant decisions; safe because a snapshot never changes once built.
    _grants: dict[tuple[int, str], bool] = field(default_factory=dict)
    # Memo of each user's message policies (user id -> those whose subjects name the user).
    _message_policies_by_user: dict[int, tuple[MessagePolicyEntry, ...]] = field(default_factory=dict)

    def user_patterns(self, user: UserEntry) -> list[str]:
        return [p for policy in self.policies if policy.subjects & user.subjects for p in policy.models]

    def is_granted(self, user: UserEntry, model_name: str) -> bool:
        memo_key = (user.id, model_name)
        granted = self._grants.get(memo_key)
        if granted is None:
            granted = any_pattern_matches(self.user_patterns(user), model_name)
            self._grants[memo_key] = granted
        return granted

    def message_policies_for(self, user: UserEntry) -> tuple[MessagePolicyEntry, ...]:
        """The enabled message policies naming this user (directly, by a group, or "*"), by name."""
        if not self.message_policies:
            return ()  # the proxy's path when no policy is configured: no memo, no allocation
        found = self._message_policies_by_user.get(user.id)
        if found is None:
            found = tuple(p for p in self.message_policies if p.subjects & user.subjects)
            self._message_policies_by_user[user.id] = found
        return found

    def granted_models(self, user: UserEntry, kind: str | None = None) -> list[ModelEntry]:
        """Active models of configured providers this user may call, sorted by name."""
        patterns = self.user_patterns(user)
        return sorted(
            (
                m
                for m in self.models_by_name.values()
                if m.active and (kind is None or m.provider.kind == kind) and any_pattern_matches(patterns, m.name)
            ),
            key=lambda m: m.name,
        )


def empty_snapshot() -> Snapshot:
    return Snapshot(version=-1, keys_by_digest={}, users_by_id={}, models_by_name={}, policies=())


def load_snapshot(engine: Engine, cipher: CredentialCipher) -> Snapshot:
    """Read everything the proxy needs in one short transaction."""
    now = utcnow()
    with Session(engine) as session:
        version = config_version(session)
        groups_by_user: dict[int, list[str]] = {}
        for user_id, group_name in session.exec(
            select(UserGroup.user_id, Group.name).join(Group, col(Group.id) == col(UserGroup.group_id))
        ):
            groups_by_user.setdefault(user_id, []).append(group_name)
        users = {
            u.id: UserEntry(
                id=u.id,
                email=u.email,
                role=u.role,
                active=u.active,
                subjects=subject_tokens(u.email, groups_by_user.get(u.id, [])),
            )
            for u in session.exec(select(User))
            if u.id is not None
        }
        keys = {
            k.digest: KeyEntry(
                id=k.id,
                user_id=k.user_id,
                prefix=k.prefix,
                scopes=k.scope_set,
                expires_at=k.expires_at.timestamp() if k.expires_at else None,
            )
            for k in session.exec(
                select(ApiKey).where(
                    col(ApiKey.revoked_at).is_(None),
                    (col(ApiKey.expires_at).is_(None)) | (col(ApiKey.expires_at) > now),
                )
            )
            if k.id is not None
        }
        providers = {p.id: _provider_entry(p, cipher) for p in session.exec(select(Provider))}
        models = {
            m.name: ModelEntry(
                id=m.id,
                name=m.name,
                display_name=m.display_name or m.name,
                active=m.active,
                provider=providers[m.provider_id],
                created_at=m.created_at,
                price_input=m.price_input,
                price_output=m.price_output,
                price_cache_read=m.price_cache_read,
                price_cache_write=m.price_cache_write,
            )
            for m in session.exec(select(Model))
            if m.provider_id in providers and m.id is not None
        }
        policies = tuple(
            PolicyEntry(subjects=frozenset(normalise_subject(s) for s in p.subjects), models=tuple(p.models))
            for p in session.exec(select(Policy))
        )
        user_limits, key_limits = _limit_overrides(session)
        message_policies = tuple(
            policy_entry(p)
            for p in session.exec(
                select(MessagePolicy).where(col(MessagePolicy.enabled)).order_by(col(MessagePolicy.name))
            )
        )
        judge_settings = session.get(MessagePolicySettings, 1)
    return Snapshot(
        version=version,
        keys_by_digest=keys,
        users_by_id=users,
        models_by_name=models,
        policies=policies,
        user_limits=user_limits,
        key_limits=key_limits,
        message_policies=message_policies,
        message_policy_judge=judge_settings.judge_model if judge_settings is not None else None,
    )


def _limit_overrides(session: Session) -> tuple[dict[int, LimitValues], dict[int, LimitValues]]:
    by_user: dict[int, LimitValues] = {}
    by_key: dict[int, LimitValues] = {}
    for row in session.exec(select(UsageLimit)):
        values = LimitValues(
            input_token_quota=row.input_token_quota,
            output_token_quota=row.output_token_quota,
            requests_per_minute=row.requests_per_minute,
            daily_budget_usd=row.daily_budget_usd,
            monthly_budget_usd=row.monthly_budget_usd,
            max_concurrent_calls=row.max_concurrent_calls,
        )
        if values.empty:
            continue
        if row.user_id is not None:
            by_user[row.user_id] = values
        elif row.api_key_id is not None:
            by_key[row.api_key_id] = values
    return by_user, by_key


def _provider_entry(provider: Provider, cipher: CredentialCipher) -> ProviderEntry:
    credential: str | None = None
    # A credential saved for another host than the base URL's is never sent (providers/credential_binding.py).
    if provider.credential_encrypted and credential_bound_here(provider):
        try:
            credential = cipher.decrypt(provider.credential_encrypted)
        except ValueError:
            log.error("provider %s: stored credential cannot be decrypted with this secret key", provider.name)
    return ProviderEntry(
        id=provider.id or 0,
        name=provider.name,
        kind=provider.kind,
        base_url=provider.base_url,
        credential=credential,
    )


class Catalog:
    """Holds the current snapshot and replaces it when the configuration version moves."""

    def __init__(self, engine: Engine, cipher: CredentialCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        self.snapshot: Snapshot = empty_snapshot()
        self.checked_at = time.monotonic()  # the last time the snapshot was found current (load or version check)

    def reload(self) -> Snapshot:
        snapshot = load_snapshot(self._engine, self._cipher)
        # Reloads run in threads (poll, Redis message, API commit) and may finish out of order: an older
        # snapshot must never replace a newer one, or a revocation could be undone until the next change.
        if snapshot.version >= self.snapshot.version:
            self.snapshot = snapshot
        self.checked_at = time.monotonic()
        return self.snapshot

    def reload_if_stale(self) -> bool:
        if read_config_version(self._engine) == self.snapshot.version:
            self.checked_at = time.monotonic()
            return False
        self.reload()
        return True

    async def watch(self, interval: float) -> None:
        """Poll the version row; a failing database keeps the last good snapshot serving."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.reload_if_stale)
            except Exception as exc:  # noqa: BLE001 - keep serving from cache while the DB is away
                log.warning("catalog refresh failed, serving the cached snapshot: %s", exc.__class__.__name__)
