"""The Reflex app: UI pages plus the gateway FastAPI app (REST API and proxy) on one server."""

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import reflex as rx
from fastapi import FastAPI

from gateway_api.app import create_app
from gateway_ui import pages  # noqa: F401  (importing registers the pages)


def mounted_api_lifespan(api: FastAPI) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Run the API's own lifespan (DB, background tasks) inside Reflex's.

    Reflex mounts `api_transformer` below its own Starlette app, and Starlette never sends lifespan
    events to mounted apps, so without this the API would serve requests with nothing started.
    """

    @contextlib.asynccontextmanager
    async def run_gateway_api_lifespan() -> AsyncIterator[None]:
        async with api.router.lifespan_context(api) as lifespan_state:
            if lifespan_state:
                # Reflex cannot pass per-lifespan state on to requests; keep services on app.state.
                raise RuntimeError("gateway_api lifespan must store services on app.state, not yield state")
            yield

    return run_gateway_api_lifespan


gateway_api_app = create_app()

app = rx.App(api_transformer=gateway_api_app)
app.register_lifespan_task(mounted_api_lifespan(gateway_api_app))
