"""The base of the API's answers as the UI reads them: frozen, typed, and blind to fields the UI does not use."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    """One answer (or one item of a list answer) of the REST API, validated when it arrives."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def list_from(cls, body: Any) -> list[Self]:
        """The items of a list answer (`{"data": [...]}`)."""
        return [cls.model_validate(item) for item in body["data"]]
