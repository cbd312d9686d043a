"""LLM Calls page state: the filtered list (filters mirrored in the URL), more pages by cursor, one call's drawer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import reflex as rx

from gateway_ui import routes
from gateway_ui.api import ApiError, UserApi
from gateway_ui.api_connection import API
from gateway_ui.state import call_views
from gateway_ui.state.api_session import UiEvent, failure_event
from gateway_ui.state.auth import AuthState
from gateway_ui.state.call_views import CallRow, MessageView
from gateway_ui.state.usage_links import usage_href

PAGE_SIZE = 50


class LlmCallsState(rx.State):
    rows: list[CallRow] = rx.field(default_factory=list)
    loading: bool = True
    next_cursor: str = ""
    filters: dict[str, str] = rx.field(default_factory=dict)

    drawer_open: bool = False
    detail_fields: list[list[str]] = rx.field(default_factory=list)  # (label, value)
    request_headers: list[list[str]] = rx.field(default_factory=list)
    response_headers: list[list[str]] = rx.field(default_factory=list)
    request_messages: list[MessageView] = rx.field(default_factory=list)
    response_messages: list[MessageView] = rx.field(default_factory=list)
    request_body: str = ""
    response_body: str = ""
    bodies_note: str = ""

    # Who the `user` and `key` filters name, as the listed calls name them (the filters themselves are ids).
    filter_user_label: str = ""
    filter_key_label: str = ""

    async def _admin_api(self) -> UserApi | None:
        """Admins and auditors (who alone read the bodies, and follow policy violations here) read the call log."""
        auth = await self.get_state(AuthState)
        return API.as_user(auth.token) if auth.can_read_admin_pages and auth.token else None

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        """on_load: the filters from the URL, then the newest calls under them."""
        self.filters = call_views.filters_from_query(dict(self.router.url.query_parameters))
        self.drawer_open = False
        api = await self._admin_api()
        if api is None:
            return
        self.loading = True
        yield
        try:
            page = await api.llm_calls.list(self.filters, limit=PAGE_SIZE)
        except ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load calls")
            return
        self.rows = [call_views.call_row(call) for call in page.data]
        self.next_cursor = page.next_cursor or ""
        first = page.data[0] if page.data else None
        self.filter_user_label = (first.user_email if first else None) or f"user {self.filters.get('user', '')}"
        self.filter_key_label = (
            first.api_key_name or first.api_key_prefix if first else None
        ) or f"key {self.filters.get('key', '')}"
        self.loading = False
        # A link to one call (from a policy violation) opens its drawer.
        linked = next((call.id for call in page.data if call.call_id and call.call_id == self.filters.get("call")), 0)
        if linked:
            yield LlmCallsState.open_call(linked)

    @rx.event
    async def more(self) -> AsyncIterator[UiEvent]:
        api = await self._admin_api()
        if api is None or not self.next_cursor:
            return
        try:
            page = await api.llm_calls.list(self.filters, cursor=self.next_cursor, limit=PAGE_SIZE)
        except ApiError as exc:
            yield failure_event(exc, "Could not load more calls")
            return
        self.rows = [*self.rows, *(call_views.call_row(call) for call in page.data)]
        self.next_cursor = page.next_cursor or ""

    @rx.event
    def apply_filters(self, form: dict[str, Any]) -> UiEvent:
        """The form's filters into the URL; the page loads again from it (a shared link shows the same calls)."""
        query = call_views.query_from_filters({key: str(value).strip() for key, value in form.items()})
        return rx.redirect(routes.LLM_CALLS + (f"?{query}" if query else ""))

    @rx.event
    def clear_filters(self) -> UiEvent:
        return rx.redirect(routes.LLM_CALLS)

    @rx.event
    def remove_filter(self, name: str) -> UiEvent:
        """A chip's ✕: the same calls without that filter."""
        query = call_views.query_from_filters({key: value for key, value in self.filters.items() if key != name})
        return rx.redirect(routes.LLM_CALLS + (f"?{query}" if query else ""))

    @rx.event
    async def open_call(self, call_id: int) -> AsyncIterator[UiEvent]:
        api = await self._admin_api()
        if api is None:
            return
        try:
            call = await api.llm_calls.get(call_id)
        except ApiError as exc:
            yield failure_event(exc, "Could not load the call")
            return
        self.detail_fields = [
            [label, str(value)]
            for label, value in (
                ("Time", call.created_at), ("User", call.user_email or call.actor or "unknown"),
                ("Key", call.api_key_name or call.api_key_prefix or ""), ("Provider", call.provider),
                ("Model", call.model), ("Request", f"{call.method or ''} {call.path or ''}"),
                ("Status", f"{call.status_code} ({call.outcome})"), ("Refusal reason", call.refusal_reason or ""),
                ("Input tokens", call.input_tokens), ("Output tokens", call.output_tokens),
                ("Cache read / write", f"{call.cache_read_tokens} / {call.cache_write_tokens}"),
                ("Reasoning", f"{call.reasoning_tokens} tokens, effort {call.reasoning_effort or 'not set'}"),
                ("Cost", f"${call.cost_usd:.6f}"),
                ("Duration", f"{call.latency_ms:.0f} ms (first byte {call.ttfb_ms or 0:.0f} ms)"),
                ("Client", call.client), ("Address", call.client_address or ""), ("Session", call.session_id or ""),
                ("Provider request id", call.request_id or ""), ("Gateway call id", call.call_id or ""),
            )
            if value not in ("", None)
        ]  # fmt: skip
        bodies = call.bodies or {}
        request = bodies.get("request") or {}
        response = bodies.get("response") or {}
        self.request_headers = request.get("headers") or []
        self.response_headers = response.get("headers") or []
        request_body = request.get("body")
        response_body = response.get("body")
        self.request_messages = call_views.request_messages((request_body or {}).get("text"))
        self.response_messages = call_views.response_messages(response_body)
        self.request_body = call_views.shown_body(request_body)
        self.response_body = call_views.shown_body(response_body)
        if not call.bodies_readable:
            self.bodies_note = "Bodies are shown to auditors only."
        elif not call.bodies:
            self.bodies_note = "No bodies stored for this call (GATEWAY_LLM_LOG_BODIES is off, or it was refused)."
        else:
            self.bodies_note = ""
        self.drawer_open = True

    @rx.event
    def set_drawer_open(self, is_open: bool) -> None:
        self.drawer_open = is_open

    @rx.var
    def request_copy(self) -> str:
        return self.request_body

    @rx.var
    def has_filters(self) -> bool:
        return bool(self.filters)

    @rx.var
    def usage_href(self) -> str:
        return usage_href(self.filters)

    @rx.var
    def filter_json(self) -> str:
        return json.dumps(self.filters)
