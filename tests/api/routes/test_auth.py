import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def login(client: TestClient, password: str = ADMIN_PASSWORD, **extra: object):
    return client.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": password, **extra})


def test_login_me_logout(api_client: TestClient) -> None:
    response = login(api_client)
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("gwk_") and body["scope"] == "ui" and body["expires_at"]
    headers = {"Authorization": f"Bearer {body['token']}"}
    me = api_client.get("/api/me", headers=headers)
    assert me.status_code == 200 and me.json()["email"] == ADMIN_EMAIL and me.json()["role"] == "admin"
    assert api_client.post("/api/auth/logout", headers=headers).status_code == 204
    assert api_client.get("/api/me", headers=headers).status_code == 401


def test_x_api_key_header_is_accepted(api_client: TestClient) -> None:
    token = login(api_client).json()["token"]
    assert api_client.get("/api/me", headers={"x-api-key": token}).status_code == 200


def test_wrong_credentials_are_401_json(api_client: TestClient) -> None:
    response = login(api_client, password="wrong-password")
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong email or password"}
    unknown = api_client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "whatever"})
    assert unknown.status_code == 401 and unknown.json() == response.json()


def test_repeated_failures_are_refused_with_429(api_client: TestClient) -> None:
    for _ in range(5):
        assert login(api_client, password="wrong-password").status_code == 401
    refused = login(api_client)  # even the right password waits out the window
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer gwk_not-a-real-key"}, {"Authorization": "Basic x"}])
def test_me_requires_a_valid_token(api_client: TestClient, headers: dict[str, str]) -> None:
    assert api_client.get("/api/me", headers=headers).status_code == 401


def test_no_expiration_llm_key_from_login(api_client: TestClient) -> None:
    body = login(api_client, scope="llm", no_expiration=True).json()
    assert body["scope"] == "llm" and body["expires_at"] is None


def test_bad_login_body_is_422_naming_the_field(api_client: TestClient) -> None:
    response = api_client.post("/api/auth/login", json={"email": ADMIN_EMAIL})
    assert response.status_code == 422
    assert any(error["loc"][-1] == "password" for error in response.json()["detail"])


def test_secrets_never_reach_the_logs(api_client: TestClient, capfd: pytest.CaptureFixture[str]) -> None:
    token = login(api_client).json()["token"]
    api_client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    login(api_client, password="a-wrong-password-xyz")
    out, err = capfd.readouterr()
    for secret in (token, ADMIN_PASSWORD, "a-wrong-password-xyz"):
        assert secret not in out + err


def test_rotating_x_forwarded_for_from_an_untrusted_peer_buys_nothing(live_gateway) -> None:
    """Issue 15: 30 of 30 guesses went through when the first X-Forwarded-For entry of a loopback peer was believed."""
    import httpx

    url = f"{live_gateway.url}/api/auth/login"
    answers = [
        httpx.post(
            url,
            json={"email": ADMIN_EMAIL, "password": f"guess-{n}"},
            headers={"X-Forwarded-For": f"203.0.113.{n}, 10.0.0.{n}"},
            timeout=30,
        ).status_code
        for n in range(30)
    ]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    proxied = httpx.get(f"{live_gateway.url}/api/me", headers={"X-Forwarded-For": "198.51.100.2"}, timeout=30)
    assert proxied.status_code == 429, "the REST API's token throttle keys on the same address"


def test_sign_in_and_out_are_audited(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    token = login(api_client).json()["token"]
    api_client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    events = api_client.get("/api/audit", headers=admin_headers, params={"target_type": "session"}).json()
    actions = [event["action"] for event in events["data"]]
    assert "session.create" in actions and "session.revoke" in actions
    assert token not in repr(events)


def test_signing_out_other_sessions_keeps_this_one_and_every_other_key(api_client: TestClient) -> None:
    this, other, third = (login(api_client).json()["token"] for _ in range(3))
    llm_key = login(api_client, scope="llm").json()["token"]
    headers = {"Authorization": f"Bearer {this}"}

    response = api_client.post("/api/auth/logout-others", headers=headers)

    assert response.status_code == 200 and response.json() == {"ended": 2}
    assert api_client.get("/api/me", headers=headers).status_code == 200
    for ended in (other, third):
        assert api_client.get("/api/me", headers={"Authorization": f"Bearer {ended}"}).status_code == 401
    keys = api_client.get("/api/keys", params={"include_inactive": True}, headers=headers).json()["data"]
    assert sorted((k["scopes"], k["status"]) for k in keys) == [
        (["llm"], "active"),
        (["ui"], "active"),
        (["ui"], "revoked"),
        (["ui"], "revoked"),
    ]
    assert llm_key.startswith("gwk_")
    assert api_client.post("/api/auth/logout-others", headers=headers).json() == {"ended": 0}
    assert api_client.post("/api/auth/logout-others").status_code == 401


def test_rest_calls_record_a_sessions_last_use_at_most_once_a_minute(api_client: TestClient) -> None:
    token = login(api_client).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    def my_session() -> dict:
        [key] = [k for k in api_client.get("/api/keys", headers=headers).json()["data"] if k["scopes"] == ["ui"]]
        return key

    first = my_session()["last_used_at"]
    assert first is not None, "the call that lists the keys is itself a use"
    api_client.get("/api/me", headers=headers)
    assert my_session()["last_used_at"] == first, "within a minute the first write stands"
