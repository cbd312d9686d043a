"""Migration 0007 (single sign-on) on a database that already has users, keys and memberships: nothing is lost
going up (SQLite must not rebuild the user table, which would cascade into every key), and it comes back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from gateway_api.db.engine import alembic_config, make_engine


def _rows(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        counts = [
            connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
            for t in ("user", "apikey", "usergroup")
        ]
    return counts[0], counts[1], counts[2]


def test_upgrade_keeps_every_row_and_downgrade_restores_the_schema(database_url: str) -> None:
    engine = make_engine(database_url)  # foreign keys on, as the gateway runs it
    config = alembic_config(engine)
    command.upgrade(config, "0006")
    with engine.begin() as connection:
        connection.execute(
            text("""INSERT INTO "user" (email, name, password_hash, role, active, created_at, updated_at)
                    VALUES ('old@example.com', '', 'x', 'user', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)""")
        )
        user_id = connection.execute(text("""SELECT id FROM "user" """)).scalar_one()
        connection.execute(text("""INSERT INTO "group" (name, created_at) VALUES ('eng', CURRENT_TIMESTAMP)"""))
        group_id = connection.execute(text("""SELECT id FROM "group" """)).scalar_one()
        connection.execute(text(f"INSERT INTO usergroup (user_id, group_id) VALUES ({user_id}, {group_id})"))
        connection.execute(
            text(f"""INSERT INTO apikey (user_id, name, prefix, digest, scopes, created_at)
                     VALUES ({user_id}, 'k', 'gwk_abc', 'digest-1', 'llm', CURRENT_TIMESTAMP)""")
        )

    command.upgrade(config, "head")

    assert _rows(engine) == (1, 1, 1)
    with engine.connect() as connection:
        synced = connection.execute(text("""SELECT synced_from_sso FROM "group" """)).scalar_one()
        subject = connection.execute(text("""SELECT oidc_subject FROM "user" """)).scalar_one()
    assert synced in (False, 0) and subject is None
    assert {"ssosignin", "devicesignin"} <= set(inspect(engine).get_table_names())

    command.downgrade(config, "0006")

    assert _rows(engine) == (1, 1, 1)
    tables = inspect(engine)
    assert "ssosignin" not in tables.get_table_names()
    assert "oidc_subject" not in {c["name"] for c in tables.get_columns("user")}
    engine.dispose()
