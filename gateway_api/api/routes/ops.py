"""Operations endpoints at the root (not under /api): liveness, readiness and Prometheus metrics.

Unauthenticated, like most load balancer and scraper targets: they reveal no user data. Keep them off the public
internet with the load balancer if counts per model are sensitive.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway_api.api.deps import ServicesDep
from gateway_api.metrics.registry import CONTENT_TYPE

router = APIRouter(tags=["operations"])

READINESS_TIMEOUT_SECONDS = 5.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving (no database access)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "the database is unreachable"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready for traffic: the database answers. A load balancer takes a replica out while this is 503."""
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, services), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable", "database": exc.__class__.__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """This process's metrics in the Prometheus text format."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)


def _ping(services: ServicesDep) -> None:
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
