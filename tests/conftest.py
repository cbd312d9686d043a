"""Shared fixtures: real databases (SQLite, and PostgreSQL when GATEWAY_TEST_DATABASE_URL is set), real apps."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway_api.core.settings import Settings
from gateway_api.db.engine import make_engine, normalise_url, upgrade_database

pytest_plugins = ["tests.support.fakes.plugin", "tests.support.live", "tests.support.oidc"]

POSTGRES_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-123"

DATABASE_KINDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="GATEWAY_TEST_DATABASE_URL is not set"),
    ),
]


UI_TESTS = Path(__file__).parent / "ui"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run last: Playwright's sync API keeps an event loop running in the main thread for the
    rest of the session (its browser is session-wide), and `asyncio.run` or an async test after it would refuse to
    start. The UI's own tests without a browser (its API client) run before the first one that has it."""
    items.sort(key=lambda item: (item.path.is_relative_to(UI_TESTS), "browser" in getattr(item, "fixturenames", ())))


@pytest.fixture(autouse=True)
def _clean_gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their own settings; a developer's GATEWAY_* variables must not leak in."""
    for name in list(os.environ):
        if name.startswith("GATEWAY_") and not name.startswith("GATEWAY_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-0123456789abcdef",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        public_url="http://gateway.test",
        usage_flush_interval=0.05,
    )
