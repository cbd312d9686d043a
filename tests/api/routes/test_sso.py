"""Single sign-on against a real OpenID Connect provider process, driven over HTTP as a browser would."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session, select

from gateway_api.db.models import AuditEvent, Group, User
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.oidc import ADMIN_GROUP, SsoGateway


def me(gateway: SsoGateway, token: str) -> dict[str, object]:
    response = httpx.get(f"{gateway.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def audit_actions(gateway: SsoGateway) -> list[str]:
    with Session(gateway.live.services.engine) as session:
        return [event.action for event in session.exec(select(AuditEvent))]


def test_the_sign_in_methods_say_sso_is_on(sso_gateway: SsoGateway) -> None:
    methods = httpx.get(f"{sso_gateway.url}/api/auth/methods", timeout=30).json()
    assert methods == {"password": True, "sso": True}


def test_first_sign_in_creates_the_user_with_synced_groups(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("alice-1", email="Alice1@Example.com", name="Alice", groups=["eng", "/platform/sre"])

    token = sso_gateway.sign_in("alice-1")

    profile = me(sso_gateway, token)
    assert profile["email"] == "alice1@example.com" and profile["role"] == "user"
    assert profile["groups"] == ["eng", "platform/sre"]
    with Session(sso_gateway.live.services.engine) as session:
        groups = {g.name: g.synced_from_sso for g in session.exec(select(Group))}
        user = session.exec(select(User).where(User.email == "alice1@example.com")).one()
    assert groups == {"eng": True, "platform/sre": True}
    assert user.oidc_subject == "alice-1" and user.password_hash == ""
    actions = audit_actions(sso_gateway)
    assert {"user.create", "group.create", "group.join", "session.sso", "session.create"} <= set(actions)


def test_membership_follows_the_claim_but_manual_groups_keep_their_members(
    sso_gateway: SsoGateway, admin_token_for: Callable[[SsoGateway], dict[str, str]]
) -> None:
    admin = admin_token_for(sso_gateway)
    manual = httpx.post(f"{sso_gateway.url}/api/groups", json={"name": "contractors"}, headers=admin, timeout=30)
    assert manual.status_code == 201
    sso_gateway.idp.set_user("bob-1", email="bob1@example.com", groups=["eng", "ml"])
    token = sso_gateway.sign_in("bob-1")
    bob_id = me(sso_gateway, token)["id"]
    added = httpx.patch(
        f"{sso_gateway.url}/api/users/{bob_id}",
        json={"groups": ["eng", "ml", "contractors"]},
        headers=admin,
        timeout=30,
    )
    assert added.status_code == 200, added.text

    sso_gateway.idp.set_user("bob-1", email="bob1@example.com", groups=["ml", "contractors", "research"])
    token = sso_gateway.sign_in("bob-1")

    # eng (synced) is left, research is joined; contractors was made by hand: its member stays, untouched by SSO.
    assert me(sso_gateway, token)["groups"] == ["contractors", "ml", "research"]
    with Session(sso_gateway.live.services.engine) as session:
        contractors = session.exec(select(Group).where(Group.name == "contractors")).one()
    assert contractors.synced_from_sso is False


def test_admin_group_makes_admins_and_losing_it_demotes(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("carol-1", email="carol1@example.com", groups=[ADMIN_GROUP])
    token = sso_gateway.sign_in("carol-1")
    assert me(sso_gateway, token)["role"] == "admin"

    sso_gateway.idp.set_user("carol-1", email="carol1@example.com", groups=["eng"])
    token = sso_gateway.sign_in("carol-1")
    assert me(sso_gateway, token)["role"] == "user"
    assert "user.update" in audit_actions(sso_gateway)


def test_the_break_glass_admin_is_never_demoted_and_keeps_the_password(
    sso_gateway_factory: Callable[..., SsoGateway],
) -> None:
    gateway = sso_gateway_factory(password_login=False, break_glass_admin=ADMIN_EMAIL)
    gateway.idp.set_user("root-1", email=ADMIN_EMAIL, groups=["eng"])
    token = gateway.sign_in("root-1")
    assert me(gateway, token)["role"] == "admin"

    password = httpx.post(
        f"{gateway.url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30
    )
    assert password.status_code == 200
    gateway.idp.set_user("dave-1", email="dave1@example.com")
    gateway.sign_in("dave-1")
    refused = httpx.post(
        f"{gateway.url}/api/auth/login", json={"email": "dave1@example.com", "password": "anything-at-all"}, timeout=30
    )
    assert refused.status_code == 403 and "sign in with SSO" in refused.json()["detail"]
    assert httpx.get(f"{gateway.url}/api/auth/methods", timeout=30).json() == {"password": False, "sso": True}


def test_a_disallowed_domain_is_refused_and_audited(sso_gateway_factory: Callable[..., SsoGateway]) -> None:
    gateway = sso_gateway_factory(oidc_allowed_domains="example.com, corp.example")
    gateway.idp.set_user("eve-1", email="eve@evil.example", groups=[ADMIN_GROUP])

    refused = gateway.callback_for(gateway.browser(), "eve-1")

    assert refused.status_code == 403
    assert "accounts of evil.example may not sign in" in refused.text
    with Session(gateway.live.services.engine) as session:
        assert session.exec(select(User).where(User.email == "eve@evil.example")).first() is None
        refusal = session.exec(select(AuditEvent).where(AuditEvent.action == "session.refuse")).one()
    assert refusal.actor_email == "eve@evil.example" and refusal.after == {"reason": "domain", "method": "sso"}
    gateway.idp.set_user("frank-1", email="frank@corp.example")
    assert gateway.sign_in("frank-1")


def test_unverified_email_is_refused(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("gina-1", email="gina@example.com", email_verified=False)
    refused = sso_gateway.callback_for(sso_gateway.browser(), "gina-1")
    assert refused.status_code == 403 and "not verified" in refused.text


def test_another_subject_with_the_same_email_is_refused(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("hank-1", email="hank@example.com")
    sso_gateway.sign_in("hank-1")
    sso_gateway.idp.set_user("hank-impostor", email="hank@example.com")
    refused = sso_gateway.callback_for(sso_gateway.browser(), "hank-impostor")
    assert refused.status_code == 403 and "another identity" in refused.text


def test_a_bad_state_is_refused_with_an_error_page(sso_gateway: SsoGateway) -> None:
    browser = sso_gateway.browser()
    started = browser.get("/api/auth/oidc/start")
    back = sso_gateway.idp.authorize(started.headers["location"], "ivy-1")
    query = parse_qs(urlsplit(back).query)
    forged = browser.get("/api/auth/oidc/callback", params={"code": query["code"][0], "state": "forged-state-value"})
    assert forged.status_code == 400
    assert forged.headers["content-type"].startswith("text/html")
    assert "unknown or was already finished" in forged.text


def test_a_replayed_callback_is_refused(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("jack-1", email="jack@example.com")
    browser = sso_gateway.browser()
    started = browser.get("/api/auth/oidc/start")
    back = sso_gateway.idp.authorize(started.headers["location"], "jack-1")
    assert browser.get(back).status_code == 303

    replayed = browser.get(back)

    assert replayed.status_code == 400 and "already used" in replayed.text


def test_a_callback_in_another_browser_is_refused(sso_gateway: SsoGateway) -> None:
    started = sso_gateway.browser().get("/api/auth/oidc/start")
    back = sso_gateway.idp.authorize(started.headers["location"], "kim-1")
    victim = sso_gateway.browser()  # no binding cookie: the login-CSRF case
    refused = victim.get(back)
    assert refused.status_code == 400 and "another browser" in refused.text


def test_an_id_token_with_another_sign_ins_nonce_is_refused(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("lena-1", email="lena@example.com")
    browser = sso_gateway.browser()
    first = browser.get("/api/auth/oidc/start").headers["location"]
    second = browser.get("/api/auth/oidc/start").headers["location"]
    second_state = parse_qs(urlsplit(second).query)["state"][0]
    # The provider signs first's nonce into the token; the callback comes back under second's state.
    back = sso_gateway.idp.authorize(first.replace(parse_qs(urlsplit(first).query)["state"][0], second_state), "lena-1")
    refused = browser.get(back)
    assert refused.status_code == 400 and "nonce" in refused.text


def test_the_one_time_code_works_once(sso_gateway: SsoGateway) -> None:
    sso_gateway.idp.set_user("mia-1", email="mia@example.com")
    browser = sso_gateway.browser()
    finished = sso_gateway.callback_for(browser, "mia-1")
    location = finished.headers["location"]
    assert location.startswith("/login?next=%2F#sso=")
    code = location.split("#sso=", 1)[1]
    assert browser.post("/api/auth/oidc/exchange", json={"code": code}).status_code == 200
    again = browser.post("/api/auth/oidc/exchange", json={"code": code})
    assert again.status_code == 401 and "already used" in again.json()["detail"]


def test_next_paths_stay_on_this_site(sso_gateway: SsoGateway) -> None:
    for hostile, expected in (
        ("//evil.example/x", "%2F"),
        ("https://evil.example", "%2F"),
        ("/llm-gateway/keys", "%2Fllm-gateway%2Fkeys"),
    ):
        sso_gateway.idp.set_user("ned-1", email="ned@example.com")
        browser = sso_gateway.browser()
        started = browser.get("/api/auth/oidc/start", params={"next": hostile})
        finished = browser.get(sso_gateway.idp.authorize(started.headers["location"], "ned-1"))
        assert finished.headers["location"].startswith(f"/login?next={expected}#sso="), hostile


@pytest.mark.parametrize(
    "redirect",
    ["http://evil.example:8000/cb", "https://127.0.0.1:9000/cb", "http://127.0.0.1/cb", "http://user@127.0.0.1:9/cb"],
)
def test_the_cli_redirect_must_be_a_loopback_address(sso_gateway: SsoGateway, redirect: str) -> None:
    refused = sso_gateway.browser().get(
        "/api/auth/oidc/start", params={"cli_redirect": redirect, "cli_challenge": "A" * 43}
    )
    assert refused.status_code == 400 and "loopback" in refused.text


def test_without_sso_configured_the_endpoints_say_so(live_gateway) -> None:  # type: ignore[no-untyped-def]
    started = httpx.get(f"{live_gateway.url}/api/auth/oidc/start", timeout=30)
    assert started.status_code == 404 and "not configured" in started.text
    assert httpx.get(f"{live_gateway.url}/api/auth/methods", timeout=30).json() == {"password": True, "sso": False}
    device = httpx.post(f"{live_gateway.url}/api/auth/device/code", timeout=30)
    assert device.status_code == 404


def test_no_secret_reaches_the_logs_or_the_audit(sso_gateway: SsoGateway, capfd: pytest.CaptureFixture[str]) -> None:
    sso_gateway.idp.set_user("olga-1", email="olga@example.com", groups=["eng"])
    token = sso_gateway.sign_in("olga-1")
    out, err = capfd.readouterr()
    assert token not in out + err and "sso-client-secret" not in out + err
    with Session(sso_gateway.live.services.engine) as session:
        events = repr(session.exec(select(AuditEvent)).all())
    assert token not in events and "sso-client-secret" not in events


def test_an_admin_can_set_up_an_sso_group_before_anyone_signs_in(
    sso_gateway: SsoGateway, admin_token_for: Callable[[SsoGateway], dict[str, str]]
) -> None:
    admin = admin_token_for(sso_gateway)
    created = httpx.post(
        f"{sso_gateway.url}/api/groups", json={"name": "sso-first", "synced_from_sso": True}, headers=admin, timeout=30
    )
    assert created.status_code == 201 and created.json()["synced_from_sso"] is True
    sso_gateway.idp.set_user("pia-1", email="pia@example.com", groups=["sso-first"])
    assert me(sso_gateway, sso_gateway.sign_in("pia-1"))["groups"] == ["sso-first"]
    sso_gateway.idp.set_user("pia-1", email="pia@example.com", groups=[])
    assert me(sso_gateway, sso_gateway.sign_in("pia-1"))["groups"] == []
