"""The call log's parts a running gateway holds: the sealer (bodies are read by the REST API), the body writer
(when GATEWAY_LLM_LOG_BODIES is on) and the retention pruner, with their metrics."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from gateway_api.calllog.body_writer import BodyWriter
from gateway_api.calllog.retention import PRUNE_INTERVAL, holder_name, prune
from gateway_api.calllog.sealing import BodySealer
from gateway_api.core.settings import Settings
from gateway_api.metrics.registry import GatewayMetrics

log = logging.getLogger("gateway.calllog")


@dataclass
class CallLogRuntime:
    settings: Settings
    engine: Engine
    sealer: BodySealer
    bodies: BodyWriter | None  # None while GATEWAY_LLM_LOG_BODIES is off
    holder: str = field(default_factory=holder_name)

    @classmethod
    def build(cls, settings: Settings, engine: Engine, secret_key: str) -> CallLogRuntime:
        sealer = BodySealer(secret_key)
        writer = BodyWriter(engine, sealer, settings.usage_flush_interval) if settings.llm_log_bodies else None
        return cls(settings, engine, sealer, writer)

    def watch(self, metrics: GatewayMetrics) -> None:
        bodies = self.bodies
        if bodies is None:
            return
        metrics.count("gateway_call_log_bodies_written", "Call bodies stored (encrypted).", lambda: bodies.written)
        metrics.count(
            "gateway_call_log_bodies_dropped",
            "Call bodies not stored because too many bytes were already waiting for the database.",
            lambda: bodies.dropped,
        )
        metrics.watch("call_log_bodies_queued", lambda: bodies.pending)

    def tasks(self) -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(self._prune_periodically())]
        if self.bodies is not None:
            tasks.append(asyncio.create_task(self.bodies.run()))
        return tasks

    async def _prune_periodically(self) -> None:
        while True:
            try:
                await asyncio.to_thread(prune, self.engine, self.settings.llm_log_retention_days, self.holder)
            except SQLAlchemyError as exc:
                log.warning("call log retention run failed: %s", type(exc).__name__)
            await asyncio.sleep(PRUNE_INTERVAL)

    async def close(self, deadline: float) -> None:
        if self.bodies is not None:
            await self.bodies.close(deadline)
