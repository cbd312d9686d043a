"""The REST API router: one sub-router per resource."""

from fastapi import APIRouter

from gateway_api.api.routes import audit, auth, groups, keys, limits, me, models, policies, providers, usage, users

api_router = APIRouter(prefix="/api")
api_router.include_router(auth.router)
api_router.include_router(me.router)
api_router.include_router(keys.router)
api_router.include_router(providers.router)
api_router.include_router(models.router)
api_router.include_router(policies.router)
api_router.include_router(users.router)
api_router.include_router(groups.router)
api_router.include_router(usage.router)
api_router.include_router(audit.router)
api_router.include_router(limits.router)
