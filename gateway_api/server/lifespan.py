"""The ASGI lifespan protocol around one async context manager: enter it on startup, leave it on shutdown."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from gateway_api.server.asgi import Receive, Send

log = logging.getLogger("gateway.server")


async def serve_lifespan(
    running: Callable[[], AbstractAsyncContextManager[object]], receive: Receive, send: Send
) -> None:
    await receive()  # lifespan.startup
    started = False
    try:
        async with running():
            _freeze_startup_heap()
            started = True
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
    except Exception as exc:
        log.exception("the gateway failed to %s", "stop" if started else "start")
        await send({"type": "lifespan.shutdown.failed" if started else "lifespan.startup.failed", "message": str(exc)})
        return
    await send({"type": "lifespan.shutdown.complete"})


def _freeze_startup_heap() -> None:
    """Move everything built so far (modules, app, catalog) out of the cyclic garbage collector's reach: it lives as
    long as the process, and every full collection would walk all of it again, stalling every call in flight."""
    gc.collect()
    gc.freeze()
