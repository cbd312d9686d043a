"""The REST API: one sub-router per resource, the operations endpoints at the root."""

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError

from gateway_api.api import database_errors
from gateway_api.api.errors import validation_error_handler
from gateway_api.api.routes import (
    audit,
    auth,
    auth_key,
    cli_download,
    device,
    groups,
    keys,
    limits,
    llm_calls,
    me,
    message_policies,
    models,
    ops,
    policies,
    policy_violations,
    providers,
    setup,
    sso,
    usage,
    users,
)

api_router = APIRouter(prefix="/api")
api_router.include_router(auth.router)
# Single sign-on, the CLI's device codes and a key's view of itself.
api_router.include_router(sso.router)
api_router.include_router(device.router)
api_router.include_router(auth_key.router)
api_router.include_router(me.router)
api_router.include_router(keys.router)
api_router.include_router(providers.router)
api_router.include_router(models.router)
api_router.include_router(policies.router)
api_router.include_router(message_policies.router)
api_router.include_router(policy_violations.router)
api_router.include_router(users.router)
api_router.include_router(groups.router)
api_router.include_router(usage.router)
api_router.include_router(audit.router)
api_router.include_router(llm_calls.router)
api_router.include_router(limits.router)
api_router.include_router(setup.router)


def create_rest_api() -> FastAPI:
    """The FastAPI app; its handlers find the services on `app.state.services`, set by the gateway's lifespan."""
    api = FastAPI(title="LLM Gateway", version="0.1.0")
    api.add_exception_handler(RequestValidationError, validation_error_handler)
    for database_error in database_errors.HANDLED:
        api.add_exception_handler(database_error, database_errors.database_error_handler)
    api.include_router(api_router)
    api.include_router(ops.router)
    api.include_router(cli_download.router)
    return api
