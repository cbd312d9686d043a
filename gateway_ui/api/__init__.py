"""The gateway REST API as the UI uses it: `GatewayApi` (shared connections) and its per-session `UserApi`."""

from gateway_ui.api.client import API_URL_ENV, GatewayApi, UserApi, api_base_url
from gateway_ui.api.errors import ApiError

__all__ = ["API_URL_ENV", "ApiError", "GatewayApi", "UserApi", "api_base_url"]
