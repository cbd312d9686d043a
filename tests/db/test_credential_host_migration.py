"""Migration 0009: the credentials stored before it count as saved for their provider's current host."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from gateway_api.db.engine import alembic_config, make_engine


def test_stored_credentials_are_bound_to_their_current_host(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0008")
    with engine.begin() as connection:
        for name, base_url, credential in [
            ("with-key", "https://API.example.com/v1", "'encrypted'"),
            ("without-key", "http://10.0.0.5:8000", "NULL"),
        ]:
            connection.execute(
                text(f"""INSERT INTO provider (name, kind, base_url, credential_encrypted, created_at, updated_at)
                         VALUES ('{name}', 'openai', '{base_url}', {credential}, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)""")
            )

    command.upgrade(config, "head")

    with engine.connect() as connection:
        origins = dict(connection.execute(text("SELECT name, credential_origin FROM provider")).all())
    assert origins == {"with-key": "https://api.example.com:443", "without-key": None}

    command.downgrade(config, "0008")
    assert "credential_origin" not in {c["name"] for c in inspect(engine).get_columns("provider")}
    engine.dispose()
