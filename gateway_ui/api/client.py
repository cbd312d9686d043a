"""Every call the UI makes to the gateway REST API goes through `GatewayApi` and the `UserApi` views it hands out.

The UI backend runs in the same process as the API, but still talks to it over HTTP so the UI only ever sees what
any other API client sees (same auth, same validation, same errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from gateway_ui.api.audit import AuditApi
from gateway_ui.api.browser_hop import BrowserHop
from gateway_ui.api.errors import ApiError
from gateway_ui.api.keys import KeysApi
from gateway_ui.api.limits import LimitsApi
from gateway_ui.api.llm_calls import LlmCallsApi
from gateway_ui.api.me import CurrentUser, MyModels, SignInMethods
from gateway_ui.api.message_policies import MessagePoliciesApi, ViolationsApi
from gateway_ui.api.policies import PoliciesApi
from gateway_ui.api.providers import ModelsApi, ProvidersApi
from gateway_ui.api.setup import SetupStatus
from gateway_ui.api.usage import UsageApi
from gateway_ui.api.users import GroupsApi, UsersApi

API_URL_ENV = "GATEWAY_UI_API_URL"
DEFAULT_API_URL = "http://127.0.0.1:8080"
REQUEST_TIMEOUT_SECONDS = 15.0

QueryParams = Mapping[str, Any]


def api_base_url() -> str:
    """Where the REST API lives: the same server as the UI unless the environment says otherwise."""
    return os.environ.get(API_URL_ENV, DEFAULT_API_URL).rstrip("/")


class GatewayApi:
    """The REST API at `base_url`, over one pooled httpx.AsyncClient per event loop.

    An AsyncClient's connections belong to the event loop that opened them, so each loop that calls the API (one
    per Reflex backend worker, one per async test) gets its own client on first use; `aclose` closes the running
    loop's. Nothing here belongs to a user: `as_user` gives the per-session view that carries a token.
    """

    def __init__(
        self, base_url: str, *, timeout_seconds: float = REQUEST_TIMEOUT_SECONDS, browser_hop: BrowserHop | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout_seconds = timeout_seconds
        # Passes the browser's address on the sign-ins (throttled per browser); None: the API sees this process.
        self._browser_hop = browser_hop
        # Weak keys: a loop that ends without `aclose` (a finished test) takes its client along.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout_seconds)
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the running loop's connections; a later call opens new ones."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    @contextlib.asynccontextmanager
    async def closed_at_shutdown(self) -> AsyncIterator[None]:
        """A Reflex lifespan task: the worker's connections are closed when its server stops."""
        try:
            yield
        finally:
            await self.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        token: str = "",
        json: Any = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> httpx.Response:
        """One request; an error answer, or no answer at all, raises ApiError."""
        request_headers = dict(headers or {})
        if token:
            request_headers["Authorization"] = f"Bearer {token}"
        timeout = httpx.USE_CLIENT_DEFAULT if timeout_seconds is None else timeout_seconds
        try:
            response = await self._client().request(
                method, path, headers=request_headers, json=json, params=params, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise ApiError.unreachable(exc) from exc
        if response.is_error:
            raise ApiError.from_response(response)
        return response

    async def login(self, email: str, password: str, peer: str = "", forwarded_for: str = "") -> str:
        """Exchange email and password for a UI session token.

        ``peer`` and ``forwarded_for``: the browser's websocket peer and X-Forwarded-For, so failed sign-ins are
        throttled per browser rather than for everyone behind the UI server (browser_hop.py).
        """
        response = await self.send(
            "POST",
            "/api/auth/login",
            json={"email": email, "password": password},
            headers=self._browser_headers(peer, forwarded_for),
        )
        return str(response.json()["token"])

    def _browser_headers(self, peer: str, forwarded_for: str) -> dict[str, str] | None:
        return self._browser_hop.headers(peer, forwarded_for) if self._browser_hop and peer else None

    async def sign_in_methods(self) -> SignInMethods:
        """Whether passwords are open to everyone and whether single sign-on is configured."""
        return SignInMethods.model_validate((await self.send("GET", "/api/auth/methods")).json())

    async def exchange_sso_code(self, code: str, peer: str = "", forwarded_for: str = "") -> str:
        """Turn the one-time code a single sign-on ended with into a UI session token (throttled per browser)."""
        headers = self._browser_headers(peer, forwarded_for)
        response = await self.send("POST", "/api/auth/oidc/exchange", json={"code": code}, headers=headers)
        return str(response.json()["token"])

    def as_user(self, token: str) -> UserApi:
        return UserApi(self, token)


class UserApi:
    """The API as the holder of one session token: every call carries it, grouped by resource."""

    def __init__(self, api: GatewayApi, token: str) -> None:
        self._api = api
        self.token = token
        self.keys = KeysApi(self)
        self.limits = LimitsApi(self)
        self.users = UsersApi(self)
        self.groups = GroupsApi(self)
        self.usage = UsageApi(self)
        self.providers = ProvidersApi(self)
        self.models = ModelsApi(self)
        self.policies = PoliciesApi(self)
        self.audit = AuditApi(self)
        self.llm_calls = LlmCallsApi(self)
        self.message_policies = MessagePoliciesApi(self)
        self.violations = ViolationsApi(self)

    async def call(self, method: str, path: str, *, json: Any = None, params: QueryParams | None = None) -> Any:
        """The answer's JSON body; None when it has none."""
        response = await self._api.send(method, path, token=self.token, json=json, params=params)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def download(self, path: str, *, params: QueryParams, timeout_seconds: float) -> bytes:
        """The answer's raw bytes, for exports that take longer than an ordinary call."""
        response = await self._api.send("GET", path, token=self.token, params=params, timeout_seconds=timeout_seconds)
        return response.content

    async def current_user(self) -> CurrentUser:
        """Who the token belongs to; raises ApiError(401) when it is missing, expired or revoked."""
        return CurrentUser.model_validate(await self.call("GET", "/api/me"))

    async def logout(self) -> None:
        """Revoke the session token on the server, so a copied token stops working too."""
        await self.call("POST", "/api/auth/logout")

    async def logout_other_sessions(self) -> int:
        """End this user's other browser sessions; returns how many there were."""
        return int((await self.call("POST", "/api/auth/logout-others"))["ended"])

    async def setup_status(self) -> SetupStatus:
        """Admins: how far the gateway's setup has come (providers, models, policies, users, first call)."""
        return SetupStatus.model_validate(await self.call("GET", "/api/setup"))

    async def my_models(self) -> MyModels:
        """The models this user may call, by provider, with the base URLs to call them at."""
        return await self.call("GET", "/api/me/models")
