"""Everything long-lived that request handlers need, built once per process by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from gateway_api.accounts.sso.runtime import SsoRuntime
from gateway_api.calllog.runtime import CallLogRuntime
from gateway_api.catalog.snapshot import Catalog
from gateway_api.core.settings import Settings
from gateway_api.distribution.cli_wheel import CliWheel
from gateway_api.limits.limiter import Limiter
from gateway_api.message_policies.stored.violations import ViolationRecorder
from gateway_api.message_policies.verdicts import Judge
from gateway_api.metrics.registry import GatewayMetrics
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.throttle import FailureThrottle
from gateway_api.usage.recorder import UsageRecorder
from gateway_api.usage.spool import UsageSpool


@dataclass
class AppServices:
    settings: Settings
    engine: Engine
    cipher: CredentialCipher
    key_pepper: bytes
    catalog: Catalog
    recorder: UsageRecorder
    # Every call's row on local disk before the database has it (usage/spool.py), replayed after a crash.
    spool: UsageSpool
    login_throttle: FailureThrottle
    # Quotas, request rates and spend budgets (gateway_api/limits), asked by the proxy before each call.
    limits: Limiter
    # This process's Prometheus registry (GET /metrics); other modules increment its counters.
    metrics: GatewayMetrics
    # The call log's sealer, body writer and pruner (gateway_api/calllog/runtime.py).
    call_log: CallLogRuntime
    # Message policy violations: queued by the proxy, sealed and written by a thread (message_policies/stored/violations.py).
    violations: ViolationRecorder
    # Single sign-on (GATEWAY_OIDC_*): the identity provider and the sign-in start throttle; None when not configured.
    sso: SsoRuntime | None = None
    # This gateway's own CLI as a wheel (GET /cli/...), built on first request.
    cli_wheel: CliWheel | None = None
    # Judges judged message policies (the proxy and the REST API's try-it); None: judged policies fail, and then
    # follow their on_judge_error choice.
    message_policy_judge: Judge | None = None
    # The proxy is built and serving, its upstream client started (set by the lifespan; /readyz reads it).
    proxy_serving: bool = False
