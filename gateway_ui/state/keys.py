"""API Keys page state: keys and browser sessions listed apart, a page at a time; create (the secret is held only
until its dialog closes), revoke, and signing out the other sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.api.keys import API_SCOPE, LLM_SCOPE, ApiKey
from gateway_ui.state.api_session import UiEvent, failure_event, session_api, short_timestamp
from gateway_ui.state.auth import AuthState
from gateway_ui.state.base import ConfirmState, FormState
from gateway_ui.state.unpickled import without_secrets

NO_EXPIRY = "never"
# (value, label): the expiry choices offered when creating a key.
EXPIRY_CHOICES: tuple[tuple[str, str], ...] = (
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    (NO_EXPIRY, "No expiry"),
)
DEFAULT_EXPIRY = "30"
# (value, label): what a new key may open (key_rules.py on the API side).
KEY_SCOPE_CHOICES: tuple[tuple[str, str], ...] = (
    (LLM_SCOPE, "Call models (llm)"),
    (API_SCOPE, "Automate the REST API (api)"),
)
KEY_SCOPES = frozenset(value for value, _ in KEY_SCOPE_CHOICES)
# Request fields whose validation messages the create form shows by its inputs.
CREATE_FORM_FIELDS = ("name", "expires_in_days", "no_expiration")
PAGE_SIZE = 20
SESSION_SCOPE = "ui"


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
    is_session: bool  # a browser session (signing in made it) rather than a key made for a tool


def key_row(key: ApiKey, session_token_value: str) -> KeyRow:
    return KeyRow(
        id=key.id,
        name=key.name,
        owner=key.user_email,
        prefix=key.prefix,
        scopes=", ".join(key.scopes),
        created=short_timestamp(key.created_at),
        last_used=short_timestamp(key.last_used_at),
        expires=short_timestamp(key.expires_at),
        status=key.status,
        is_this_session=bool(session_token_value) and session_token_value.startswith(key.prefix),
        is_session=SESSION_SCOPE in key.scopes,
    )


def page_of(rows: list[KeyRow], page: int) -> list[KeyRow]:
    start = max(page - 1, 0) * PAGE_SIZE
    return rows[start : start + PAGE_SIZE]


def page_count(rows: list[KeyRow]) -> int:
    return max(1, -(-len(rows) // PAGE_SIZE))


def expiry_days(choice: str) -> int | None:
    """The form's expiry choice as days for the API; None = no expiry."""
    if choice == NO_EXPIRY:
        return None
    return int(choice)


class KeysState(FormState, ConfirmState, rx.State):
    """The create dialog is the form; revoking a key is the confirmation."""

    keys: list[KeyRow] = rx.field(default_factory=list)  # keys made for tools and scripts
    sessions: list[KeyRow] = rx.field(default_factory=list)  # browser sign-ins
    key_page: int = 1
    session_page: int = 1
    loading: bool = True
    all_users: bool = False
    show_inactive: bool = False
    signing_out_others: bool = False

    new_expiry: str = DEFAULT_EXPIRY
    new_scope: str = LLM_SCOPE
    # The one time a key's secret exists outside its owner's hands: cleared when the dialog closes.
    new_secret: str = ""
    new_secret_name: str = ""

    revoke_is_this_session: bool = False
    revoke_is_session: bool = False
    confirm_failure: ClassVar[str] = "Could not revoke the key"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without new_secret (state/unpickled.py)."""
        return without_secrets(super().__getstate__(), ("new_secret",))

    @rx.var
    def expiry_error(self) -> str:
        return self.field_errors.get("expires_in_days", "") or self.field_errors.get("no_expiration", "")

    @rx.var
    def visible_keys(self) -> list[KeyRow]:
        return page_of(self.keys, self.key_page)

    @rx.var
    def key_pages(self) -> int:
        return page_count(self.keys)

    @rx.var
    def visible_sessions(self) -> list[KeyRow]:
        return page_of(self.sessions, self.session_page)

    @rx.var
    def session_pages(self) -> int:
        return page_count(self.sessions)

    @rx.var
    def other_sessions(self) -> int:
        """This user's other live sessions: what "sign out other sessions" would end."""
        return sum(1 for s in self.sessions if s.status == "active" and not s.is_this_session and s.owner == self._me)

    _me: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        self.loading = True
        yield
        auth = await self.get_state(AuthState)
        if not auth.is_admin:
            self.all_users = False
        api = await session_api(self)
        try:
            keys = await api.keys.list(all_users=self.all_users, include_inactive=self.show_inactive)
        except ApiError as exc:
            yield failure_event(exc, "Could not load keys")
            return
        finally:
            self.loading = False
        rows = [key_row(key, auth.token) for key in keys]
        self._me = auth.user_email
        self.keys = [row for row in rows if not row.is_session]
        # This browser's own session first: the one whose "last used" is now.
        self.sessions = sorted((row for row in rows if row.is_session), key=lambda row: not row.is_this_session)
        self.key_page = min(self.key_page, page_count(self.keys))
        self.session_page = min(self.session_page, page_count(self.sessions))

    @rx.event
    def set_key_page(self, page: int) -> None:
        self.key_page = max(1, min(int(page), page_count(self.keys)))

    @rx.event
    def set_session_page(self, page: int) -> None:
        self.session_page = max(1, min(int(page), page_count(self.sessions)))

    @rx.event
    async def sign_out_other_sessions(self) -> AsyncIterator[UiEvent]:
        self.signing_out_others = True
        yield
        api = await session_api(self)
        try:
            ended = await api.logout_other_sessions()
        except ApiError as exc:
            yield failure_event(exc, "Could not sign out the other sessions")
            return
        finally:
            self.signing_out_others = False
        yield rx.toast.success(f"Signed out {ended} other session{'' if ended == 1 else 's'}")
        yield KeysState.load

    @rx.event
    def set_all_users(self, value: bool) -> UiEvent:
        self.all_users = value
        return KeysState.load

    @rx.event
    def set_show_inactive(self, value: bool) -> UiEvent:
        self.show_inactive = value
        return KeysState.load

    # -- create --------------------------------------------------------------------------------------

    def _clear_inputs(self) -> None:
        self.new_expiry = DEFAULT_EXPIRY
        self.new_scope = LLM_SCOPE
        self.new_secret = self.new_secret_name = ""

    @rx.event
    def open_create(self) -> None:
        self._clear_inputs()
        self._open_form()

    @rx.event
    def set_new_scope(self, value: str) -> None:
        self.new_scope = value if value in KEY_SCOPES else LLM_SCOPE

    @rx.event
    def set_new_expiry(self, value: str) -> None:
        self.new_expiry = value
        self._forget_error("expires_in_days")
        self._forget_error("no_expiration")

    @rx.event
    async def create(self, form_data: dict[str, Any]) -> AsyncIterator[UiEvent]:
        self._start_submit()
        yield
        name = str(form_data.get("name", "")).strip()
        api = await session_api(self)
        try:
            created = await api.keys.create(name, expiry_days(self.new_expiry), self.new_scope)
        except ApiError as exc:
            yield self._form_failed(exc, CREATE_FORM_FIELDS)
            return
        finally:
            self.submitting = False
        self.new_secret = created.secret
        self.new_secret_name = created.name
        yield rx.toast.success(f"Key {created.prefix}… created")
        yield KeysState.load

    # -- revoke --------------------------------------------------------------------------------------

    @rx.event
    def ask_revoke(self, key_id: int, name: str, is_this_session: bool, is_session: bool) -> None:
        self._ask_confirm(key_id, name)
        self.revoke_is_this_session = is_this_session
        self.revoke_is_session = is_session

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        signed_out = self.revoke_is_this_session
        api = await session_api(self)
        revoked = await api.keys.revoke(item_id)
        # Revoking this browser's own session key signs it out: the guard then sends it to the login page.
        done = "signed out" if self.revoke_is_session else "revoked; it stops working at once"
        return [
            rx.toast.success(f"{'Session' if self.revoke_is_session else 'Key'} {revoked.prefix}… {done}"),
            AuthState.require_login if signed_out else KeysState.load,
        ]
