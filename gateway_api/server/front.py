"""Entry point for ASGI servers (`gateway serve` runs it with uvicorn's factory mode)."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from gateway_api.app import create_app, metrics_of
from gateway_api.proxy.asgi_io import Message, Receive, Scope, Send
from gateway_api.proxy.handler import PROXY_PREFIX, ProxyApp
from gateway_api.server.request_context import RequestContext

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
        elif scope["type"] == "lifespan":
            await self.api(scope, receive, _freezing_heap_once_started(send))
        else:
            await self.api(scope, receive, send)


def _freezing_heap_once_started(send: Send) -> Send:
    """Once startup is complete, move everything built so far (modules, app, catalog) out of the cyclic garbage
    collector's reach: it lives as long as the process, and each full collection over it (~170k objects) was a
    ~100 ms stall for every call in flight."""

    async def send_and_freeze(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            gc.collect()
            gc.freeze()
        await send(message)

    return send_and_freeze


def create_asgi_app() -> GatewayFront:
    api = create_app()
    return GatewayFront(api, api.state.proxy)
