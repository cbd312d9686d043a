"""Helpers for REST API tests: make users and sign them in, collect every response body to grep for secrets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

USER_PASSWORD = "user-password-123"


@dataclass
class RecordingClient:
    """Wraps the TestClient so a test can later assert a secret never appeared in any response."""

    client: TestClient
    bodies: list[str] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        self.bodies.append(response.text)
        self.bodies.extend(f"{k}: {v}" for k, v in response.headers.items())
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def assert_never_returned(self, secret: str) -> None:
        assert secret, "a test must grep for a real secret"
        leaks = [body for body in self.bodies if secret in body]
        assert not leaks, f"secret found in {len(leaks)} response(s): {leaks[0][:200]}"


def make_user(
    client: TestClient | RecordingClient,
    admin_headers: dict[str, str],
    email: str,
    *,
    role: str = "user",
    groups: list[str] | None = None,
    password: str = USER_PASSWORD,
) -> dict[str, Any]:
    response = client.post(
        "/api/users",
        json={"email": email, "password": password, "role": role, "groups": groups or []},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def sign_in(client: TestClient | RecordingClient, email: str, password: str = USER_PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def user_with_headers(
    client: TestClient | RecordingClient, admin_headers: dict[str, str], email: str, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    user = make_user(client, admin_headers, email, **kwargs)
    return user, sign_in(client, email, kwargs.get("password", USER_PASSWORD))


def audit_events(client: TestClient | RecordingClient, admin_headers: dict[str, str], **filters: Any) -> list[dict]:
    response = client.get("/api/audit", params={"limit": 500, **filters}, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def detail_message(response: httpx.Response) -> str:
    """The error text a client shows: FastAPI's `detail` string, or the first validation message."""
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else detail[0]["msg"]
