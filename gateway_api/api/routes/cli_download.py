"""The gateway's own CLI, served as a wheel: `pip install <gateway>/cli/<wheel>` or `pipx install ...` gives a
developer `gateway login` without cloning or building anything (its base install needs httpx and typer only)."""

from __future__ import annotations

import asyncio
from html import escape

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse

from gateway_api.api.deps import ServicesDep
from gateway_api.api.routes.me import public_base_url
from gateway_api.distribution.cli_wheel import WHEEL_NAME, CliWheelUnavailable

router = APIRouter(prefix="/cli", tags=["cli"])


def install_command(public_url: str) -> str:
    return f"pip install {public_url}/cli/{WHEEL_NAME}"


@router.get("/", response_class=HTMLResponse)
def cli_page(services: ServicesDep, request: Request) -> HTMLResponse:
    """How to install the CLI from this gateway."""
    command = install_command(public_base_url(services.settings.public_url, request))
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>gateway CLI</title></head>"
        "<body style='font-family:system-ui,sans-serif;margin:2rem'><h1>The gateway CLI</h1>"
        f"<p>Install it (or use <code>pipx install</code>):</p><pre>{escape(command)}</pre>"
        f"<p><a href='/cli/{WHEEL_NAME}'>{WHEEL_NAME}</a></p></body></html>"
    )


@router.get(f"/{WHEEL_NAME}", response_class=FileResponse, responses={503: {"description": "cannot be built here"}})
async def download_cli_wheel(services: ServicesDep) -> FileResponse:
    """The wheel (built from this gateway's own source on first request, then cached in the data folder)."""
    if services.cli_wheel is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "this gateway does not serve its CLI")
    try:
        path = await asyncio.to_thread(services.cli_wheel.path)
    except CliWheelUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return FileResponse(path, media_type="application/octet-stream", filename=WHEEL_NAME)
