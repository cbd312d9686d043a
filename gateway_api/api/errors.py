"""HTTP errors of the REST API, in FastAPI's own shapes, with messages that name the offending field."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def field_error(field: str, message: str, where: str = "body") -> HTTPException:
    """A 422 shaped like FastAPI's validation errors, for checks pydantic cannot do (existence, uniqueness)."""
    return field_errors([(field, message)], where)


def field_errors(problems: Sequence[tuple[str, str]], where: str = "body") -> HTTPException:
    """One 422 naming every (field, message) problem, so a form can show them all at once."""
    detail = [
        {"loc": [where, field], "msg": f"{field}: {message}", "type": "value_error"} for field, message in problems
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)


def not_found(what: str, ident: object) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {ident} not found")


def conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def _field_path(loc: Sequence[object]) -> str:
    # Drop the "body"/"query" prefix: a person reads "email", not "body.email".
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "request"


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body, with each message prefixed by the field it is about (clients often show only msg)."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        # "input" is left out on purpose: what was sent may be a password or a provider credential.
        errors.append(
            {"loc": loc, "msg": f"{_field_path(loc)}: {error.get('msg', 'invalid')}", "type": error.get("type")}
        )
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": jsonable_encoder(errors)})
