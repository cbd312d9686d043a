"""The gateway's ASGI application: REST API under /api, the proxy under /api/llm-proxy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from gateway_api.api.errors import validation_error_handler
from gateway_api.api.main import api_router
from gateway_api.bootstrap import prepare
from gateway_api.catalog import Catalog
from gateway_api.log_config import configure_logging
from gateway_api.proxy.handler import PROXY_PREFIX, ProxyApp
from gateway_api.security.crypto import CredentialCipher
from gateway_api.security.keys import key_pepper
from gateway_api.security.throttle import FailureThrottle
from gateway_api.services import AppServices
from gateway_api.settings import Settings, load_settings
from gateway_api.usage.recorder import UsageRecorder

CATALOG_POLL_SECONDS = 0.25


async def build_services(settings: Settings) -> AppServices:
    engine, secret_key = await asyncio.to_thread(prepare, settings)
    cipher = CredentialCipher(secret_key)
    catalog = Catalog(engine, cipher)
    await asyncio.to_thread(catalog.reload)
    return AppServices(
        settings=settings,
        engine=engine,
        cipher=cipher,
        key_pepper=key_pepper(secret_key),
        catalog=catalog,
        recorder=UsageRecorder(engine, settings.usage_flush_interval),
        login_throttle=FailureThrottle(settings.login_max_failures, settings.login_failure_window_seconds),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    proxy = ProxyApp()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        await proxy.start(services)
        background = [
            asyncio.create_task(services.catalog.watch(CATALOG_POLL_SECONDS)),
            asyncio.create_task(services.recorder.run()),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await proxy.stop()
            await services.recorder.close(settings.shutdown_grace_seconds)
            services.engine.dispose()

    app = FastAPI(title="LLM Gateway", version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.include_router(api_router)
    app.mount(PROXY_PREFIX, proxy)
    app.state.proxy = proxy  # the ASGI front (asgi.py) sends proxy paths straight to it
    return app
