"""SQLModel tables shared by the proxy, the REST API and the CLI.

Times are timezone-aware UTC (SQLModel stores them as UTC and returns them aware on SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Text, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class _HasId(Protocol):
    id: int | None


def saved_id(row: _HasId) -> int:
    """The id of a row that was loaded or flushed (SQLModel types it ``int | None``: a new row has none yet)."""
    return cast(int, row.id)


class Role(StrEnum):
    """``auditor``: reads everything an admin reads, changes nothing, and alone reads LLM-call bodies."""

    admin = "admin"
    user = "user"
    auditor = "auditor"


class ProviderKind(StrEnum):
    openai = "openai"
    anthropic = "anthropic"


class Scope(StrEnum):
    """What a key opens: ``llm`` the proxy only; ``ui`` (browser sessions) and ``api`` (automation) the REST API."""

    llm = "llm"
    ui = "ui"
    api = "api"


class Outcome(StrEnum):
    ok = "ok"
    upstream_error = "upstream_error"
    client_closed = "client_closed"
    gateway_error = "gateway_error"
    refused = "refused"  # answered by the gateway itself (401, 403, 404, 413, 415, 429, 400, 503): never forwarded


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(default="", max_length=255)
    role: Role = Field(default=Role.user, max_length=16)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The identity provider's subject (`sub`) of the first single sign-on: later sign-ins must bring the same one,
    # so an email address the provider hands to someone else does not open this account.
    oidc_subject: str | None = Field(default=None, max_length=255, unique=True, index=True)


class Group(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Made by single sign-on: its members follow the groups claim at every sign-in. Groups an admin made keep the
    # members the admin gave them.
    synced_from_sso: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class UserGroup(SQLModel, table=True):
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    group_id: int = Field(foreign_key="group.id", primary_key=True, ondelete="CASCADE")


class ApiKey(SQLModel, table=True):
    """An issued key. Only an HMAC digest of the secret is stored; ``prefix`` identifies it to humans."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=200)
    prefix: str = Field(max_length=32)
    digest: str = Field(max_length=128, unique=True, index=True)
    scopes: str = Field(default="llm", max_length=64)  # comma-separated Scope values
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)


class Provider(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    kind: ProviderKind = Field(max_length=16)
    base_url: str = Field(max_length=500)
    credential_encrypted: str | None = Field(default=None, max_length=4000)
    credential_last4: str | None = Field(default=None, max_length=4)
    # `scheme://host:port` the credential was saved for: it is used only while base_url has this origin
    # (providers/credential_binding.py).
    credential_origin: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Model(SQLModel, table=True):
    """A provider-native model id the gateway serves. Names are unique across providers."""

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="provider.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200, unique=True, index=True)
    display_name: str = Field(default="", max_length=200)
    active: bool = True
    # USD per million tokens; None means unknown (cost counted as 0 and flagged in the UI).
    price_input: float | None = None
    price_output: float | None = None
    price_cache_read: float | None = None
    price_cache_write: float | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Policy(SQLModel, table=True):
    """A model access policy: ``subjects`` (``user:EMAIL``, ``group:NAME`` or ``*``) may call ``models``."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    subjects: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    models: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MessagePolicy(SQLModel, table=True):
    """A message policy (message_policies/): subjects as in ``Policy``; ``scopes`` and ``action`` are
    PolicyScope / PolicyAction values; the rule is ``pattern`` and/or ``builtins``, or ``judge``."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    subjects: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    action: str = Field(max_length=16)
    pattern: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    builtins: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    judge: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    on_unreadable: str = Field(default="block", max_length=8)
    on_judge_error: str = Field(default="block", max_length=8)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MessagePolicySettings(SQLModel, table=True):
    """One row (id 1): the model that judges judged policies (None: judged policies fail per on_judge_error)."""

    id: int = Field(default=1, primary_key=True)
    judge_model: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)


class MessagePolicyViolation(SQLModel, table=True):
    """One policy matching one piece of one call's content. No foreign keys: a violation outlives its policy, user
    and key (``policy_name`` is copied), and it is written off the request path in batches."""

    __table_args__ = (
        # The violations list walks one of these newest first per filter (migration 0012).
        Index("ix_mpviolation_policy_time", "policy_id", "created_at"),
        Index("ix_mpviolation_user_time", "user_id", "created_at"),
        Index("ix_mpviolation_key_time", "api_key_id", "created_at"),
        Index("ix_mpviolation_scope_time", "scope", "created_at"),
        Index("ix_mpviolation_action_time", "action", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    policy_id: int
    policy_name: str = Field(max_length=200)
    user_id: int | None = None
    api_key_id: int | None = None
    scope: str = Field(max_length=16)
    action: str = Field(max_length=16)
    explanation: str = Field(default="", max_length=1000)
    # The offending content, sealed (message_policies/stored/violations.py); readable by auditors only.
    content_sealed: bytes
    call_id: str | None = Field(default=None, max_length=64, index=True)  # UsageRecord.call_id of the call


class PartialIndex(NamedTuple):
    name: str
    column: str
    condition: str  # SQL, the same on SQLite and PostgreSQL
    left_out: int | str | None  # the one value (None: NULL) whose rows the index does not hold


# The call log's listing indexes that hold only the rows their filter looks for (migration 0013). A query uses one
# only when its WHERE repeats the condition (SQLite does not prove that status 429 implies status <> 200):
# calllog/listing.py and calllog/retention.py add it.
PARTIAL_LISTING_INDEXES = (
    PartialIndex("ix_usage_status_time", "status_code", "status_code <> 200", 200),
    PartialIndex("ix_usage_outcome_time", "outcome", "outcome <> 'ok'", "ok"),
    PartialIndex("ix_usage_session_time", "session_id", "session_id IS NOT NULL", None),
    PartialIndex("ix_usage_key_prefix_time", "key_prefix", "key_prefix IS NOT NULL", None),
)


class UsageRecord(SQLModel, table=True):
    __table_args__ = (
        Index("ix_usage_user_time", "user_id", "created_at"),
        Index("ix_usage_model_time", "model", "created_at"),
        Index("ix_usage_key_time", "api_key_id", "created_at"),
        # Estimated rows are few: the summary counts them through this partial index (migration 0008).
        Index(
            "ix_usage_estimated_time",
            "created_at",
            postgresql_where=text("usage_estimated"),
            sqlite_where=text("usage_estimated = 1"),
        ),
        # The call log lists the newest calls under one filter by walking one of these (migration 0011); those
        # with a condition hold only the rows that filter looks for (0013, PARTIAL_LISTING_INDEXES above). A
        # provider's calls are walked through the model index, model by model (0014, calllog/listing.py).
        Index("ix_usage_client_time", "client", "created_at"),
        *(
            Index(name, column, "created_at", postgresql_where=text(condition), sqlite_where=text(condition))
            for name, column, condition, _ in PARTIAL_LISTING_INDEXES
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None)
    api_key_id: int | None = Field(default=None)
    provider: str = Field(max_length=100)
    provider_kind: str = Field(max_length=16)
    model: str = Field(max_length=200)
    endpoint: str = Field(max_length=64)
    streamed: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    status_code: int = 0
    outcome: Outcome = Field(default=Outcome.ok, max_length=20)
    latency_ms: float = 0.0
    ttfb_ms: float | None = None
    client: str = Field(default="", max_length=300)
    session_id: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, max_length=200)
    # The gateway's own id of the call (its x-gateway-request-id): unique, so a replayed row is never stored twice.
    call_id: str | None = Field(default=None, max_length=64, unique=True, index=True)
    # Some figures were estimated (a cut stream, a call a crash interrupted) rather than reported by the provider.
    # A server default, not a Python one: inserts that name only older columns keep working.
    usage_estimated: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # The call log (migration 0010): what identifies a call beyond its usage, refused calls included.
    path: str | None = Field(default=None, max_length=300)
    method: str | None = Field(default=None, max_length=10)
    reasoning_effort: str | None = Field(default=None, max_length=32)
    refusal_reason: str | None = Field(default=None, max_length=300)
    client_address: str | None = Field(default=None, max_length=64)
    key_prefix: str | None = Field(default=None, max_length=32)  # a presented key the gateway does not know


class CallBody(SQLModel, table=True):
    """A call's request and response (bodies and redacted headers), sealed with the secret key (calllog/bodies.py).
    Written only with GATEWAY_LLM_LOG_BODIES; pruned after GATEWAY_LLM_LOG_RETENTION_DAYS."""

    call_id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sealed: bytes


class MaintenanceLock(SQLModel, table=True):
    """A lease that lets one replica at a time run a periodic chore (the call log's pruning)."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    expires_at: datetime


class UsageSums(SQLModel):
    """The sums every usage rollup keeps for its bucket and key."""

    # BIGINT: a day of one busy key can pass 2**31 tokens, PostgreSQL's INTEGER would overflow.
    requests: int = Field(default=0, sa_type=BigInteger)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    cache_read_tokens: int = Field(default=0, sa_type=BigInteger)
    cache_write_tokens: int = Field(default=0, sa_type=BigInteger)
    reasoning_tokens: int = Field(default=0, sa_type=BigInteger)
    cost_usd: float = 0.0


class UsageRollupBase(UsageSums):
    """Sums of usage records per time bucket and per (user, key, provider, model, outcome).

    Inserted records are added by ``gateway_api.usage.writer.insert_usage_records`` in the inserting transaction
    (one grouped upsert per batch and rollup; an INSERT that bypasses it leaves the rollups short), deleted or
    updated ones by the triggers of migration 0004 (0005 dropped its insert trigger). The usage queries read
    them for whole hours and days and the raw table only for the partial hours at a range's edges. A record
    without user or key is counted under id 0 (ids start at 1): key columns cannot be NULL, or equal keys would
    not conflict.
    """

    bucket_start: datetime = Field(primary_key=True)
    user_id: int = Field(default=0, primary_key=True, sa_column_kwargs={"autoincrement": False})
    api_key_id: int = Field(default=0, primary_key=True, sa_column_kwargs={"autoincrement": False})
    provider: str = Field(max_length=100, primary_key=True)
    model: str = Field(max_length=200, primary_key=True)
    outcome: str = Field(max_length=20, primary_key=True)  # an Outcome value, kept as text in the rollups


class UsageHourly(UsageRollupBase, table=True):
    # Without rowid SQLite stores rows in primary-key order, so a time range is one contiguous scan.
    __table_args__ = {"sqlite_with_rowid": False}


class UsageDaily(UsageRollupBase, table=True):
    __table_args__ = {"sqlite_with_rowid": False}


class UsageModelRollupBase(UsageSums):
    """The same sums per time bucket and (provider, model, outcome) only: a few rows per hour, so the views that
    neither filter nor group by user or key (an admin's default page) read almost nothing."""

    bucket_start: datetime = Field(primary_key=True)
    provider: str = Field(max_length=100, primary_key=True)
    model: str = Field(max_length=200, primary_key=True)
    outcome: str = Field(max_length=20, primary_key=True)


class UsageModelHourly(UsageModelRollupBase, table=True):
    __table_args__ = {"sqlite_with_rowid": False}


class UsageModelDaily(UsageModelRollupBase, table=True):
    __table_args__ = {"sqlite_with_rowid": False}


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    actor_user_id: int | None = Field(default=None, index=True)
    actor_email: str = Field(default="", max_length=320)
    action: str = Field(max_length=64, index=True)  # e.g. "provider.update"
    target_type: str = Field(max_length=32)
    target_id: str = Field(default="", max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class UsageDeadLetter(SQLModel, table=True):
    """A usage row the database refused (kept with the reason, so nothing is silently lost)."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    call_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=1000)
    row: str = Field(sa_column=Column(Text, nullable=False))  # the row's column values as JSON


class ConfigVersion(SQLModel, table=True):
    """One row whose ``version`` grows on every change the proxy caches, so every replica can notice."""

    __table_args__ = (UniqueConstraint("name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="catalog", max_length=32)
    version: int = 0


class UsageLimit(SQLModel, table=True):
    """Limit overrides of one user or one API key (exactly one of the two ids is set); None inherits.

    A key's value beats its user's, which beats the ``GATEWAY_DEFAULT_*`` settings (admins ignore the defaults).
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", unique=True, ondelete="CASCADE")
    api_key_id: int | None = Field(default=None, foreign_key="apikey.id", unique=True, ondelete="CASCADE")
    input_token_quota: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    output_token_quota: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    requests_per_minute: int | None = None
    daily_budget_usd: float | None = None
    monthly_budget_usd: float | None = None
    max_concurrent_calls: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class SsoSignIn(SQLModel, table=True):
    """One trip through the identity provider, from the redirect to it to the one-time code that ends it.

    Only digests of the OAuth state, the browser binding cookie and the one-time code are stored (HMAC with the
    key pepper); the PKCE verifier and the nonce are derived from the state, so nothing here signs anyone in.
    """

    id: int | None = Field(default=None, primary_key=True)
    state_digest: str = Field(max_length=64, unique=True, index=True)
    binding_digest: str = Field(max_length=64)
    purpose: str = Field(max_length=16)  # an accounts.sso.flows.Purpose value
    # web: the page to land on; cli: the CLI's loopback address.
    return_to: str = Field(default="", max_length=500)
    # cli: the S256 challenge of the verifier the CLI keeps, needed to redeem the one-time code.
    client_challenge: str = Field(default="", max_length=128)
    device_id: int | None = Field(default=None, foreign_key="devicesignin.id", ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    callback_at: datetime | None = None
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    handoff_digest: str | None = Field(default=None, max_length=64, unique=True, index=True)
    handoff_expires_at: datetime | None = None
    handoff_used_at: datetime | None = None


class DeviceSignIn(SQLModel, table=True):
    """A CLI waiting for its user to confirm a short code in any browser (`gateway login --no-browser`)."""

    id: int | None = Field(default=None, primary_key=True)
    device_code_digest: str = Field(max_length=64, unique=True, index=True)
    user_code: str = Field(max_length=16, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    last_polled_at: datetime | None = None
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    approved_at: datetime | None = None
    denied_at: datetime | None = None
    redeemed_at: datetime | None = None
