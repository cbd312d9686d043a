"""API Keys page state: list, create (the secret is held only until its dialog closes), revoke."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from gateway_ui import api_client
from gateway_ui.state.api_session import failure_event, session_token, short_timestamp
from gateway_ui.state.auth import AuthState

NO_EXPIRY = "never"
# (value, label): the expiry choices offered when creating a key.
EXPIRY_CHOICES: tuple[tuple[str, str], ...] = (
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    (NO_EXPIRY, "No expiry"),
)
DEFAULT_EXPIRY = "30"


@dataclass(frozen=True)
class KeyRow:
    id: int
    name: str
    owner: str
    prefix: str
    scopes: str
    created: str
    last_used: str
    expires: str
    status: str
    is_this_session: bool  # the key this browser is signed in with


def key_row(key: dict[str, Any], session_token_value: str) -> KeyRow:
    prefix = str(key["prefix"])
    return KeyRow(
        id=int(key["id"]),
        name=str(key["name"]),
        owner=str(key["user_email"]),
        prefix=prefix,
        scopes=", ".join(key["scopes"]),
        created=short_timestamp(key["created_at"]),
        last_used=short_timestamp(key["last_used_at"]),
        expires=short_timestamp(key["expires_at"]),
        status=str(key["status"]),
        is_this_session=bool(session_token_value) and session_token_value.startswith(prefix),
    )


def expiry_days(choice: str) -> int | None:
    """The form's expiry choice as days for the API; None = no expiry."""
    if choice == NO_EXPIRY:
        return None
    return int(choice)


class KeysState(rx.State):
    keys: list[KeyRow] = rx.field(default_factory=list)
    loading: bool = True
    all_users: bool = False
    show_inactive: bool = False

    create_open: bool = False
    new_expiry: str = DEFAULT_EXPIRY
    name_error: str = ""
    expiry_error: str = ""
    form_error: str = ""
    creating: bool = False
    # The one time a key's secret exists outside its owner's hands: cleared when the dialog closes.
    new_secret: str = ""
    new_secret_name: str = ""

    revoke_id: int = 0
    revoke_name: str = ""
    revoke_is_this_session: bool = False
    revoking: bool = False

    @rx.event
    async def load(self):
        self.loading = True
        yield
        auth = await self.get_state(AuthState)
        if not auth.is_admin:
            self.all_users = False
        try:
            keys = await api_client.list_keys(auth.token, all_users=self.all_users, include_inactive=self.show_inactive)
        except api_client.ApiError as exc:
            yield failure_event(exc, "Could not load keys")
            return
        finally:
            self.loading = False
        self.keys = [key_row(key, auth.token) for key in keys]

    @rx.event
    def set_all_users(self, value: bool):
        self.all_users = value
        return KeysState.load

    @rx.event
    def set_show_inactive(self, value: bool):
        self.show_inactive = value
        return KeysState.load

    # -- create --------------------------------------------------------------------------------------

    def _clear_form(self) -> None:
        self.new_expiry = DEFAULT_EXPIRY
        self.name_error = self.expiry_error = self.form_error = ""
        self.new_secret = self.new_secret_name = ""

    @rx.event
    def open_create(self) -> None:
        self._clear_form()
        self.create_open = True

    @rx.event
    def close_create(self) -> None:
        self._clear_form()
        self.create_open = False

    @rx.event
    def set_create_open(self, is_open: bool) -> None:
        if is_open:
            self.open_create()
        else:
            self.close_create()

    @rx.event
    def set_new_expiry(self, value: str) -> None:
        self.new_expiry = value

    @rx.event
    async def create(self, form_data: dict[str, Any]):
        self.name_error = self.expiry_error = self.form_error = ""
        self.creating = True
        yield
        name = str(form_data.get("name", "")).strip()
        try:
            created = await api_client.create_key(await session_token(self), name, expiry_days(self.new_expiry))
        except api_client.ApiError as exc:
            self.name_error = exc.field_errors.get("name", "")
            self.expiry_error = exc.field_errors.get("expires_in_days", "") or exc.field_errors.get("no_expiration", "")
            if not (self.name_error or self.expiry_error):
                self.form_error = exc.message
            yield failure_event(exc, "Could not create the key")
            return
        finally:
            self.creating = False
        self.new_secret = str(created["secret"])
        self.new_secret_name = str(created["name"])
        yield rx.toast.success(f"Key {created['prefix']}… created")
        yield KeysState.load

    # -- revoke --------------------------------------------------------------------------------------

    @rx.event
    def ask_revoke(self, key_id: int, name: str, is_this_session: bool) -> None:
        self.revoke_id = key_id
        self.revoke_name = name
        self.revoke_is_this_session = is_this_session

    @rx.event
    def cancel_revoke(self) -> None:
        self.revoke_id = 0

    @rx.event
    async def confirm_revoke(self):
        self.revoking = True
        yield
        signed_out = self.revoke_is_this_session
        try:
            revoked = await api_client.revoke_key(await session_token(self), self.revoke_id)
        except api_client.ApiError as exc:
            yield failure_event(exc, "Could not revoke the key")
            return
        finally:
            self.revoking = False
            self.revoke_id = 0
        yield rx.toast.success(f"Key {revoked['prefix']}… revoked; it stops working at once")
        # Revoking this browser's own session key signs it out: the guard then sends it to the login page.
        yield AuthState.require_login if signed_out else KeysState.load
