"""A `gateway serve` process (tests/support/served.py) with a gateway key for a test user, and its usage rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session, select

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import find_user
from gateway_api.db.engine import make_engine, session_scope
from gateway_api.db.models import Scope, UsageRecord
from gateway_api.security.keys import key_pepper
from tests.proxy.conftest import ALICE
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import ServedGateway, gateway_environment, serve_gateway

SECRET_KEY = "test-secret-key-0123456789abcdef"  # what gateway_environment sets


@contextmanager
def served_gateway(
    tmp_path: Path,
    database_url: str,
    fake: FakeUpstream,
    preexec_fn: Callable[[], None] | None = None,
    **settings: str,
) -> Iterator[ServedGateway]:
    env = gateway_environment(tmp_path / "data", database_url, fake, **settings)
    served = serve_gateway(env, tmp_path / "gateway.log", preexec_fn=preexec_fn)
    try:
        yield served
    finally:
        served.terminate()


def issue_served_key(database_url: str, email: str = ALICE) -> str:
    """A key the served process does not know yet: its first call finds it in the database."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            user = find_user(session, email)
            assert user is not None
            _, secret = issue_key(session, key_pepper(SECRET_KEY), user, {Scope.llm}, expires_at=None)
        return secret
    finally:
        engine.dispose()


def usage_rows(database_url: str, count: int, timeout: float = 10.0) -> list[UsageRecord]:
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with Session(engine) as session:
                rows = list(session.exec(select(UsageRecord).order_by(UsageRecord.id)))  # type: ignore[arg-type]
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)
    finally:
        engine.dispose()


def memory_kib(pid: int) -> tuple[int, int]:
    """(resident now, peak resident) of a process, in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
