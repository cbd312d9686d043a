"""Entry point for ASGI servers (`gateway serve` runs it with uvicorn's factory mode)."""

from __future__ import annotations

from gateway_api.app import create_app


def create_asgi_app():  # noqa: ANN201 - an ASGI application
    return create_app()
