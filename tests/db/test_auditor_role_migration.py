"""Migration 0010: the auditor role can be stored, and nothing that points at a user is lost on the way."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from gateway_api.db.engine import alembic_config, make_engine


def test_auditor_role_is_added_without_losing_keys(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0009")
    with engine.begin() as connection:
        connection.execute(
            text("""INSERT INTO "user" (email, name, password_hash, role, active, created_at, updated_at)
                    VALUES ('a@example.com', '', '', 'user', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)""")
        )
        user_id = connection.execute(text("""SELECT id FROM "user" WHERE email = 'a@example.com'""")).scalar_one()
        connection.execute(
            text(f"""INSERT INTO apikey (user_id, name, prefix, digest, scopes, created_at)
                     VALUES ({user_id}, 'k', 'gwk_x', 'digest-1', 'llm', CURRENT_TIMESTAMP)""")
        )

    command.upgrade(config, "head")
    command.upgrade(config, "head")  # a second run changes nothing

    with engine.begin() as connection:
        connection.execute(text("""UPDATE "user" SET role = 'auditor' WHERE email = 'a@example.com'"""))
    with engine.connect() as connection:
        assert connection.execute(text('SELECT role FROM "user"')).scalar_one() == "auditor"
        assert connection.execute(text("SELECT count(*) FROM apikey")).scalar_one() == 1

    command.downgrade(config, "0009")
    with engine.connect() as connection:
        assert connection.execute(text('SELECT role FROM "user"')).scalar_one() == "user"
        assert connection.execute(text("SELECT count(*) FROM apikey")).scalar_one() == 1
    engine.dispose()
