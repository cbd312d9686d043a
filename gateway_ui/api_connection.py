"""The UI process's one connection to the gateway REST API.

Reflex creates state instances itself and cannot hand them dependencies, so event handlers reach the API through
this one constant. It holds nobody's data (a session's token is bound per call with `API.as_user`); its
connections are opened per event loop on first use and closed by the lifespan task that gateway_ui.py registers.
"""

from gateway_ui.api import GatewayApi, api_base_url
from gateway_ui.api.browser_hop import BrowserHop

API = GatewayApi(api_base_url(), browser_hop=BrowserHop())
