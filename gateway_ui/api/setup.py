"""Where the gateway's setup stands (admins): the home page's checklist."""

from __future__ import annotations

from gateway_ui.api.schema import ApiModel


class SetupStatus(ApiModel):
    providers: int
    providers_with_credential: int
    active_models: int  # active models of providers with a credential: callable
    policies: int
    policies_granting: int  # policies that match a callable model
    users_with_access: int
    first_call_at: str | None
