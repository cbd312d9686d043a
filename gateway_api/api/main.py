"""The REST API router: one sub-router per resource."""

from fastapi import APIRouter

from gateway_api.api.routes import auth, me

api_router = APIRouter(prefix="/api")
api_router.include_router(auth.router)
api_router.include_router(me.router)
