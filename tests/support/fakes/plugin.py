"""pytest fixtures for the fake upstream (registered from tests/conftest.py via pytest_plugins)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fakes.upstream import FakeUpstream


@pytest.fixture(scope="session")
def fake_upstream_server() -> Iterator[FakeUpstream]:
    """One server for the whole session; use `fake_upstream` in tests, which also resets it."""
    server = FakeUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_upstream(fake_upstream_server: FakeUpstream) -> Iterator[FakeUpstream]:
    """The fake provider with default behaviour and an empty request log."""
    fake_upstream_server.reset()
    yield fake_upstream_server
    fake_upstream_server.reset()
