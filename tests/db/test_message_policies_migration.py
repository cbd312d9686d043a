"""Migration 0012: the message policy tables come and go without touching what was there."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from gateway_api.db.engine import alembic_config, make_engine

TABLES = {"messagepolicy", "messagepolicysettings", "messagepolicyviolation"}


def test_message_policy_tables_are_added_and_removed(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0011")
    with engine.begin() as connection:
        connection.execute(
            text("""INSERT INTO "user" (email, name, password_hash, role, active, created_at, updated_at)
                    VALUES ('a@example.com', '', '', 'user', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)""")
        )
    assert not TABLES & set(inspect(engine).get_table_names())

    command.upgrade(config, "head")
    command.upgrade(config, "head")  # a second run changes nothing
    assert TABLES <= set(inspect(engine).get_table_names())
    indexes = {i["name"] for i in inspect(engine).get_indexes("messagepolicyviolation")}
    assert {"ix_mpviolation_policy_time", "ix_mpviolation_user_time", "ix_messagepolicyviolation_call_id"} <= indexes
    with engine.begin() as connection:
        connection.execute(
            text("""INSERT INTO messagepolicyviolation (created_at, policy_id, policy_name, scope, action,
                    explanation, content_sealed, call_id)
                    VALUES (CURRENT_TIMESTAMP, 1, 'p', 'user_messages', 'block', 'why', :sealed, 'c1')"""),
            {"sealed": b"\x00sealed"},
        )

    command.downgrade(config, "0011")
    assert not TABLES & set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text('SELECT count(*) FROM "user"')).scalar_one() == 1
    engine.dispose()
