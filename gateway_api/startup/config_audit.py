"""The config file's changes in the audit trail (actor ``config``): one event per object it created or changed.

The file is applied at every start; an object it leaves as it was gets no event, so the trail shows changes,
not restarts.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from gateway_api.accounts.audit import SystemActor, record_event


def record_config_change(
    session: Session,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    """`<target_type>.create` when `before` is None, `<target_type>.update` when something differs."""
    if before == after:
        return
    action = f"{target_type}.create" if before is None else f"{target_type}.update"
    record_event(session, SystemActor.config, action, target_type, target_id, before=before, after=after)
