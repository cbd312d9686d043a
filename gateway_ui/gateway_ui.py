"""The Reflex app: UI pages plus the gateway (REST API and proxy under /api) on one server."""

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import reflex as rx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway_api.app import create_app
from gateway_api.server.front import GatewayFront
from gateway_ui import pages  # noqa: F401  (importing registers the pages)
from gateway_ui.api_connection import API

API_PATH_PREFIX = "/api/"
# Operations endpoints live at the root of the gateway app; a load balancer probes them on this server too.
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def gateway_api_first(gateway: ASGIApp) -> Callable[[ASGIApp], ASGIApp]:
    """Reflex `api_transformer`: /api/... and the ops endpoints go to the gateway, everything else to Reflex.

    A callable rather than the FastAPI instance itself: given an instance, Reflex mounts its whole
    app inside ours, adds a second CORS middleware to the API and the proxy, and answers unknown
    /api paths with the UI's HTML 404 page instead of the API's JSON one. Proxy calls still pass
    through Reflex's outer Starlette app (context + CORS middleware) before reaching GatewayFront.
    """

    def transform(reflex_asgi: ASGIApp) -> ASGIApp:
        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and (scope["path"].startswith(API_PATH_PREFIX) or scope["path"] in OPS_PATHS):
                await gateway(scope, receive, send)
            else:
                await reflex_asgi(scope, receive, send)

        return dispatch

    return transform


def gateway_lifespan(api: FastAPI) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Run the API's own lifespan (migrations, first admin, background tasks) inside Reflex's.

    Reflex serves the transformed app below its own Starlette app, which handles the ASGI lifespan
    itself and never forwards it, so without this the API would answer requests with nothing started.
    """

    @contextlib.asynccontextmanager
    async def run_gateway_api_lifespan() -> AsyncIterator[None]:
        async with api.router.lifespan_context(api) as lifespan_state:
            if lifespan_state:
                # Reflex cannot hand per-lifespan state on to requests; services must live on app.state.
                raise RuntimeError("the gateway lifespan must keep its services on app.state, not yield state")
            yield

    return run_gateway_api_lifespan


gateway_api = create_app()

app = rx.App(api_transformer=gateway_api_first(GatewayFront(gateway_api, gateway_api.state.proxy)))
app.register_lifespan_task(gateway_lifespan(gateway_api))
app.register_lifespan_task(API.closed_at_shutdown)
