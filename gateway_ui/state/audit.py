"""The Admin Activity page's state: filters mirrored in the URL, a page of events, cursor paging back and forth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import reflex as rx

from gateway_ui import routes
from gateway_ui.api import ApiError
from gateway_ui.api.audit import AuditEvent
from gateway_ui.state.api_session import UiEvent, failure_event, session_api, short_timestamp
from gateway_ui.state.auth import AuthState

# The URL's parameters are the API's own (from/to as days, sent as the day's start in UTC).
FILTERS = ("actor", "action", "target", "from", "to")
PAGE_SIZE = 50


@dataclass
class AuditRow:
    id: int = 0
    when: str = ""
    actor: str = ""
    action: str = ""
    target: str = ""
    changes: str = ""  # before → after, one line per changed field


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value


def describe_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """What changed, readable: `field: old → new` for each field that differs (all of `after` for a creation)."""
    before, after = before or {}, after or {}
    lines = []
    for field in dict.fromkeys([*after, *before]):
        old, new = before.get(field), after.get(field)
        if field in before and field in after and old == new:
            continue
        if field not in before:
            lines.append(f"{field}: {_value(new)}")
        elif field not in after:
            lines.append(f"{field}: {_value(old)} → (gone)")
        else:
            lines.append(f"{field}: {_value(old)} → {_value(new)}")
    return "\n".join(lines)


def audit_row(event: AuditEvent) -> AuditRow:
    target = event.target_type + (f" {event.target_id}" if event.target_id else "")
    return AuditRow(
        id=event.id,
        when=short_timestamp(event.created_at),
        actor=event.actor_email or "(unknown)",
        action=event.action,
        target=target,
        changes=describe_changes(event.before, event.after),
    )


def api_filters(query: dict[str, str]) -> dict[str, str]:
    """The URL's filters as API parameters: a day `to` is inclusive on the page, so the API gets the next day."""
    params = {name: query.get(name, "").strip() for name in FILTERS}
    for name in ("from", "to"):
        day = params[name]
        if day and (len(day) != 10 or not day.replace("-", "").isdigit()):
            params[name] = ""
    if params["from"]:
        params["from"] = f"{params['from']}T00:00:00+00:00"
    if params["to"]:
        params["to"] = f"{params['to']}T23:59:59.999999+00:00"
    return params


class AuditState(rx.State):
    actor: str = ""
    action: str = ""
    target: str = ""
    from_day: str = ""
    to_day: str = ""
    rows: list[AuditRow] = rx.field(default_factory=list)
    total: int = 0
    loading: bool = True
    # Cursors of the pages shown so far ("" for the first), so Previous can go back; the next page's cursor.
    page_cursors: list[str] = rx.field(default_factory=list)
    next_cursor: str = ""

    @rx.var
    def page_number(self) -> int:
        return len(self.page_cursors)

    @rx.var
    def has_previous(self) -> bool:
        return len(self.page_cursors) > 1

    @rx.var
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    def _query(self) -> dict[str, str]:
        values = (self.actor, self.action, self.target, self.from_day, self.to_day)
        return {name: value.strip() for name, value in zip(FILTERS, values, strict=True) if value.strip()}

    def _url_update(self) -> rx.event.EventSpec:
        query = urlencode(self._query(), safe=":@")
        target = routes.ADMIN_ACTIVITY + (f"?{query}" if query else "")
        return rx.call_script(f"window.history.replaceState(window.history.state, '', {json.dumps(target)})")

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        """on_load: the filters from the URL, then the first page."""
        query = {name: str(value) for name, value in self.router.url.query_parameters.items()}
        self.actor, self.action, self.target = query.get("actor", ""), query.get("action", ""), query.get("target", "")
        self.from_day, self.to_day = query.get("from", ""), query.get("to", "")
        async for update in self._fetch(""):
            yield update

    async def _fetch(self, cursor: str, *, back: bool = False) -> AsyncIterator[UiEvent]:
        auth = await self.get_state(AuthState)
        if not auth.can_read_admin_pages:  # the page shows the admins-only notice; the API would refuse anyway
            return
        self.loading = True
        yield None
        api = await session_api(self)
        try:
            page = await api.audit.list(api_filters(self._query()), cursor=cursor, limit=PAGE_SIZE)
        except ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load the admin activity")
            return
        if not cursor:
            self.page_cursors = [""]
        elif not back:
            self.page_cursors = [*self.page_cursors, cursor]
        self.rows = [audit_row(event) for event in page.data]
        self.total = page.total
        self.next_cursor = page.next_cursor or ""
        self.loading = False

    @rx.event
    async def apply_filters(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        self.actor = str(form.get("actor", ""))
        self.action = str(form.get("action", ""))
        self.target = str(form.get("target", ""))
        self.from_day = str(form.get("from", ""))
        self.to_day = str(form.get("to", ""))
        yield self._url_update()
        async for update in self._fetch(""):
            yield update

    @rx.event
    async def clear_filters(self) -> AsyncIterator[UiEvent]:
        self.actor = self.action = self.target = self.from_day = self.to_day = ""
        yield self._url_update()
        async for update in self._fetch(""):
            yield update

    @rx.event
    async def next_page(self) -> AsyncIterator[UiEvent]:
        if self.next_cursor:
            async for update in self._fetch(self.next_cursor):
                yield update

    @rx.event
    async def previous_page(self) -> AsyncIterator[UiEvent]:
        if len(self.page_cursors) > 1:
            self.page_cursors = self.page_cursors[:-1]
            async for update in self._fetch(self.page_cursors[-1], back=True):
                yield update
