"""The Reflex app: UI pages plus the gateway (REST API and proxy under /api) on one server."""

from collections.abc import Callable

import reflex as rx
from reflex.utils.prerequisites import get_states_dir
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway_api.app import create_asgi_app
from gateway_api.core.private_files import make_private
from gateway_api.core.settings import load_settings
from gateway_ui.api_connection import API
from gateway_ui.origins import socket_origin_check
from gateway_ui.pages import PAGES
from gateway_ui.security_headers import with_security_headers

API_PATH_PREFIX = "/api/"
# The gateway's own CLI wheel (GET /cli/...), served by the gateway app.
CLI_PATH_PREFIX = "/cli/"
# Operations endpoints live at the root of the gateway app; a load balancer probes them on this server too.
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def gateway_api_first(gateway: ASGIApp) -> Callable[[ASGIApp], ASGIApp]:
    """Reflex `api_transformer`: /api/... and the ops endpoints go to the gateway, everything else to Reflex.

    A callable rather than the FastAPI instance itself: given an instance, Reflex mounts its whole
    app inside ours, adds a second CORS middleware to the API and the proxy, and answers unknown
    /api paths with the UI's HTML 404 page instead of the API's JSON one. Proxy calls still pass
    through Reflex's outer Starlette app (context + CORS middleware) before reaching the gateway app.
    """

    def transform(reflex_asgi: ASGIApp) -> ASGIApp:
        pages = with_security_headers(reflex_asgi)  # the UI's responses: CSP, no framing, nosniff

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope["path"] if scope["type"] == "http" else ""
            if path.startswith((API_PATH_PREFIX, CLI_PATH_PREFIX)) or path in OPS_PATHS:
                await gateway(scope, receive, send)
            else:
                await pages(scope, receive, send)

        return dispatch

    return transform


settings = load_settings()
# Before Reflex creates its state directory: pickled sessions and the data directory stay owner-only.
make_private(settings.data_dir)
make_private(get_states_dir())
gateway = create_asgi_app(settings)

app = rx.App(api_transformer=gateway_api_first(gateway))
if app.sio is not None:
    app.sio.eio.cors_allowed_origins = socket_origin_check(settings)
for page in PAGES:
    page.add_to(app)
# Reflex runs its own app's lifespan and never forwards it, so the gateway starts and stops as one of its tasks.
app.register_lifespan_task(gateway.running)
app.register_lifespan_task(API.closed_at_shutdown)
