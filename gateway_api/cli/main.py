"""The `gateway` command, grouped by noun: serve, login, logout, keys, users, db.

Only typer and this package's light modules are imported here, so `gateway --help` and `gateway login` start fast
and work from `pip install llm-gateway` alone. The commands that need the server (its database, uvicorn) import
`server_commands` when they run; without the server's packages they say how to install them.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from gateway_api.cli.choices import KeyScope, UserRole
from gateway_api.cli.durations import parse_duration_days
from gateway_api.cli.terminal import ask_secret, can_prompt, fail, print_key, say

app = typer.Typer(
    help="LLM gateway: sign in and get keys; serve it, manage keys and users.",
    no_args_is_help=True,
    # Plain help and tracebacks: rich alone would double the start-up time, and its tracebacks print local
    # variables (a password, a key).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Gateway API keys (works on the database directly).", no_args_is_help=True)
users_app = typer.Typer(help="Users (works on the database directly).", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
usage_app = typer.Typer(help="Usage records (works on the database directly).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(usage_app, name="usage")

__all__ = ["app", "parse_duration_days"]


def _server() -> ModuleType:
    try:
        from gateway_api.cli import server_commands
    except ModuleNotFoundError as exc:
        raise fail(
            f"this command needs the gateway server's packages ({exc.name} is missing): "
            "pip install 'llm-gateway[server]'"
        ) from None
    return server_commands


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes (default: one per core).")] = 0,
    config: Annotated[Path | None, typer.Option(help="Declarative YAML config applied at start.")] = None,
) -> None:
    """Serve the REST API and the proxy (no UI): the unit to scale out."""
    _server().serve(host, port, workers, config)


@app.command()
def login(
    url: Annotated[str, typer.Option(help="The gateway's URL, e.g. http://localhost:8080.")],
    scope: Annotated[
        KeyScope, typer.Option(help="llm: call the proxy; api: the REST API (automation); ui: a browser session.")
    ] = KeyScope.llm,
    email: Annotated[str | None, typer.Option(help="Sign in with a password as this email (or GATEWAY_EMAIL).")] = None,
    print_token: Annotated[bool, typer.Option("--print-token", help="Print only the key.")] = False,
    no_expiration: Annotated[bool, typer.Option("--no-expiration", help="A key that never expires.")] = False,
    new: Annotated[bool, typer.Option("--new", help="Mint a fresh key even if the saved one still works.")] = False,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Single sign-on: confirm a code in any browser instead.")
    ] = False,
    name: Annotated[str, typer.Option(help="A name for the key (default: this host and the time).")] = "",
) -> None:
    """Sign in to a gateway and print a key (only the key goes to stdout).

    Reuses the key saved for this URL and scope while it works (--new for a fresh one). With single sign-on the
    browser opens (or, with --no-browser or no browser, a code is confirmed in any browser); otherwise the email
    and password come from a prompt, or from GATEWAY_EMAIL / GATEWAY_PASSWORD.
    """
    from gateway_api.cli import signin

    request = signin.LoginRequest(
        url=url,
        scope=scope.value,
        email=email,
        no_expiration=no_expiration,
        name=name or signin.default_key_name(),
        new=new,
        no_browser=no_browser,
    )
    key, reused = signin.login(request)
    if not print_token:
        what = "Using your saved" if reused else "Signed in. Your new"
        say(f"{what} {scope.value} key ({signin.describe_saved(url, scope.value)}; --new for a fresh one):")
    print_key(key)


@app.command()
def logout(
    url: Annotated[str, typer.Option(help="The gateway's URL.")],
    scope: Annotated[list[KeyScope] | None, typer.Option(help="Only this scope's key (default: all).")] = None,
) -> None:
    """Revoke the keys `gateway login` saved for this gateway, and forget them."""
    from gateway_api.cli import signin

    outcomes = signin.logout(url, [s.value for s in (scope or list(KeyScope))])
    say("\n".join(outcomes) if outcomes else f"no saved key for {url}")


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="Owner's email.")],
    scope: Annotated[list[KeyScope], typer.Option(help="llm, api and/or ui; repeat for several.")] = [KeyScope.llm],  # noqa: B006
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "",
    expires_in: Annotated[str | None, typer.Option(help="e.g. 30d, 12h (default: 7 days).")] = None,
    no_expiration: Annotated[bool, typer.Option("--no-expiration", help="A key that never expires.")] = False,
) -> None:
    """Create a key for a user and print only the key."""
    _server().keys_create(user, [s.value for s in scope], name, expires_in, no_expiration)


@keys_app.command("list")
def keys_list(user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None) -> None:
    """List keys: id, name, prefix, owner, scopes, expiry, last used."""
    _server().keys_list(user)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's ID (see `gateway keys list`).")]) -> None:
    """Revoke a key; it stops working at once."""
    _server().keys_revoke(key_id)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email (their login).")],
    role: Annotated[
        UserRole, typer.Option(help="user, admin or auditor (read-only, reads LLM-call bodies).")
    ] = UserRole.user,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    group: Annotated[list[str], typer.Option(help="Group to join; repeat for several.")] = [],  # noqa: B006
    password: Annotated[str | None, typer.Option(help="Password (default: GATEWAY_NEW_PASSWORD or a prompt).")] = None,
) -> None:
    """Create a user."""
    password = password or os.environ.get("GATEWAY_NEW_PASSWORD")
    if not password:
        if not can_prompt():
            raise fail("no terminal to ask for the password: pass --password or set GATEWAY_NEW_PASSWORD", 2)
        password = ask_secret("Password")
        if ask_secret("Repeat for confirmation") != password:
            raise fail("the two passwords differ")
    _server().users_create(email, role.value, name, group, password)


@users_app.command("list")
def users_list() -> None:
    """List users with role, state and groups."""
    _server().users_list()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations."""
    _server().db_upgrade()


@usage_app.command("replay")
def usage_replay(
    files: Annotated[list[Path], typer.Argument(help="Spool files (spool-*.jsonl), e.g. from another machine.")],
) -> None:
    """Write the usage rows of spool files into the database, each call once; the files are deleted when done."""
    _server().usage_replay(files)


if __name__ == "__main__":
    app()
