"""Browser sessions end when the password changes, when the user is deactivated (reactivating brings none back)
and after GATEWAY_SESSION_IDLE_TIMEOUT_MINUTES without use; the user's other keys are not sessions (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from gateway_api.db.models import ApiKey, utcnow
from gateway_api.security.keys import digest_key
from tests.api.helpers import USER_PASSWORD, make_user, sign_in


def works(client: TestClient, headers: dict[str, str]) -> bool:
    return client.get("/api/me", headers=headers).status_code == 200


def llm_key_of(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    secret = client.post("/api/keys", json={"scope": "llm"}, headers=headers).json()["secret"]
    return {"Authorization": f"Bearer {secret}"}


def test_a_new_password_signs_the_user_out_everywhere(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    user = make_user(api_client, admin_headers, "dev@example.com")
    laptop, phone = sign_in(api_client, "dev@example.com"), sign_in(api_client, "dev@example.com")
    llm = llm_key_of(api_client, laptop)

    changed = api_client.patch(
        f"/api/users/{user['id']}", json={"password": "a-new-password-456"}, headers=admin_headers
    )

    assert changed.status_code == 200
    assert not works(api_client, laptop) and not works(api_client, phone)
    assert api_client.get("/api/auth/key", headers=llm).status_code == 200, "keys for tools are not sessions"
    assert works(api_client, sign_in(api_client, "dev@example.com", "a-new-password-456"))
    assert (
        api_client.post("/api/auth/login", json={"email": "dev@example.com", "password": USER_PASSWORD}).status_code
        == 401
    )


def test_deactivating_ends_sessions_for_good(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    for deactivate in ("delete", "patch"):
        email = f"{deactivate}@example.com"
        user = make_user(api_client, admin_headers, email)
        session = sign_in(api_client, email)
        llm = llm_key_of(api_client, session)
        if deactivate == "delete":
            assert api_client.delete(f"/api/users/{user['id']}", headers=admin_headers).status_code == 200
        else:
            off = api_client.patch(f"/api/users/{user['id']}", json={"active": False}, headers=admin_headers)
            assert off.status_code == 200
        back = api_client.patch(f"/api/users/{user['id']}", json={"active": True}, headers=admin_headers)
        assert back.status_code == 200 and back.json()["active"] is True
        assert not works(api_client, session), deactivate
        assert api_client.get("/api/auth/key", headers=llm).status_code == 200
        assert works(api_client, sign_in(api_client, email))


def test_an_idle_session_ends(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    make_user(api_client, admin_headers, "idle@example.com")
    session = sign_in(api_client, "idle@example.com")
    llm = llm_key_of(api_client, session)
    assert works(api_client, session)
    engine = api_client.app.services.engine  # type: ignore[attr-defined]
    pepper = api_client.app.services.key_pepper  # type: ignore[attr-defined]
    long_ago = utcnow() - timedelta(minutes=121)  # the default idle timeout is 120 minutes
    with Session(engine) as db:
        for token in (session["Authorization"][7:], llm["Authorization"][7:]):
            key = db.exec(select(ApiKey).where(ApiKey.digest == digest_key(token, pepper))).one()
            key.last_used_at = long_ago
            db.add(key)
        db.commit()

    ended = api_client.get("/api/me", headers=session)
    assert ended.status_code == 401 and "without use" in ended.json()["detail"]
    assert api_client.get("/api/auth/key", headers=session).status_code == 401, "revoked, not only refused"
    assert api_client.get("/api/auth/key", headers=llm).status_code == 200, "an idle llm key is no session"


def test_ended_sessions_are_no_guesses(api_client: TestClient, admin_headers: dict[str, str]) -> None:
    """Behind the UI server every browser shares one address: six expired sessions must not lock it out."""
    ended = []
    for n in range(6):
        make_user(api_client, admin_headers, f"gone{n}@example.com")
        session = sign_in(api_client, f"gone{n}@example.com")
        api_client.post("/api/auth/logout", headers=session)
        ended.append(session)
    assert [api_client.get("/api/me", headers=headers).status_code for headers in ended] == [401] * 6
    assert works(api_client, admin_headers)
    guesses = [api_client.get("/api/me", headers={"Authorization": f"Bearer gwk_guess{n}"}) for n in range(6)]
    assert guesses[-1].status_code == 429, "unknown secrets still are"
