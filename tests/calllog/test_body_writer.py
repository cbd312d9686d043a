"""The body writer queues a call's exchange as one framed bytes object (nothing the cyclic garbage collector walks)
and writes it sealed; what the database holds opens back into the exchange as sent."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway_api.calllog.body_writer import BodyWriter
from gateway_api.calllog.capture import request_exchange
from gateway_api.calllog.sealing import BodySealer
from gateway_api.calllog.stored_exchange import decode_exchange
from gateway_api.db.models import CallBody

SECRET = "k" * 43


def test_a_queued_exchange_is_one_untracked_frame_and_is_written_sealed(engine: Engine) -> None:
    sealer = BodySealer(SECRET)
    writer = BodyWriter(engine, sealer, flush_interval=0.01)
    exchange = request_exchange([(b"x-api-key", b"gwk_secret")], b'{"model":"m","messages":[]}', 1024)
    reply = exchange.reply(200, [(b"content-type", b"text/event-stream")], streamed=True)
    for event in (b'data: {"type":"message_start"}\n\n', b'data: {"type":"message_stop"}\n\n'):
        reply.add(event)
    writer.add("call-1", datetime.now(UTC), exchange)
    del exchange, reply

    gc.collect()  # a collection untracks tuples of untracked values (the inner one first, then the entry)
    gc.collect()
    assert writer.pending == 1
    assert not any(gc.is_tracked(entry) or gc.is_tracked(entry[0]) for entry in writer._pending)

    assert asyncio.run(writer.flush()) is True
    with Session(engine) as session:
        stored = session.exec(select(CallBody)).one()
    assert stored.call_id == "call-1" and b"message_start" not in stored.sealed and b"gwk_secret" not in stored.sealed
    document = decode_exchange(sealer.open(stored.sealed))
    assert document["request"]["headers"] == [["x-api-key", "[redacted]"]]
    assert document["request"]["body"]["text"] == '{"model":"m","messages":[]}'
    assert document["response"]["streamed"] is True
    assert document["response"]["body"]["text"].count("data:") == 2
