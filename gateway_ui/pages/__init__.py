"""One module per page; importing this package registers every page with Reflex."""

from gateway_ui.pages import home, login, models, usage

__all__ = ["home", "login", "models", "usage"]
