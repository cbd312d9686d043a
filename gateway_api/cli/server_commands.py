"""The commands that run the server or work on its database directly. Heavy imports (SQLModel, alembic, uvicorn,
the app) live here, and `main` imports this module only when one of these commands runs."""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import datetime
from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlmodel import col, select

from gateway_api.accounts.api_keys import expiry_from_days, issue_key, revoke_key
from gateway_api.accounts.audit import SystemActor, record_event
from gateway_api.accounts.audit_views import key_view, user_view
from gateway_api.accounts.users import create_user, find_user, set_user_groups, user_group_names
from gateway_api.cli.durations import parse_duration_days
from gateway_api.cli.terminal import fail
from gateway_api.core.names import check_name
from gateway_api.core.settings import Settings, SettingsError, ensure_secret_key, load_settings
from gateway_api.db.engine import make_engine, session_scope, upgrade_database
from gateway_api.db.models import ApiKey, Role, Scope, User
from gateway_api.distribution.cli_wheel import CliWheel, CliWheelUnavailable
from gateway_api.limits.owner import OwnerThread, socket_path
from gateway_api.security.keys import key_pepper
from gateway_api.server.connection_limits import raise_open_file_limit
from gateway_api.startup.bootstrap import prepare
from gateway_api.startup.config_file import ConfigError
from gateway_api.usage.batch_writes import BatchWriter
from gateway_api.usage.spool_replay import Replayed, replay_files

log = logging.getLogger("gateway.cli")


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise fail(str(exc)) from None


def _database(settings: Settings) -> Engine:
    engine = make_engine(settings.resolved_database_url)
    upgrade_database(engine)
    return engine


def serve(host: str, port: int, workers: int, config: Path | None) -> None:
    if config is not None:
        os.environ["GATEWAY_CONFIG"] = str(config)
    settings = _settings()
    try:
        prepare(settings)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    os.environ["GATEWAY_BOOTSTRAP"] = "false"
    raise_open_file_limit()  # before the workers start: they inherit it
    worker_count = workers or os.cpu_count() or 1
    owner = start_counter_owner(settings) if worker_count > 1 and not settings.redis_url else None
    # Build the CLI wheel (GET /cli/...) while the workers start, so the first download does not wait for it.
    threading.Thread(target=warm_cli_wheel, args=(CliWheel(settings.data_dir),), daemon=True).start()
    # uvicorn re-raises the signal it stopped on once shutdown is done; SIGTERM is the orderly stop of a
    # deployment, so after the graceful drain it must end with status 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        _run_uvicorn(settings, host, port, worker_count)
    finally:
        if owner is not None:
            owner.stop()


def start_counter_owner(settings: Settings) -> OwnerThread:
    """Without Redis, the workers of one machine share their limit counters and sign-in throttles through this
    process (gateway_api/limits/owner.py); each worker finds its socket in GATEWAY_LIMITS_SOCKET."""
    owner = OwnerThread(socket_path(settings.data_dir.resolve()))
    owner.start()
    os.environ["GATEWAY_LIMITS_SOCKET"] = str(owner.path)
    return owner


def _run_uvicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "gateway_api.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # uvicorn's httptools protocol, sending a response head with the body part after it in one system call.
        http="gateway_api.server.protocol:CombinedWritesHttpProtocol",
        lifespan="on",
        access_log=False,
        # The gateway reads X-Forwarded-For itself, believing only GATEWAY_TRUSTED_PROXIES (security/forwarding.py);
        # uvicorn's own rewriting would believe any loopback peer.
        proxy_headers=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )


def warm_cli_wheel(wheel: CliWheel) -> None:
    try:
        wheel.path()
    except CliWheelUnavailable as exc:
        log.warning("the CLI wheel will not be served: %s", exc)


def keys_create(user: str, scopes: list[str], name: str, expires_in: str | None, no_expiration: bool) -> None:
    if expires_in and no_expiration:
        raise fail("use either --expires-in or --no-expiration")
    _check_names([("name", name, True)])
    settings = _settings()
    days = (
        None if no_expiration else parse_duration_days(expires_in) if expires_in else settings.default_key_expiry_days
    )
    pepper = key_pepper(ensure_secret_key(settings))
    with session_scope(_database(settings)) as session:
        owner = find_user(session, user)
        if owner is None:
            raise fail(f"no user {user}")
        scope_set = {Scope(s) for s in scopes}
        key, secret = issue_key(session, pepper, owner, scope_set, name=name, expires_at=expiry_from_days(days))
        record_event(session, SystemActor.cli, "key.create", "api_key", key.id, after=key_view(key, owner.email))
    typer.echo(secret)


def _when(value: datetime | None, never: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else never


def keys_list(user: str | None) -> None:
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


def keys_revoke(key_id: int) -> None:
    settings = _settings()
    with session_scope(_database(settings)) as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise fail(f"no key with id {key_id}")
        owner = session.get(User, key.user_id)
        owner_email = owner.email if owner is not None else ""
        before = key_view(key, owner_email)
        if key.revoked_at is None:
            revoke_key(session, key)
            after = key_view(key, owner_email)
            record_event(session, SystemActor.cli, "key.revoke", "api_key", key.id, before=before, after=after)
    typer.echo(f"revoked key {key_id}")


def users_create(email: str, role: str, name: str, groups: list[str], password: str) -> None:
    if len(password) < 8:
        raise fail("the password must be at least 8 characters")
    _check_names([("name", name, True), *(("group", group, False) for group in groups)])
    settings = _settings()
    with session_scope(_database(settings)) as session:
        if find_user(session, email):
            raise fail(f"user {email} already exists")
        user = create_user(session, email, password, role=Role(role), name=name)
        if groups:
            set_user_groups(session, user, groups)
        session.flush()
        record_event(session, SystemActor.cli, "user.create", "user", user.id, after=user_view(session, user))
    typer.echo(f"created {role} {email.strip().lower()}")


def _check_names(names: list[tuple[str, str, bool]]) -> None:
    """The names the CLI writes follow the API's one rule (core/names.py): (what, value, may be empty)."""
    for what, value, optional in names:
        try:
            check_name(value, what, optional=optional)
        except ValueError as exc:
            raise fail(str(exc)) from None


def users_list() -> None:
    settings = _settings()
    with session_scope(_database(settings)) as session:
        users = session.exec(select(User).order_by(col(User.email))).all()
        groups = {u.id: user_group_names(session, u.id or 0) for u in users}
    typer.echo(f"{'ID':>5}  {'EMAIL':32}  {'ROLE':6}  {'STATE':8}  GROUPS")
    for u in users:
        state = "active" if u.active else "inactive"
        typer.echo(f"{u.id:>5}  {u.email[:32]:32}  {u.role.value:6}  {state:8}  {','.join(groups[u.id])}")


def db_upgrade() -> None:
    _database(_settings())
    typer.echo("database is up to date")


def usage_replay(files: list[Path]) -> None:
    """Replay spool files (grouped per process, as the gateway does; spool_replay.py) and say what was written."""
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise fail(f"no such file: {', '.join(missing)}")
    engine = _database(_settings())
    writer = BatchWriter(engine)
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in files:
        groups.setdefault((path.parent.resolve(), path.name.rsplit("-", 1)[0]), []).append(path)
    total = Replayed()
    for paths in groups.values():
        replayed = replay_files(paths, writer)
        if replayed.waiting:
            raise fail("the database cannot be reached; nothing was lost, try again")
        if not replayed.files:
            raise fail(f"{paths[0].name} is in use by a running gateway (it replays its own spool)")
        total.add(replayed)
    typer.echo(
        f"{total.written} usage rows written ({total.crashed} of calls a crash interrupted), "
        f"{total.skipped} already stored, {total.dead} refused (dead letters)"
    )
