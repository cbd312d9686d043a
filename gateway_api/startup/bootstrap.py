"""Everything start-up does before serving: secret key, migrations, declarative config, first admin."""

from __future__ import annotations

import logging
import secrets
import sys

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.accounts.users import create_user
from gateway_api.core.private_files import make_private
from gateway_api.core.settings import Settings, ensure_secret_key
from gateway_api.db.engine import make_engine, session_scope, upgrade_database
from gateway_api.db.models import Role, User
from gateway_api.security.crypto import CredentialCipher
from gateway_api.startup.config_file import apply_config_file

log = logging.getLogger("gateway.bootstrap")


def prepare(settings: Settings) -> tuple[Engine, str]:
    """Open and migrate the database, apply the config file and make sure an admin exists."""
    make_private(settings.data_dir)
    secret_key = ensure_secret_key(settings)
    engine = make_engine(settings.resolved_database_url)
    if settings.bootstrap:
        upgrade_database(engine)
        if settings.config is not None:
            apply_config_file(engine, settings.config, CredentialCipher(secret_key))
        ensure_first_admin(engine, settings)
    return engine, secret_key


def ensure_first_admin(engine: Engine, settings: Settings) -> None:
    """Create the first admin when the gateway has none; a generated password is printed exactly once."""
    with Session(engine) as session:
        if session.exec(select(User.id).where(User.role == Role.admin)).first() is not None:
            return
    password = settings.admin_password
    generated = not password
    if generated:
        password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        create_user(session, settings.admin_email, password, role=Role.admin, name="Administrator")
    if generated:
        # Printed to the terminal once, never logged: it is a secret.
        print(
            f"\n  First admin created: {settings.admin_email}\n  Password (shown once): {password}\n",
            file=sys.stderr,
            flush=True,
        )
    else:
        log.info("first admin created: %s", settings.admin_email)
