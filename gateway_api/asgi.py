"""Entry point for ASGI servers (`gateway serve` runs it with uvicorn's factory mode)."""

from __future__ import annotations

from fastapi import FastAPI

from gateway_api.app import create_app, metrics_of
from gateway_api.proxy.asgi_io import Receive, Scope, Send
from gateway_api.proxy.handler import PROXY_PREFIX, ProxyApp
from gateway_api.request_context import RequestContext

_PROXY_PATH_PREFIX = PROXY_PREFIX + "/"


class GatewayFront:
    """Sends proxy calls straight to the proxy (skipping FastAPI's routing, the costliest part of the hop) and
    everything else, lifespan included, to the FastAPI app that also owns the proxy's start and stop."""

    def __init__(self, api: FastAPI, proxy: ProxyApp) -> None:
        self.api = api
        # The FastAPI app wraps itself in RequestContext; proxy calls skip it, so they get their own.
        self.proxy = RequestContext(proxy, metrics=lambda: metrics_of(api))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_PROXY_PATH_PREFIX):
            await self.proxy(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_asgi_app() -> GatewayFront:
    api = create_app()
    return GatewayFront(api, api.state.proxy)
