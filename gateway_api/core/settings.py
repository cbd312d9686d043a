"""Gateway settings, read from the environment (prefix ``GATEWAY_``)."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("gateway.settings")

SECRET_KEY_FILE = "secret.key"


class SettingsError(Exception):
    """A setting is invalid; the message names it. Start-up stops with this one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str = ""
    secret_key: str = ""
    admin_email: str = "admin@localhost"
    admin_password: str = ""
    config: Path | None = None
    # Empty: base URLs follow the address each caller used (the browser's, for the UI's pages).
    public_url: str = ""
    redis_url: str = ""
    log_level: str = "INFO"
    # `gateway serve` bootstraps once in the parent and turns this off for its workers, so N workers do not race
    # to apply the config file or create the first admin.
    bootstrap: bool = True

    # Proxy behaviour.
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    upstream_connect_timeout: float = Field(default=10.0, gt=0)
    upstream_first_byte_timeout: float = Field(default=600.0, gt=0)
    upstream_idle_timeout: float = Field(default=600.0, gt=0)
    # Decompression bombs: a compressed reply may decode to at most this much, and expand at most this many times.
    max_decoded_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    max_decode_ratio: float = Field(default=100.0, gt=1)
    # Client connections (`gateway serve`): the request head must arrive within http_header_timeout of its first
    # byte, an idle keep-alive connection is closed after http_keepalive_timeout, and a request body that stops
    # for http_body_timeout is abandoned.
    http_header_timeout: float = Field(default=10.0, gt=0)
    http_keepalive_timeout: float = Field(default=20.0, gt=0)
    http_body_timeout: float = Field(default=30.0, gt=0)
    usage_flush_interval: float = Field(default=0.5, gt=0)
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    # How often each replica checks the config version row. Without Redis this alone bounds how long a revoked
    # key keeps working; with Redis changes arrive as messages and this is only the safety net.
    catalog_poll_seconds: float = Field(default=0.25, gt=0)
    # The call log (README "Call log"): bodies are stored only when asked, encrypted, each capped.
    llm_log_bodies: bool = False
    llm_log_max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # Bodies and refused calls' rows older than this are pruned (usage figures stay in the rollups).
    llm_log_retention_days: int = Field(default=90, gt=0)
    default_key_expiry_days: int = Field(default=7, gt=0)

    # Brute-force protection for logins and key guessing.
    login_max_failures: int = Field(default=5, gt=0)
    login_failure_window_seconds: float = Field(default=60.0, gt=0)

    # Limits (gateway_api/limits): defaults for every non-admin user; unset = unlimited. Per user and per key
    # overrides live in the database. Token quotas count over a rolling window, budgets per UTC day / month.
    default_input_token_quota: int | None = Field(default=None, ge=0)
    default_output_token_quota: int | None = Field(default=None, ge=0)
    default_requests_per_minute: int | None = Field(default=None, ge=0)
    default_daily_budget_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    default_monthly_budget_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # Calls in flight at once per user (or per key with an override); unset = unlimited.
    default_max_concurrent_calls: int | None = Field(default=None, ge=0)
    token_quota_window_hours: float = Field(default=24.0, gt=0, le=24 * 31)
    # Admission reserves a call's expected cost against token quotas and budgets before forwarding it; the output
    # side is the request's max_tokens (or max_output_tokens / max_completion_tokens), capped at this, and this
    # when the request sets none.
    reservation_max_output_tokens: int = Field(default=4096, ge=0)
    # A concurrent-call slot held in Redis or the counter owner expires after this unless renewed (the process
    # holding it renews every third of it), so a crashed replica's slots come back.
    concurrency_lease_seconds: float = Field(default=60.0, ge=3)
    # Set by `gateway serve --workers N` without Redis: the Unix socket of the counter owner all workers share.
    limits_socket: str = ""
    # Redis keys of the limit counters start with this (several gateways may share one Redis).
    limits_redis_prefix: str = "gateway:limits:"
    # How long a call waits on Redis for its limit counters before counting in this process alone (retried later).
    limits_redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)

    # Message policies (issue 17, message_policies/). How long one judgement by the LLM judge may take before the
    # policy's on_judge_error decides, and how many verdicts each process keeps (Redis shares them when set).
    message_policy_judge_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    message_policy_cache_size: int = Field(default=10000, ge=0)

    # Single sign-on (OpenID Connect, accounts/sso/). Set the issuer and client id to turn it on. The list settings
    # are comma-separated.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = "groups"
    oidc_admin_groups: str = ""
    oidc_allowed_domains: str = ""
    # false: passwords are refused for everyone but the break-glass admin (an email), who can still sign in when
    # the identity provider is down.
    password_login: bool = True
    break_glass_admin: str = ""

    # Least privilege (issue 15, core/trust.py). Comma-separated origins allowed to call across origins (CORS);
    # empty: no cross-origin access at all.
    cors_origins: str = ""
    # Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed; empty: none.
    trusted_proxies: str = ""
    # A browser session (ui key) unused this long ends.
    session_idle_timeout_minutes: float = Field(default=120.0, gt=0)
    # false: only admins may mint keys that never expire.
    allow_user_non_expiring_keys: bool = False

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local test provider)")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in _comma_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an address or CIDR") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in _comma_list(value):
            if origin == "*" or not origin.startswith(("http://", "https://")) or origin.rstrip("/").count("/") != 2:
                raise ValueError(f"{origin!r} is not an origin like https://tools.example.com (no * allowed)")
        return value

    @model_validator(mode="after")
    def _sign_in_possible(self) -> Settings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise SsoSettingError("oidc_client_id", "is required when GATEWAY_OIDC_ISSUER is set")
        if self.oidc_issuer and not self.public_url:
            # The redirect URI is registered at the provider, so it must not follow whatever Host a caller sends.
            raise SsoSettingError("public_url", "is required when GATEWAY_OIDC_ISSUER is set (the sign-in callback)")
        if "openid" not in self.oidc_scopes.split():
            raise SsoSettingError("oidc_scopes", "must include openid")
        if not self.password_login and not self.oidc_issuer:
            raise SsoSettingError("password_login", "false needs single sign-on (GATEWAY_OIDC_ISSUER) configured")
        return self

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def oidc_redirect_uri(self) -> str:
        """Where the identity provider sends the browser back (register exactly this at the provider)."""
        return f"{self.public_url}/api/auth/oidc/callback"

    @property
    def oidc_admin_group_names(self) -> frozenset[str]:
        return _comma_list(self.oidc_admin_groups)

    @property
    def oidc_allowed_domain_names(self) -> frozenset[str]:
        return frozenset(domain.lower().lstrip("@") for domain in _comma_list(self.oidc_allowed_domains))

    @property
    def cors_origin_list(self) -> list[str]:
        return sorted(origin.rstrip("/") for origin in _comma_list(self.cors_origins))

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in sorted(_comma_list(self.trusted_proxies)))

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'gateway.db').resolve()}"


class SsoSettingError(ValueError):
    """A combination of sign-in settings that cannot work; ``field`` names the setting to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _comma_list(value: str) -> frozenset[str]:
    return frozenset(item.strip() for item in value.split(",") if item.strip())


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into one clear line."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]  # field values, validated by pydantic
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, SsoSettingError):
            raise SettingsError(f"invalid setting GATEWAY_{cause.field.upper()}: {cause}") from None
        name = "GATEWAY_" + str(first["loc"][0]).upper() if first["loc"] else "GATEWAY settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
    if settings.config is not None and not settings.config.is_file():
        raise SettingsError(f"invalid setting GATEWAY_CONFIG: no such file {settings.config}")
    return settings


def ensure_secret_key(settings: Settings) -> str:
    """Return the secret key, generating one into the data folder (mode 0600) on first start."""
    if settings.secret_key:
        if len(settings.secret_key) < 16:
            raise SettingsError("invalid setting GATEWAY_SECRET_KEY: must be at least 16 characters")
        return settings.secret_key
    path = settings.data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.warning("generated a new secret key in %s (keep it: it decrypts provider credentials)", path)
    return key
