"""One module per page; PAGES is every page, for gateway_ui.py to add to the app."""

from gateway_ui.components.layout import Page
from gateway_ui.pages import (
    admin_activity,
    home,
    keys,
    llm_calls,
    login,
    message_policies,
    models,
    policies,
    policy_violations,
    providers,
    usage,
    users,
)

PAGES: tuple[Page, ...] = (
    login.login_page,
    home.home_page,
    models.models_page,
    usage.usage_page,
    llm_calls.llm_calls_page,
    message_policies.message_policies_page,
    policy_violations.policy_violations_page,
    providers.providers_page,
    policies.policies_page,
    users.users_page,
    keys.keys_page,
    admin_activity.admin_activity_page,
)

__all__ = ["PAGES"]
