"""Property-based run over the whole OpenAPI schema as an admin: no input may produce a 500.

Bounded and deterministic (derandomised Hypothesis, a few examples per operation) so it runs in well under
two minutes; a failure lists every operation that broke with the request that broke it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlmodel import Session

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import find_user
from gateway_api.db.models import Scope, User
from gateway_api.services import AppServices
from tests.conftest import ADMIN_EMAIL

EXAMPLES_PER_OPERATION = 12
TEST_CLIENT_ADDRESS = "testclient"


def fresh_admin_token(services: AppServices) -> str:
    """A new admin key straight from the database: the run may revoke the one it uses (logout, DELETE /keys)."""
    with Session(services.engine, expire_on_commit=False) as session:
        admin = find_user(session, ADMIN_EMAIL)
        assert isinstance(admin, User)
        _, secret = issue_key(session, services.key_pepper, admin, {Scope.ui}, name="fuzz", expires_at=None)
        session.commit()
    return secret


@dataclass
class FuzzRun:
    client: TestClient
    services: AppServices
    token: str
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def send(self, label: str, case: Any) -> None:
        kwargs = case.as_transport_kwargs(
            base_url="http://testserver", headers={"Authorization": f"Bearer {self.token}"}
        )
        data = kwargs.get("data")
        response = self.client.request(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params"),
            headers=kwargs.get("headers"),
            json=kwargs.get("json"),
            content=data if isinstance(data, bytes | str) else None,
        )
        # Failed sign-ins throttle the test client's address; reset so later operations are really exercised.
        self.services.login_throttle.reset(TEST_CLIENT_ADDRESS)
        self.statuses.setdefault(label, set()).add(response.status_code)
        if response.status_code == 401:
            self.token = fresh_admin_token(self.services)
        assert response.status_code < 500, (
            f"{label}: {response.status_code} for params={kwargs.get('params')} json={kwargs.get('json')!r}: "
            f"{response.text[:300]}"
        )

    def exercise(self, operation: Any) -> None:
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            self.send(operation.label, case)

        run()


def test_no_operation_answers_500(api_client: TestClient) -> None:
    services: AppServices = api_client.app.services  # type: ignore[attr-defined]
    schema = schemathesis.openapi.from_dict(api_client.get("/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30, "the schema should list every REST operation"
    fuzz = FuzzRun(api_client, services, fresh_admin_token(services))
    failures: list[str] = []
    for operation in operations:
        try:
            fuzz.exercise(operation)
        except Exception as failure:  # noqa: BLE001 - collect every broken operation, then report them all
            first_line = str(failure).splitlines()[0] if str(failure) else ""
            failures.append(f"{operation.label}: {type(failure).__name__}: {first_line}")
    assert not failures, "\n".join(failures)
    succeeded = sorted(label for label, codes in fuzz.statuses.items() if any(200 <= c < 300 for c in codes))
    # Not only refusals: most operations must have been reached with input they accepted.
    assert len(succeeded) >= len(operations) * 0.6, f"only these operations ever succeeded: {succeeded}"
