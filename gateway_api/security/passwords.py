"""Human passwords: argon2 through passlib (slow on purpose)."""

from __future__ import annotations

from typing import cast

from passlib.context import CryptContext

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): passlib's default (100 MiB, 8 lanes) takes so much of a
# small machine per login that a burst of sign-ins becomes a denial of service.
_context = CryptContext(
    schemes=["argon2"],
    deprecated="auto",
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__time_cost=2,
    argon2__parallelism=1,
)

# Verifying against this keeps the timing of "unknown user" equal to "wrong password".
_DUMMY_HASH = _context.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return cast(str, _context.hash(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        _context.verify(password, _DUMMY_HASH)
        return False
    try:
        return cast(bool, _context.verify(password, password_hash))
    except (ValueError, TypeError):
        return False
