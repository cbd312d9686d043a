"""The CLI's HTTP calls to a gateway: a failure to connect becomes one clear line, an error answer its message."""

from __future__ import annotations

from typing import Any

import httpx

from gateway_api.cli.terminal import fail


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {client.base_url}: {exc.__class__.__name__}") from None


def detail_of(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    return detail if isinstance(detail, str) else str(detail)
