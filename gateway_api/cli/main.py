"""The `gateway` command, grouped by noun: serve, login, keys, users, db."""

from __future__ import annotations

import os
import re
import signal
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import col, select

from gateway_api.accounts.api_keys import expiry_from_days, issue_key, revoke_key
from gateway_api.accounts.users import create_user, find_user, set_user_groups, user_group_names
from gateway_api.core.settings import Settings, SettingsError, ensure_secret_key, load_settings
from gateway_api.db.engine import make_engine, session_scope, upgrade_database
from gateway_api.db.models import ApiKey, Role, Scope, User
from gateway_api.security.keys import key_pepper
from gateway_api.startup.bootstrap import prepare
from gateway_api.startup.config_file import ConfigError

app = typer.Typer(help="LLM gateway: serve it, sign in, manage keys and users.", no_args_is_help=True)
keys_app = typer.Typer(help="Gateway API keys (works on the database directly).", no_args_is_help=True)
users_app = typer.Typer(help="Users (works on the database directly).", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _database(settings: Settings) -> Engine:
    engine = make_engine(settings.resolved_database_url)
    upgrade_database(engine)
    return engine


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes (default: one per core).")] = 0,
    config: Annotated[Path | None, typer.Option(help="Declarative YAML config applied at start.")] = None,
) -> None:
    """Serve the REST API and the proxy (no UI): the unit to scale out."""
    import uvicorn

    if config is not None:
        os.environ["GATEWAY_CONFIG"] = str(config)
    settings = _settings()
    try:
        prepare(settings)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    os.environ["GATEWAY_BOOTSTRAP"] = "false"
    # uvicorn re-raises the signal it stopped on once shutdown is done; SIGTERM is the orderly stop of a
    # deployment, so after the graceful drain it must end with status 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.run(
        "gateway_api.app:create_asgi_app",
        factory=True,
        host=host,
        port=port,
        workers=workers or os.cpu_count() or 1,
        loop="uvloop",
        # uvicorn's httptools protocol, sending a response head with the body part after it in one system call.
        http="gateway_api.server.protocol:CombinedWritesHttpProtocol",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )


@app.command()
def login(
    url: Annotated[str, typer.Option(help="The gateway's URL, e.g. http://localhost:8080.")],
    scope: Annotated[Scope, typer.Option(help="llm: call the proxy; ui: a browser session.")] = Scope.llm,
    email: Annotated[str | None, typer.Option(help="Your email (or GATEWAY_EMAIL).")] = None,
    print_token: Annotated[bool, typer.Option("--print-token", help="Print only the new key.")] = False,
    no_expiration: Annotated[bool, typer.Option("--no-expiration", help="A key that never expires.")] = False,
    name: Annotated[str, typer.Option(help="A name for the key.")] = "gateway login",
) -> None:
    """Sign in to a gateway and create a key (password from a prompt or GATEWAY_PASSWORD)."""
    email = email or os.environ.get("GATEWAY_EMAIL") or typer.prompt("Email", err=True)
    password = os.environ.get("GATEWAY_PASSWORD") or typer.prompt("Password", hide_input=True, err=True)
    body = {"email": email, "password": password, "scope": scope.value, "name": name, "no_expiration": no_expiration}
    import httpx  # here, not at the top: `gateway serve` runs this module and its workers never need httpx

    try:
        response = httpx.post(url.rstrip("/") + "/api/auth/login", json=body, timeout=30)
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach {url}: {exc.__class__.__name__}") from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise _fail(f"login failed ({response.status_code}): {detail}")
    token = response.json()["token"]
    if print_token:
        typer.echo(token)
    else:
        typer.echo(f"Signed in as {email}. Your {scope.value} key (shown once):", err=True)
        typer.echo(token)


def parse_duration_days(text: str) -> float:
    """'30d', '12h', '90m' or a bare number of days."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text)
    if not match:
        raise typer.BadParameter("use a number with d, h or m, e.g. 30d")
    amount, unit = float(match.group(1)), match.group(2) or "d"
    days = amount / {"d": 1, "h": 24, "m": 1440}[unit]
    if days <= 0:
        raise typer.BadParameter("must be positive")
    return days


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="Owner's email.")],
    scope: Annotated[list[Scope], typer.Option(help="llm and/or ui; repeat for both.")] = [Scope.llm],  # noqa: B006
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    expires_in: Annotated[str | None, typer.Option(help="e.g. 30d, 12h (default: 7 days).")] = None,
    no_expiration: Annotated[bool, typer.Option("--no-expiration", help="A key that never expires.")] = False,
) -> None:
    """Create a key for a user and print only the key."""
    if expires_in and no_expiration:
        raise _fail("use either --expires-in or --no-expiration")
    settings = _settings()
    days = (
        None if no_expiration else parse_duration_days(expires_in) if expires_in else settings.default_key_expiry_days
    )
    pepper = key_pepper(ensure_secret_key(settings))
    with session_scope(_database(settings)) as session:
        owner = find_user(session, user)
        if owner is None:
            raise _fail(f"no user {user}")
        _, secret = issue_key(session, pepper, owner, set(scope), name=name, expires_at=expiry_from_days(days))
    typer.echo(secret)


def _when(value: datetime | None, never: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else never


@keys_app.command("list")
def keys_list(user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None) -> None:
    """List keys: id, name, prefix, owner, scopes, expiry, last used."""
    settings = _settings()
    with session_scope(_database(settings)) as session:
        query = select(ApiKey, User).join(User, col(User.id) == col(ApiKey.user_id)).order_by(col(ApiKey.id))
        if user:
            query = query.where(User.email == user.strip().lower())
        rows = session.exec(query).all()
    typer.echo(
        f"{'ID':>5}  {'NAME':20}  {'PREFIX':14}  {'OWNER':28}  {'SCOPES':7}  {'EXPIRES':16}  {'LAST USED':16}  STATE"
    )
    for key, owner in rows:
        state = "revoked" if key.revoked_at else "active"
        typer.echo(
            f"{key.id:>5}  {key.name[:20]:20}  {key.prefix:14}  {owner.email[:28]:28}  {key.scopes:7}  "
            f"{_when(key.expires_at, 'never'):16}  {_when(key.last_used_at):16}  {state}"
        )


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's ID (see `gateway keys list`).")]) -> None:
    """Revoke a key; it stops working at once."""
    settings = _settings()
    with session_scope(_database(settings)) as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise _fail(f"no key with id {key_id}")
        revoke_key(session, key)
    typer.echo(f"revoked key {key_id}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email (their login).")],
    role: Annotated[Role, typer.Option(help="admin or user.")] = Role.user,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    group: Annotated[list[str], typer.Option(help="Group to join; repeat for several.")] = [],  # noqa: B006
    password: Annotated[str | None, typer.Option(help="Password (default: GATEWAY_NEW_PASSWORD or a prompt).")] = None,
) -> None:
    """Create a user."""
    password = (
        password
        or os.environ.get("GATEWAY_NEW_PASSWORD")
        or typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    )
    if len(password) < 8:
        raise _fail("the password must be at least 8 characters")
    settings = _settings()
    with session_scope(_database(settings)) as session:
        if find_user(session, email):
            raise _fail(f"user {email} already exists")
        user = create_user(session, email, password, role=role, name=name)
        if group:
            set_user_groups(session, user, group)
    typer.echo(f"created {role.value} {email.strip().lower()}")


@users_app.command("list")
def users_list() -> None:
    """List users with role, state and groups."""
    settings = _settings()
    with session_scope(_database(settings)) as session:
        users = session.exec(select(User).order_by(User.email)).all()
        groups = {u.id: user_group_names(session, u.id or 0) for u in users}
    typer.echo(f"{'ID':>5}  {'EMAIL':32}  {'ROLE':6}  {'STATE':8}  GROUPS")
    for u in users:
        state = "active" if u.active else "inactive"
        typer.echo(f"{u.id:>5}  {u.email[:32]:32}  {u.role.value:6}  {state:8}  {','.join(groups[u.id])}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations."""
    settings = _settings()
    _database(settings)
    typer.echo("database is up to date")


if __name__ == "__main__":
    app()
