"""Talk to a provider's own API from the REST API: check a credential, list the models it offers.

Used by admin actions only (never on the proxy path), so a short-lived httpx client is fine here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway_api.db.models import ProviderKind
from gateway_api.providers.spec import PROVIDERS, join_base_url

if TYPE_CHECKING:
    import httpx

CHECK_TIMEOUT_SECONDS = 10.0
# Anthropic pages its model list; a provider with more than this many pages is not one we talk to.
MAX_PAGES = 20
# The gateway's limit on a model's display name (db.models.Model.display_name).
MAX_DISPLAY_NAME = 200


class UpstreamProblem(Exception):
    """What went wrong talking to the provider, worded for the admin who clicked the button."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class UpstreamModels:
    names: list[str]
    status_code: int
    # The provider's human names by model id, where it gives one (Anthropic does, OpenAI does not).
    display_names: dict[str, str] = field(default_factory=dict)


def auth_headers(kind: ProviderKind | str, credential: str) -> dict[str, str]:
    spec = PROVIDERS[kind]
    return {spec.credential_header: spec.credential_value(credential), **spec.admin_headers}


def list_upstream_models(
    kind: ProviderKind | str, base_url: str, credential: str, timeout: float = CHECK_TIMEOUT_SECONDS
) -> UpstreamModels:
    """GET the provider's model list with its credential; raises UpstreamProblem saying what failed."""
    # Imported here: a serving worker that never runs this admin action stays smaller without httpx.
    import httpx

    url = join_base_url(base_url, "/v1/models")
    names: list[str] = []
    display_names: dict[str, str] = {}
    first_page = dict(PROVIDERS[kind].model_list_params)
    params = first_page
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            for _ in range(MAX_PAGES):
                response = client.get(url, headers=auth_headers(kind, credential), params=params)
                _raise_for_status(response, url)
                page = _parse_page(response, url)
                names.extend(page.names)
                display_names.update(page.display_names)
                if not page.next_after:
                    break
                params = {**first_page, "after_id": page.next_after}
    except httpx.TimeoutException:
        raise UpstreamProblem(f"timed out after {timeout:g}s waiting for {url}") from None
    except httpx.ConnectError:
        raise UpstreamProblem(f"unreachable: could not connect to {url}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise UpstreamProblem(f"the base URL is not usable: {base_url}") from None
    except httpx.HTTPError as exc:
        raise UpstreamProblem(f"connection to {url} failed ({type(exc).__name__})") from None
    return UpstreamModels(names=list(dict.fromkeys(names)), status_code=200, display_names=display_names)


@dataclass(frozen=True)
class _Page:
    names: list[str]
    next_after: str | None
    display_names: dict[str, str] = field(default_factory=dict)


def _display_name(value: object) -> str | None:
    """An upstream display name fit to show: printable, single-spaced, at most MAX_DISPLAY_NAME characters."""
    if not isinstance(value, str):
        return None
    text = " ".join("".join(c for c in value if c.isprintable()).split())[:MAX_DISPLAY_NAME]
    return text or None


def _raise_for_status(response: httpx.Response, url: str) -> None:
    code = response.status_code
    if code == 200:
        return
    # The upstream's own error text is left out on purpose: some providers echo part of the key back.
    if code == 401:
        raise UpstreamProblem("the provider rejected the credential (401): the key is wrong or revoked", code)
    if code == 403:
        raise UpstreamProblem("the credential is not allowed to list models (403)", code)
    if code == 404:
        raise UpstreamProblem(f"no model list at {url} (404): check the base URL", code)
    if code == 429:
        raise UpstreamProblem("the provider is rate limiting this credential (429); try again shortly", code)
    if code >= 500:
        raise UpstreamProblem(f"the provider had an error ({code}); try again later", code)
    raise UpstreamProblem(f"unexpected answer {code} from {url}", code)


def _parse_page(response: httpx.Response, url: str) -> _Page:
    try:
        body = response.json()
    except ValueError:
        raise UpstreamProblem(f"{url} did not answer with JSON; is the base URL a provider API?", 200) from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise UpstreamProblem(f"{url} answered without a model list", 200)
    items = [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]
    names = [str(item["id"]) for item in items]
    display_names = {
        str(item["id"]): shown
        for item in items
        if (shown := _display_name(item.get("display_name"))) is not None and shown != item["id"]
    }
    has_more = isinstance(body, dict) and body.get("has_more") is True
    last_id = body.get("last_id") if has_more else None
    return _Page(
        names=names, next_after=last_id if isinstance(last_id, str) and last_id else None, display_names=display_names
    )
