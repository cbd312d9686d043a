"""The gateway's ASGI application: REST API under /api, the proxy under /api/llm-proxy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from gateway_api.api.errors import validation_error_handler
from gateway_api.api.main import api_router
from gateway_api.api.routes import ops
from gateway_api.catalog.invalidation import CatalogBroadcaster, listen_for_invalidations
from gateway_api.catalog.snapshot import Catalog
from gateway_api.core.log_config import configure_logging
from gateway_api.core.settings import Settings, load_settings
from gateway_api.limits.limiter import Limiter
from gateway_api.metrics.registry import GatewayMetrics
from gateway_api.proxy.handler import PROXY_PREFIX, ProxyApp
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.keys import key_pepper
from gateway_api.security.throttle import FailureThrottle
from gateway_api.server.request_context import RequestContext
from gateway_api.services import AppServices
from gateway_api.startup.bootstrap import prepare
from gateway_api.usage.recorder import UsageRecorder


async def build_services(settings: Settings) -> AppServices:
    engine, secret_key = await asyncio.to_thread(prepare, settings)
    cipher = CredentialCipher(secret_key)
    catalog = Catalog(engine, cipher)
    await asyncio.to_thread(catalog.reload)
    services = AppServices(
        settings=settings,
        engine=engine,
        cipher=cipher,
        key_pepper=key_pepper(secret_key),
        catalog=catalog,
        recorder=UsageRecorder(engine, settings.usage_flush_interval),
        login_throttle=FailureThrottle(settings.login_max_failures, settings.login_failure_window_seconds),
        limits=Limiter(settings, engine),
    )
    services.metrics.watch("usage_records_queued", lambda: services.recorder.pending)
    services.metrics.watch("catalog_version", lambda: services.catalog.snapshot.version)
    return services


def catalog_watchers(services: AppServices) -> list[Coroutine[Any, Any, None]]:
    """The version-row poll always; with Redis also the invalidation channel, which makes changes arrive at once."""
    settings = services.settings
    watchers = [services.catalog.watch(settings.catalog_poll_seconds)]
    if settings.redis_url:
        watchers.append(listen_for_invalidations(settings.redis_url, services.catalog))
    return watchers


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    proxy = ProxyApp()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        broadcaster = CatalogBroadcaster(services.engine, settings.redis_url) if settings.redis_url else None
        if broadcaster is not None:
            broadcaster.install()
        await services.limits.start()  # counts of the open windows, from the usage table
        await proxy.start(services)
        background = [asyncio.create_task(watcher) for watcher in catalog_watchers(services)]
        background.append(asyncio.create_task(services.recorder.run()))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await proxy.stop()
            await services.recorder.close(settings.shutdown_grace_seconds)
            await services.limits.close()
            if broadcaster is not None:
                broadcaster.remove()
            services.engine.dispose()

    app = FastAPI(title="LLM Gateway", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_middleware(RequestContext, metrics=lambda: metrics_of(app))
    app.include_router(api_router)
    app.include_router(ops.router)
    app.mount(PROXY_PREFIX, proxy)
    app.state.proxy = proxy  # the ASGI front (asgi.py) sends proxy paths straight to it
    return app


def metrics_of(app: FastAPI) -> GatewayMetrics | None:
    services: AppServices | None = getattr(app.state, "services", None)
    return services.metrics if services is not None else None
