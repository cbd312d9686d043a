"""Who may hold which key: the scopes that open the REST API, and who may mint keys that never expire.

Least privilege: the ``llm`` key that sits in tool configs and shell profiles opens the proxy only, whatever its
owner's role; the REST API takes browser sessions (``ui``) and keys minted for automation (``api``).
"""

from __future__ import annotations

from gateway_api.core.settings import Settings
from gateway_api.db.models import ApiKey, Role, Scope, User

REST_API_SCOPES = frozenset({Scope.ui, Scope.api})

# The key API mints these; `ui` keys are browser sessions and come only from signing in.
MINTABLE_SCOPES = frozenset({Scope.llm, Scope.api})

REST_API_REFUSAL = (
    "this key cannot use the REST API (it has the llm scope only): sign in, or create a key with scope api"
)


def opens_rest_api(key: ApiKey) -> bool:
    return not REST_API_SCOPES.isdisjoint(key.scope_set)


def may_mint_non_expiring(user: User, settings: Settings) -> bool:
    """Admins always; other users only where GATEWAY_ALLOW_USER_NON_EXPIRING_KEYS is on."""
    return user.role == Role.admin or settings.allow_user_non_expiring_keys


NON_EXPIRING_REFUSAL = "only administrators may create keys that never expire; give an expiry instead"
