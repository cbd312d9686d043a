"""The gateway's own refusal of a proxied call: raised by any step of the handler, answered in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownKey:
    """A key the gateway issued that a refusal is about (revoked, expired, of a deactivated user, without the llm
    scope): the refused call's row names its owner and key instead of a prefix of what was presented."""

    user_id: int
    key_id: int


@dataclass(eq=True)
class Refusal(Exception):
    """A call the gateway answers itself, in the provider's error envelope (with `retry-after` when set).

    Pure helpers (the key reader, the model reader) return one; the handler's steps raise it."""

    status: int
    message: str
    retry_after: float | None = None
    code: str | None = None  # OpenAI's error code, in place of the per-status default
    key: KnownKey | None = None  # for the call log only, never in the answer

    def __post_init__(self) -> None:
        super().__init__(self.message)

    __hash__ = Exception.__hash__
