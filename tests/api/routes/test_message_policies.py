"""/api/message-policies: CRUD with validation naming the field, roles, the audit trail, the catalog, the judge
model and "try it" (pattern rules in RE2, judged rules through the app's judge service)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyScope
from gateway_api.message_policies.verdicts import JudgeVerdict
from tests.api.helpers import audit_events, detail_message, make_user, user_with_headers

KEYS = {"name": "no-cloud-keys", "subjects": ["*"], "scope": ["user_messages", "tool_results"], "action": "redact"}


def policy_body(**changes: Any) -> dict[str, Any]:
    return {**KEYS, "rule": {"pattern": "AKIA[0-9A-Z]{16}"}, **changes}


@pytest.fixture
def people(api_client: TestClient, admin_headers: dict) -> None:
    assert api_client.post("/api/groups", json={"name": "support"}, headers=admin_headers).status_code == 201
    make_user(api_client, admin_headers, "dev@example.com", groups=["support"])


@pytest.mark.usefixtures("people")
def test_lifecycle_is_audited_and_reaches_the_catalog(api_client: TestClient, admin_headers: dict) -> None:
    created = api_client.post(
        "/api/message-policies",
        json=policy_body(subjects=["group:support", "user:Dev@Example.com"], on_judge_error="allow"),
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["subjects"] == ["group:support", "user:dev@example.com"], "emails are stored normalised"
    assert policy["rule"] == {"pattern": "AKIA[0-9A-Z]{16}", "builtins": [], "judge": None}
    assert (
        policy["scope"],
        policy["action"],
        policy["on_unreadable"],
        policy["on_judge_error"],
        policy["enabled"],
    ) == (
        ["user_messages", "tool_results"],
        "redact",
        "block",
        "allow",
        True,
    )
    snapshot = api_client.app.services.catalog.snapshot  # type: ignore[attr-defined]
    [entry] = snapshot.message_policies
    assert (entry.name, entry.rule.pattern, entry.scopes) == (
        "no-cloud-keys",
        "AKIA[0-9A-Z]{16}",
        frozenset({PolicyScope.user_messages, PolicyScope.tool_results}),
    )
    first_revision = entry.revision
    url = f"/api/message-policies/{policy['id']}"
    renamed = api_client.patch(url, json={"name": "keys", "enabled": False}, headers=admin_headers)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["rule"]["pattern"]) == ("keys", "AKIA[0-9A-Z]{16}")
    assert api_client.app.services.catalog.snapshot.message_policies == (), "disabled policies are not enforced"  # type: ignore[attr-defined]
    changed = api_client.patch(
        url, json={"enabled": True, "rule": {"pattern": "ASIA[0-9A-Z]{16}"}}, headers=admin_headers
    )
    assert changed.status_code == 200, changed.text
    [entry] = api_client.app.services.catalog.snapshot.message_policies  # type: ignore[attr-defined]
    assert entry.revision != first_revision, "a changed rule gets a new revision (cached verdicts are not reused)"
    assert [p["name"] for p in api_client.get("/api/message-policies", headers=admin_headers).json()] == ["keys"]
    assert api_client.delete(url, headers=admin_headers).status_code == 204
    assert api_client.get(url, headers=admin_headers).status_code == 404
    assert api_client.app.services.catalog.snapshot.message_policies == ()  # type: ignore[attr-defined]
    events = audit_events(api_client, admin_headers, target_type="message_policy")
    assert [e["action"] for e in events] == [
        "message_policy.delete",
        "message_policy.update",
        "message_policy.update",
        "message_policy.create",
    ]
    assert events[2]["before"]["name"] == "no-cloud-keys" and events[2]["after"]["enabled"] is False


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"name": "-bad"}, "name", "String should match pattern"),
        ({"subjects": []}, "subjects", "at least one"),
        ({"subjects": ["*", "group:support"]}, "subjects", '"*" must be the only'),
        ({"subjects": ["team:x"]}, "subjects", "must be"),
        ({"subjects": ["user:nobody@example.com"]}, "subjects", "does not exist"),
        ({"subjects": ["group:ghosts"]}, "subjects", "does not exist"),
        ({"subjects": ["user:dev@example.com", "user:DEV@example.com"]}, "subjects", "duplicates"),
        ({"scope": []}, "scope", "at least one"),
        ({"scope": ["user_messages", "user_messages"]}, "scope", "duplicates"),
        ({"scope": ["everything"]}, "scope.0", "Input should be"),
        ({"action": "shout"}, "action", "Input should be"),
        ({"rule": {}}, "rule", "needs a pattern"),
        ({"rule": {"pattern": "x", "judge": "no"}}, "rule", "not both"),
        ({"rule": {"pattern": "(unclosed"}}, "rule.pattern", "invalid regular expression (RE2 syntax)"),
        ({"rule": {"pattern": "(a)\\1"}}, "rule.pattern", "backreferences are not supported"),
        ({"rule": {"pattern": "(?=x)y"}}, "rule.pattern", "lookahead and lookbehind are not supported"),
        ({"rule": {"builtins": ["jwt", "jwt"]}}, "rule.builtins", "duplicates"),
        ({"rule": {"pattern": "x*"}}, "rule.pattern", "matches empty text"),
        ({"rule": {"pattern": "x" * 1001}}, "rule.pattern", "at most 1000"),
        ({"rule": {"builtins": ["no_such_set"]}}, "rule.builtins", "unknown built-in set"),
        ({"rule": {"judge": "x" * 2001}, "action": "block"}, "rule.judge", "at most 2000"),
        ({"rule": {"judge": "  "}, "action": "block"}, "rule.judge", "must not be empty"),
        ({"rule": {"judge": "No medical advice."}}, "action", "redact needs a pattern rule"),
        ({"scope": ["tool_calls"]}, "action", "not allowed with the tool_calls scope"),
        ({"on_judge_error": "maybe"}, "on_judge_error", "Input should be"),
    ],
)
def test_invalid_policies_are_refused_naming_the_field(
    api_client: TestClient, admin_headers: dict, changes: dict, field: str, fragment: str
) -> None:
    response = api_client.post("/api/message-policies", json=policy_body(**changes), headers=admin_headers)
    assert response.status_code == 422, response.text
    message = detail_message(response)
    assert message.startswith(f"{field}:") and fragment in message, message


def test_a_taken_name_is_a_conflict_and_patch_validates_the_whole(api_client: TestClient, admin_headers: dict) -> None:
    assert api_client.post("/api/message-policies", json=policy_body(), headers=admin_headers).status_code == 201
    other = api_client.post(
        "/api/message-policies",
        json=policy_body(name="monitor-all", action="monitor", rule={"builtins": ["private_key"]}),
        headers=admin_headers,
    ).json()
    again = api_client.post("/api/message-policies", json=policy_body(), headers=admin_headers)
    assert again.status_code == 409 and "already exists" in detail_message(again)
    url = f"/api/message-policies/{other['id']}"
    assert api_client.patch(url, json={"name": "no-cloud-keys"}, headers=admin_headers).status_code == 409
    # A judge rule on a policy whose action is redact: the result would be invalid, so the change is refused.
    response = api_client.patch(url, json={"action": "redact", "rule": {"judge": "no"}}, headers=admin_headers)
    assert response.status_code == 422 and detail_message(response).startswith("action:")
    assert api_client.get(url, headers=admin_headers).json()["rule"]["builtins"] == ["private_key"]


def test_roles(api_client: TestClient, admin_headers: dict) -> None:
    created = api_client.post("/api/message-policies", json=policy_body(), headers=admin_headers).json()
    _, user = user_with_headers(api_client, admin_headers, "user@example.com")
    _, auditor = user_with_headers(api_client, admin_headers, "auditor@example.com", role="auditor")
    url = f"/api/message-policies/{created['id']}"
    for path in ("/api/message-policies", url, "/api/message-policies/builtins", "/api/message-policies/judge"):
        assert api_client.get(path, headers=user).status_code == 403
        assert api_client.get(path, headers=auditor).status_code == 200
    writes = [
        ("POST", "/api/message-policies", policy_body(name="x")),
        ("PATCH", url, {"enabled": False}),
        ("DELETE", url, None),
        ("PUT", "/api/message-policies/judge", {"model": None}),
        ("POST", "/api/message-policies/test", {"policy": policy_body(), "text": "t"}),
        ("POST", f"{url}/test", {"text": "t"}),
    ]
    for method, path, body in writes:
        for headers in (user, auditor):
            assert api_client.request(method, path, json=body, headers=headers).status_code == 403, (method, path)
    assert api_client.get("/api/message-policies").status_code == 401


def test_builtins_and_judge_model(api_client: TestClient, admin_headers: dict) -> None:
    builtins = api_client.get("/api/message-policies/builtins", headers=admin_headers).json()
    names = {b["name"] for b in builtins}
    assert {"aws_access_key", "private_key", "card_number"} <= names and all(b["description"] for b in builtins)
    assert api_client.get("/api/message-policies/judge", headers=admin_headers).json() == {"model": None}
    unknown = api_client.put("/api/message-policies/judge", json={"model": "claude-haiku-4-5"}, headers=admin_headers)
    assert unknown.status_code == 422 and detail_message(unknown).startswith("model:")
    provider = api_client.post(
        "/api/providers", json={"name": "anthropic", "kind": "anthropic"}, headers=admin_headers
    ).json()
    model = {"provider_id": provider["id"], "name": "claude-haiku-4-5"}
    assert api_client.post("/api/models", json=model, headers=admin_headers).status_code == 201
    response = api_client.put("/api/message-policies/judge", json={"model": "claude-haiku-4-5"}, headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"model": "claude-haiku-4-5"}
    assert api_client.get("/api/message-policies/judge", headers=admin_headers).json() == {"model": "claude-haiku-4-5"}
    assert api_client.app.services.catalog.snapshot.message_policy_judge == "claude-haiku-4-5"  # type: ignore[attr-defined]
    assert api_client.put("/api/message-policies/judge", json={"model": None}, headers=admin_headers).status_code == 200
    assert api_client.app.services.catalog.snapshot.message_policy_judge is None  # type: ignore[attr-defined]
    events = audit_events(api_client, admin_headers, action="message_policy.judge")
    assert [(e["before"], e["after"]) for e in events] == [
        ({"judge_model": "claude-haiku-4-5"}, {"judge_model": None}),
        ({"judge_model": None}, {"judge_model": "claude-haiku-4-5"}),
    ]


def test_try_a_pattern_rule(api_client: TestClient, admin_headers: dict) -> None:
    text = "deploy with AKIAABCDEFGHIJKLMNOP and again AKIAQRSTUVWXYZ234567 now"
    draft = api_client.post(
        "/api/message-policies/test",
        json={"policy": policy_body(), "text": text, "scope": "tool_results"},
        headers=admin_headers,
    )
    assert draft.status_code == 200, draft.text
    verdict = draft.json()
    assert (verdict["violation"], verdict["action"], verdict["judge_failed"]) == (True, "redact", False)
    assert verdict["matches"] == [{"start": 12, "end": 32}, {"start": 43, "end": 63}]
    assert verdict["redacted_text"] == "deploy with [REDACTED:no-cloud-keys] and again [REDACTED:no-cloud-keys] now"
    assert "AKIA" not in verdict["explanation"] and "pattern" in verdict["explanation"], "what matched, not the secret"
    other_scope = api_client.post(
        "/api/message-policies/test",
        json={"policy": policy_body(), "text": text, "scope": "tool_calls"},
        headers=admin_headers,
    ).json()
    assert other_scope["violation"] is False and "does not look at tool_calls" in other_scope["explanation"]
    bad = api_client.post(
        "/api/message-policies/test",
        json={"policy": policy_body(rule={"pattern": "(x"}), "text": "x"},
        headers=admin_headers,
    )
    assert bad.status_code == 422 and detail_message(bad).startswith("policy.rule.pattern:")
    saved = api_client.post(
        "/api/message-policies",
        json=policy_body(name="cards", action="block", rule={"builtins": ["card_number"]}),
        headers=admin_headers,
    ).json()
    url = f"/api/message-policies/{saved['id']}/test"
    hit = api_client.post(url, json={"text": "card 4111 1111 1111 1111 ok"}, headers=admin_headers).json()
    assert (hit["violation"], hit["action"], hit["redacted_text"], hit["matches"]) == (
        True,
        "block",
        None,
        [{"start": 5, "end": 24}],
    )
    miss = api_client.post(url, json={"text": "nothing here"}, headers=admin_headers).json()
    assert (miss["violation"], miss["matches"]) == (False, [])


class ScriptedJudge:
    """A judge that answers from a script, recording what it was asked (the app's judge service's protocol)."""

    def __init__(self, verdict: JudgeVerdict) -> None:
        self.verdict = verdict
        self.asked: list[tuple[str, PolicyScope, str]] = []

    async def judge(self, policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> JudgeVerdict:
        self.asked.append((policy.rule.judge or "", scope, text))
        return self.verdict


def test_try_a_judged_rule(api_client: TestClient, admin_headers: dict) -> None:
    body = policy_body(
        name="no-medical", action="block", scope=["user_messages"], rule={"judge": "No medical diagnosis."}
    )
    saved = api_client.post("/api/message-policies", json=body, headers=admin_headers)
    assert saved.status_code == 201, saved.text
    url = f"/api/message-policies/{saved.json()['id']}/test"
    without = api_client.post(url, json={"text": "what is this rash?"}, headers=admin_headers).json()
    assert (without["violation"], without["judge_failed"]) == (True, True), "on_judge_error block: a failure blocks"
    assert "judge model is configured" in without["explanation"]  # the app's judge, or none at all
    services = api_client.app.services  # type: ignore[attr-defined]
    judge = ScriptedJudge(JudgeVerdict(violation=True, explanation="Asks for a diagnosis."))
    services.message_policy_judge = judge
    verdict = api_client.post(url, json={"text": "what is this rash?"}, headers=admin_headers).json()
    assert (verdict["violation"], verdict["explanation"], verdict["judge_failed"]) == (
        True,
        "Asks for a diagnosis.",
        False,
    )
    assert judge.asked == [("No medical diagnosis.", PolicyScope.user_messages, "what is this rash?")]
    services.message_policy_judge = ScriptedJudge(JudgeVerdict(violation=False, explanation="timeout", failed=True))
    draft = api_client.post(
        "/api/message-policies/test",
        json={"policy": {**body, "on_judge_error": "allow"}, "text": "hello"},
        headers=admin_headers,
    ).json()
    assert (draft["violation"], draft["judge_failed"]) == (False, True)
    assert "on_judge_error allows" in draft["explanation"]
