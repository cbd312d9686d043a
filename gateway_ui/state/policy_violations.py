"""Policy Violations page state: the filtered list (filters mirrored in the URL), more pages by cursor, counts by
policy / user / day, and one violation's drawer (its offending content for auditors, a link to its call)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import reflex as rx

from gateway_ui import routes
from gateway_ui.api import ApiError, UserApi
from gateway_ui.api_connection import API
from gateway_ui.state import violation_views as views
from gateway_ui.state.api_session import UiEvent, failure_event
from gateway_ui.state.auth import AuthState
from gateway_ui.state.violation_views import StatLine, ViolationRow

PAGE_SIZE = 50


class PolicyViolationsState(rx.State):
    rows: list[ViolationRow] = rx.field(default_factory=list)
    loading: bool = True
    next_cursor: str = ""
    filters: dict[str, str] = rx.field(default_factory=dict)

    # The filter form's choices: [id, name] pairs.
    policy_choices: list[list[str]] = rx.field(default_factory=list)
    user_choices: list[list[str]] = rx.field(default_factory=list)

    stats_by_policy: list[StatLine] = rx.field(default_factory=list)
    stats_by_user: list[StatLine] = rx.field(default_factory=list)
    stats_by_day: list[StatLine] = rx.field(default_factory=list)

    drawer_open: bool = False
    detail_fields: list[list[str]] = rx.field(default_factory=list)  # (label, value)
    detail_content: str = ""
    content_note: str = ""
    call_href: str = ""

    async def _reader_api(self) -> UserApi | None:
        """Admins and auditors read violations; anyone else sees the page's notice and makes no call."""
        auth = await self.get_state(AuthState)
        return API.as_user(auth.token) if auth.can_read_admin_pages and auth.token else None

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        """on_load: the filters from the URL, then the newest violations under them, the stats and the choices."""
        self.filters = views.filters_from_query(dict(self.router.url.query_parameters))
        self.drawer_open = False
        api = await self._reader_api()
        if api is None:
            return
        self.loading = True
        yield
        try:
            sent = views.api_filters(self.filters)
            page, by_policy, by_user, by_day, policies, users = await asyncio.gather(
                api.violations.list(sent, limit=PAGE_SIZE),
                *(api.violations.stats(by, sent) for by in views.STATS_BY),
                api.message_policies.list(),
                api.users.list(),
            )
        except ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load policy violations")
            return
        self.rows = [views.violation_row(v) for v in page.items]
        self.next_cursor = page.next_cursor or ""
        self.stats_by_policy = views.stat_lines(by_policy, "policy")
        self.stats_by_user = views.stat_lines(by_user, "user")
        self.stats_by_day = views.stat_lines(by_day, "day")
        self.policy_choices = [[str(p.id), p.name] for p in sorted(policies, key=lambda p: p.name.lower())]
        self.user_choices = [[str(u.id), u.email] for u in sorted(users, key=lambda u: u.email)]
        self.loading = False

    @rx.event
    async def more(self) -> AsyncIterator[UiEvent]:
        api = await self._reader_api()
        if api is None or not self.next_cursor:
            return
        try:
            page = await api.violations.list(views.api_filters(self.filters), cursor=self.next_cursor, limit=PAGE_SIZE)
        except ApiError as exc:
            yield failure_event(exc, "Could not load more violations")
            return
        self.rows = [*self.rows, *(views.violation_row(v) for v in page.items)]
        self.next_cursor = page.next_cursor or ""

    @rx.event
    def apply_filters(self, form: dict[str, Any]) -> UiEvent:
        """The form's filters into the URL; the page loads again from it (a shared link shows the same list)."""
        query = views.query_from_filters({key: str(value).strip() for key, value in form.items()})
        return rx.redirect(routes.POLICY_VIOLATIONS + (f"?{query}" if query else ""))

    @rx.event
    def clear_filters(self) -> UiEvent:
        return rx.redirect(routes.POLICY_VIOLATIONS)

    @rx.event
    async def open_violation(self, violation_id: int) -> AsyncIterator[UiEvent]:
        api = await self._reader_api()
        if api is None:
            return
        try:
            detail = await api.violations.get(violation_id)
        except ApiError as exc:
            yield failure_event(exc, "Could not load the violation")
            return
        auth = await self.get_state(AuthState)
        self.detail_fields = views.detail_fields(detail)
        self.detail_content = detail.content or ""
        if not auth.is_auditor:
            self.content_note = "The offending content is shown to auditors only."
        elif detail.content is None:
            self.content_note = "No content was kept for this violation."
        else:
            self.content_note = ""
        self.call_href = views.call_link(detail.call_id)
        self.drawer_open = True

    @rx.event
    def set_drawer_open(self, is_open: bool) -> None:
        self.drawer_open = is_open

    @rx.var
    def has_filters(self) -> bool:
        return bool(self.filters)
