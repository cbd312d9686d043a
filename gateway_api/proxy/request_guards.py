"""Checks of a proxied request that need no body, made before a byte of it is read."""

from __future__ import annotations

from gateway_api.catalog.snapshot import Snapshot, UserEntry
from gateway_api.providers.names import ProviderName
from gateway_api.proxy.refusal import Refusal
from gateway_api.server.asgi import Scope

_IDENTITY = b"identity"


def refuse_encoded_body(scope: Scope) -> None:
    """A compressed request body is refused (415): the model would be read from bytes the provider decodes into
    something else, and Content-Encoding is not forwarded anyway."""
    for name, value in scope["headers"]:
        if name == b"content-encoding":
            codings = [c.strip().lower() for c in value.split(b",")]
            if any(c and c != _IDENTITY for c in codings):
                raise Refusal(415, "compressed request bodies are not accepted; send the body without Content-Encoding")


class ProviderAccess:
    """Whether a user may call any model of a provider: a key without one is refused before its body is read (a
    30 MiB body sent with a key that has no grant costs one dict look-up). Answers are kept per catalog snapshot."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._answers: dict[tuple[int, str], bool] = {}

    def require_any_grant(self, snapshot: Snapshot, user: UserEntry, provider: ProviderName) -> None:
        if snapshot is not self._snapshot:
            self._snapshot, self._answers = snapshot, {}
        answer = self._answers.get((user.id, provider))
        if answer is None:
            answer = self._answers[(user.id, provider)] = bool(snapshot.granted_models(user, provider))
        if not answer:
            raise Refusal(403, f"user does not have permission to use any {provider} model on this gateway")
