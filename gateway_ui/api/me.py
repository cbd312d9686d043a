"""What the API says about the signed-in user: who they are and which models they may call."""

from __future__ import annotations

from typing import TypedDict

from gateway_ui.api.schema import ApiModel


class CurrentUser(ApiModel):
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# The models answer stays JSON-shaped (typed dicts): the Models page turns it into cards with pure functions
# whose tests are written against the API's JSON.
class MyModel(TypedDict):
    name: str
    display_name: str


class MyProvider(TypedDict):
    kind: str
    base_url: str
    models: list[MyModel]


class MyModels(TypedDict):
    public_url: str  # GATEWAY_PUBLIC_URL, or the address the API was called at when it is not set
    public_url_configured: bool
    providers: list[MyProvider]


class SignInMethods(ApiModel):
    """How one signs in: passwords for everyone (else the break-glass admin only), and single sign-on."""

    password: bool
    sso: bool
