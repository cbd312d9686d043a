"""Operations endpoints at the root (not under /api): liveness, readiness and Prometheus metrics.

Unauthenticated, like most load balancer and scraper targets: they reveal no user data. Keep them off the public
internet with the load balancer if counts per model are sensitive.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from gateway_api.api.deps import ServicesDep
from gateway_api.api.readiness import readiness
from gateway_api.metrics.registry import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving (no database access)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "this replica cannot serve proxied calls"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready for proxied traffic (200) or not (503); the body says how the database, Redis and the usage writer are
    doing (readiness.py). A database outage alone keeps a replica ready: the proxy serves from its snapshot."""
    ready, body = await readiness(services)
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """This process's metrics in the Prometheus text format."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
