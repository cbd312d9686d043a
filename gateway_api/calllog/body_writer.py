"""Stored bodies go to the database from a worker thread, in batches (db/threaded_batches.py). The event loop frames
each call's exchange when the call ends (stored_exchange.py: a small JSON head and a join of the bytes it relayed)
and queues the frame; compressing, encrypting and inserting happen in the thread. A frame is one bytes object, which
the cyclic garbage collector never walks: half a second of queued exchanges (several lists and objects each) made
every collection on the event loop longer (bench/README.md, issue 16).

At most MAX_QUEUED_BYTES of bodies wait; past it an exchange is dropped and counted
(gateway_call_log_bodies_dropped) rather than letting a database outage or a flood of large calls grow memory.
Bodies are never logged."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from gateway_api.calllog.capture import Exchange
from gateway_api.calllog.sealing import BodySealer
from gateway_api.calllog.stored_exchange import encode_exchange
from gateway_api.db.models import CallBody
from gateway_api.db.prepared_statements import PreparedStatement
from gateway_api.db.threaded_batches import ThreadedBatchWriter

log = logging.getLogger("gateway.calllog")

MAX_QUEUED_BYTES = 256 * 1024 * 1024
MAX_BATCH = 200


class BodyWriter(ThreadedBatchWriter[tuple[str, datetime, bytes]]):
    what = "call bodies"

    def __init__(self, engine: Engine, sealer: BodySealer, flush_interval: float) -> None:
        super().__init__(flush_interval, MAX_QUEUED_BYTES, MAX_BATCH, log)
        self._engine = engine
        self._sealer = sealer
        table = CallBody.__table__  # type: ignore[attr-defined]
        dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._insert = PreparedStatement(
            engine.dialect,
            dialect_insert(table).on_conflict_do_nothing(index_elements=["call_id"]),
            table,
            ("call_id", "created_at", "sealed"),
        )

    def add(self, call_id: str, created_at: datetime, exchange: Exchange) -> None:
        """Frame one call's exchange and queue it. Never blocks, never raises."""
        frame = encode_exchange(exchange)
        self._queue((call_id, created_at, frame), len(frame))

    def _write(self, batch: list[tuple[str, datetime, bytes]]) -> None:
        rows = [(call_id, created_at, self._sealer.seal(frame)) for call_id, created_at, frame in batch]
        parameters = self._insert.parameters_of_tuples(rows)
        with self._engine.begin() as connection:
            self._insert.execute(connection, parameters)
