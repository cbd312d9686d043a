"""The one error of a sign-in that cannot go on."""

from __future__ import annotations


class SsoError(Exception):
    """A sign-in cannot go on; the message is shown to the person signing in (never holds a secret)."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
