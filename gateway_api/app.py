"""The composition root: `create_asgi_app(settings)` builds the one ASGI application that `gateway serve`, the Reflex
app and the tests all serve. Its lifespan (`GatewayApp.running`) builds every long-lived service once, the proxy with
its runtime, and stops them in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from gateway_api.accounts.sso.runtime import SsoRuntime
from gateway_api.api.main import create_rest_api
from gateway_api.calllog.runtime import CallLogRuntime
from gateway_api.catalog.invalidation import CatalogBroadcaster, listen_for_invalidations
from gateway_api.catalog.snapshot import Catalog, ModelEntry
from gateway_api.core.log_config import configure_logging
from gateway_api.core.settings import Settings, load_settings
from gateway_api.distribution.cli_wheel import CliWheel
from gateway_api.limits.limiter import Limiter
from gateway_api.limits.owner_client import failure_throttle
from gateway_api.message_policies.judging.judge import LlmJudge
from gateway_api.message_policies.judging.verdict_cache import open_verdict_cache
from gateway_api.message_policies.patterns import PatternCache
from gateway_api.message_policies.stored.violations import ViolationRecorder, violation_sealer
from gateway_api.metrics.registry import GatewayMetrics
from gateway_api.proxy.accounting.crash_row import spool_start
from gateway_api.proxy.accounting.ledger import UsageLedger, UsageSink
from gateway_api.proxy.accounting.refused_row import RefusalSink
from gateway_api.proxy.auth import KeyAuthenticator
from gateway_api.proxy.handler import ProxyApp
from gateway_api.proxy.message_policy_step import MessagePolicyStep
from gateway_api.proxy.routes import PROXY_PREFIX, proxy_error_body
from gateway_api.proxy.upstream import UpstreamClient
from gateway_api.proxy.websocket_refusal import refuse_websocket
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.keys import key_pepper
from gateway_api.server.asgi import ASGIApp, Receive, Scope, Send, send_whole
from gateway_api.server.cors import with_cors
from gateway_api.server.lifespan import serve_lifespan
from gateway_api.server.request_context import RequestContext, api_error_body
from gateway_api.services import AppServices
from gateway_api.startup.bootstrap import prepare
from gateway_api.usage.batch_writes import BatchWriter
from gateway_api.usage.recorder import UsageRecorder, watch_usage_spool, watch_usage_writer
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.spool import SPOOL_DIRECTORY, UsageSpool
from gateway_api.usage.spool_replay import replay_at_start, replay_continually

_PROXY_PATH_PREFIX = PROXY_PREFIX + "/"


class GatewayApp:
    """The gateway's ASGI app. Proxy calls go straight to the proxy (FastAPI's routing is the costliest part of a
    hop); everything else, the REST API and the operations endpoints, to FastAPI."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.api = create_rest_api()
        self._api = RequestContext(self.api, "api", self.metrics, api_error_body)
        # Until start-up has built the proxy, proxy paths are answered "starting" (see `running`).
        self._proxy = RequestContext(_not_serving, "proxy", self.metrics, proxy_error_body)
        self._services: AppServices | None = None

    @property
    def services(self) -> AppServices:
        if self._services is None:
            raise RuntimeError("the gateway is not running")
        return self._services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_PROXY_PATH_PREFIX):
            await self._proxy(scope, receive, send)
        elif scope["type"] == "lifespan":
            await serve_lifespan(self.running, receive, send)
        elif scope["type"] == "websocket" and scope["path"].startswith(_PROXY_PATH_PREFIX):
            await refuse_websocket(scope, receive, send)
        else:
            await self._api(scope, receive, send)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[AppServices]:
        """Start everything, serve, then stop everything in reverse. ASGI servers enter this through the lifespan
        protocol; the Reflex app registers it as one of its lifespan tasks."""
        settings = self.settings
        services = await build_services(settings, self.metrics)
        broadcaster = CatalogBroadcaster(services.engine, settings.redis_url) if settings.redis_url else None
        if broadcaster is not None:
            broadcaster.install()
        await asyncio.to_thread(services.spool.open)
        # Orphaned spools (a crash, a stop during an outage) first, so that the limits count their calls.
        await asyncio.to_thread(replay_at_start, services.spool, services.engine)
        await services.limits.start()  # counts of the open windows, from the usage table
        upstream = UpstreamClient(settings)
        await upstream.start()
        call_log = services.call_log
        body_sink = call_log.bodies.add if call_log.bodies is not None else None
        ledger = UsageLedger(usage_sink(services), spool_start(services.spool), refusal_sink(services), body_sink)
        verdicts = open_verdict_cache(settings)
        judge = LlmJudge(
            lambda: _judge_model(services),
            upstream,
            verdicts,
            settings.message_policy_judge_timeout_seconds,
            usage_sink(services),  # the judge's calls are usage too, under no user (message-policy cost)
        )
        services.message_policy_judge = judge
        policy_step = MessagePolicyStep(
            judge, PatternCache(), services.violations, ledger, services.limits, services.catalog
        )
        self.api.state.services = self._services = services
        self._proxy.app = ProxyApp(services, upstream, KeyAuthenticator(services), ledger, policy_step)
        services.proxy_serving = True
        background = [asyncio.create_task(watcher) for watcher in catalog_watchers(services)]
        background.append(asyncio.create_task(services.recorder.run()))
        background.append(asyncio.create_task(services.spool.run()))
        background.append(asyncio.create_task(services.violations.run()))
        background += call_log.tasks()
        background.append(asyncio.create_task(replay_continually(services.spool, BatchWriter(services.engine))))
        try:
            yield services
        finally:
            services.proxy_serving = False
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            self._proxy.app = _not_serving
            services.message_policy_judge = None
            await judge.aclose()  # in-flight judgements, before the client they use closes
            await verdicts.aclose()
            await upstream.close()
            ledger.settle()  # rows of the calls that ended in this last loop turn
            await services.recorder.close(settings.shutdown_grace_seconds)
            await call_log.close(settings.shutdown_grace_seconds)
            await services.violations.close(settings.shutdown_grace_seconds)
            await services.spool.close()
            await services.limits.close()
            if broadcaster is not None:
                broadcaster.remove()
            services.engine.dispose()


def create_asgi_app(settings: Settings | None = None) -> GatewayApp:
    """The app for `settings` (read from the environment when not given, as `gateway serve`'s workers do)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    return GatewayApp(settings)


def create_served_app() -> ASGIApp:
    """`gateway serve`'s factory: the app, behind CORS only for GATEWAY_CORS_ORIGINS (the UI server has Reflex's
    CORS layer, configured from the same setting in rxconfig.py)."""
    app = create_asgi_app()
    return with_cors(app, app.settings.cors_origin_list)


async def build_services(settings: Settings, metrics: GatewayMetrics) -> AppServices:
    engine, secret_key = await asyncio.to_thread(prepare, settings)
    cipher = CredentialCipher(secret_key)
    catalog = Catalog(engine, cipher)
    await asyncio.to_thread(catalog.reload)
    spool = UsageSpool(settings.data_dir / SPOOL_DIRECTORY)
    services = AppServices(
        settings=settings,
        engine=engine,
        cipher=cipher,
        key_pepper=key_pepper(secret_key),
        catalog=catalog,
        recorder=UsageRecorder(engine, settings.usage_flush_interval, spool.acknowledge),
        spool=spool,
        login_throttle=failure_throttle(settings, "login"),
        limits=Limiter(settings, engine),
        metrics=metrics,
        sso=SsoRuntime.from_settings(settings),
        cli_wheel=CliWheel(settings.data_dir),
        call_log=CallLogRuntime.build(settings, engine, secret_key),
        violations=ViolationRecorder(engine, violation_sealer(secret_key), settings.usage_flush_interval),
    )
    metrics.count(
        "gateway_message_policy_violations_dropped",
        "Message policy violations not stored because too much was already waiting for the database.",
        lambda: services.violations.dropped,
    )
    metrics.watch("message_policy_violations_queued", lambda: services.violations.pending)
    metrics.watch("usage_records_queued", lambda: services.recorder.pending)
    services.call_log.watch(metrics)
    watch_usage_writer(metrics, services.recorder)
    watch_usage_spool(metrics, services.spool)
    metrics.watch("catalog_version", lambda: services.catalog.snapshot.version)
    return services


def _judge_model(services: AppServices) -> ModelEntry | None:
    """The model the catalog names as the message-policy judge, read for each judgement (changes apply at once)."""
    snapshot = services.catalog.snapshot
    name = snapshot.message_policy_judge
    return snapshot.models_by_name.get(name) if name is not None else None


def usage_sink(services: AppServices) -> UsageSink:
    """Where each finished call's row goes: the recorder (database), the limit counters and the metrics."""
    record, count, observe = services.recorder.record, services.limits.count, services.metrics.record_usage_row
    spool = services.spool.finished

    def accept(row: UsageRow) -> None:
        record(row)  # first: it corrects out-of-range figures in place (usage/validation.py)
        spool(row)
        count(row)
        observe(row)

    return accept


def refusal_sink(services: AppServices) -> RefusalSink:
    """Refused calls' rows: the recorder and the spool like any row, but not the limits (they cost nothing) nor the
    per-model metrics (their model names are whatever a client sent)."""
    record, spool = services.recorder.record, services.spool.finished

    def accept(row: UsageRow) -> None:
        record(row)
        spool(row)

    sink = RefusalSink(accept, lambda: services.recorder.pending)
    services.metrics.count(
        "gateway_call_log_refusals_dropped",
        "Refused calls not logged because too many rows were already waiting for the database.",
        lambda: sink.dropped,
    )
    return sink


def catalog_watchers(services: AppServices) -> list[Coroutine[Any, Any, None]]:
    """The version-row poll always; with Redis also the invalidation channel, which makes changes arrive at once."""
    settings = services.settings
    watchers = [services.catalog.watch(settings.catalog_poll_seconds)]
    if settings.redis_url:
        watchers.append(listen_for_invalidations(settings.redis_url, services.catalog))
    return watchers


async def _not_serving(scope: Scope, receive: Receive, send: Send) -> None:
    await send_whole(send, 503, proxy_error_body(scope, 503, "the gateway is starting or stopping"))
