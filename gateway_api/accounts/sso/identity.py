"""Who the identity provider says signed in, read from the ID token's claims, and whether the gateway lets them in."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from gateway_api.accounts.sso.errors import SsoError
from gateway_api.core.names import NAME_PATTERN
from gateway_api.core.settings import Settings

log = logging.getLogger("gateway.sso")

# The names groups (and people) may have in the gateway: the one name rule (core/names.py). Keycloak sends full
# paths ("/eng/platform") unless told otherwise: the leading slash goes.
GROUP_NAME = re.compile(NAME_PATTERN)
MAX_GROUP_NAME = 200
# A claim with more groups than this is cut (sorted, so the same claim always keeps the same groups).
MAX_GROUPS = 200
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


@dataclass(frozen=True)
class SsoIdentity:
    subject: str
    email: str
    name: str
    groups: tuple[str, ...]

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


def _person_name(claim: object) -> str:
    """The name claim if it follows the name rule; else none (the account is known by its email)."""
    name = claim.strip() if isinstance(claim, str) else ""
    if name and len(name) <= MAX_GROUP_NAME and GROUP_NAME.match(name):
        return name
    if name:
        log.info("ignored a name claim that is no valid name", extra={"name_length": len(name)})
    return ""


def identity_from_claims(claims: dict[str, Any], settings: Settings) -> SsoIdentity:
    subject = claims.get("sub")
    email = claims.get("email")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SsoError("the identity provider sent no usable subject (sub)")
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        raise SsoError("the identity provider sent no email address: allow the email scope and claim for the gateway")
    if claims.get("email_verified") is False:
        raise SsoError("your email address is not verified at the identity provider", 403)
    return SsoIdentity(
        subject=subject,
        email=email.strip().lower(),
        name=_person_name(claims.get("name")),
        groups=groups_from_claim(claims.get(settings.oidc_groups_claim)),
    )


def groups_from_claim(value: object) -> tuple[str, ...]:
    """The claim's group names that the gateway can hold; others are logged and left out."""
    raw = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    names: set[str] = set()
    for item in raw:
        name = item.strip().lstrip("/") if isinstance(item, str) else ""
        if name and len(name) <= MAX_GROUP_NAME and GROUP_NAME.match(name):
            names.add(name)
        else:
            log.warning(
                "ignored a group from the groups claim that is no valid group name", extra={"group": str(item)[:80]}
            )
    kept = sorted(names)
    if len(kept) > MAX_GROUPS:
        log.warning("the groups claim lists %d groups; only the first %d are kept", len(kept), MAX_GROUPS)
    return tuple(kept[:MAX_GROUPS])


def check_domain(identity: SsoIdentity, settings: Settings) -> None:
    allowed = settings.oidc_allowed_domain_names
    if allowed and identity.domain not in allowed:
        raise SsoError(f"accounts of {identity.domain} may not sign in to this gateway", 403)


def password_sign_in_allowed(settings: Settings, email: str) -> bool:
    """GATEWAY_PASSWORD_LOGIN=false leaves passwords to the break-glass admin alone."""
    if settings.password_login:
        return True
    break_glass = settings.break_glass_admin.strip().lower()
    return bool(break_glass) and email.strip().lower() == break_glass
