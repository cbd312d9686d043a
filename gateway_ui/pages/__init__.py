"""One module per page; importing this package registers every page with Reflex."""

from gateway_ui.pages import home, keys, login, models, policies, providers, usage, users

__all__ = ["home", "keys", "login", "models", "policies", "providers", "usage", "users"]
