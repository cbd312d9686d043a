"""What the REST API needs for single sign-on, built once per process when it is configured.

The provider client (authlib, httpx) is imported only then: a gateway without single sign-on never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway_api.core.settings import Settings
from gateway_api.security.throttle import FailureThrottle

if TYPE_CHECKING:
    from gateway_api.accounts.sso.provider import OidcProvider

# Sign-ins (and CLI device codes) one client address may begin per minute: each is a row and a provider round trip.
STARTS_PER_MINUTE = 20


@dataclass
class SsoRuntime:
    provider: OidcProvider
    starts: FailureThrottle

    @classmethod
    def from_settings(cls, settings: Settings) -> SsoRuntime | None:
        if not settings.sso_enabled:
            return None
        from gateway_api.accounts.sso.provider import OidcProvider

        return cls(provider=OidcProvider(settings), starts=FailureThrottle(STARTS_PER_MINUTE, 60.0))
