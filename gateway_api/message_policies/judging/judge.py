"""LlmJudge: judged message policies decided by an LLM the gateway calls with its own provider credential.

One judgement is: the verdict cache (this process, then Redis), else one call to the judge model (the catalog's
current choice, either provider kind) through the proxy's upstream pool, bounded by
GATEWAY_MESSAGE_POLICY_JUDGE_TIMEOUT_SECONDS. Identical judgements asked for while one is in flight share it, so an
agent's burst of calls with the same history costs one judge call. Every judge call becomes a usage row under no
user or key (endpoint `message_policy_judge`): the gateway pays for it, and Token Usage shows it as such.

Nothing here raises for a judging failure: no judge model, a timeout, an unreachable or failing upstream and a
malformed verdict all come back as a failed JudgeVerdict, and the policy's on_judge_error decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway_api.catalog.snapshot import ModelEntry
from gateway_api.db.models import Outcome
from gateway_api.message_policies.judging.judge_prompt import (
    ANTHROPIC_PATH,
    NO_REPLY,
    build_judge_request,
    failed_verdict,
    parse_verdict,
)
from gateway_api.message_policies.judging.verdict_cache import VerdictCache, verdict_key
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyScope
from gateway_api.message_policies.verdicts import JudgeVerdict
from gateway_api.providers.names import PROVIDER_NAMES, ProviderName
from gateway_api.providers.pricing import cost_usd
from gateway_api.providers.spec import EndpointKind, join_base_url
from gateway_api.proxy.accounting.ledger import model_price
from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.proxy.content_decoding import DecodeLimits, make_decoder
from gateway_api.proxy.http1 import UpstreamResponse
from gateway_api.proxy.upstream import UpstreamClient, gateway_headers
from gateway_api.server.request_context import new_request_id
from gateway_api.usage import system_actor
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TokenUsage
from gateway_api.usage.validation import correct_row

log = logging.getLogger("gateway.message_policies")

# Declared with the usage views, which tell the judge's rows from the users' by them.
JUDGE_ENDPOINT = system_actor.JUDGE_ENDPOINT
JUDGE_CLIENT = system_actor.JUDGE_CLIENT
# A verdict is a few hundred bytes; a reply far larger is not one, and is not read whole into memory.
MAX_REPLY_BYTES = 1024 * 1024
_REPLY_DECODE_LIMITS = DecodeLimits(max_output_bytes=MAX_REPLY_BYTES, max_ratio=100.0)

NO_JUDGE = "no message policy judge model is configured"
NOT_JUDGED = "the policy has no judged rule"
TIMED_OUT = "the message policy judge did not answer in time"
UNREACHABLE = "the message policy judge could not be reached"
JUDGE_ERROR = "the message policy judge answered with an error"

JudgeModel = Callable[[], ModelEntry | None]
UsageRecorder = Callable[[UsageRow], None]


class ReplyTooLarge(ValueError):
    """The judge's reply exceeds MAX_REPLY_BYTES."""


@dataclass(slots=True)
class _Exchange:
    """What one judge call left for its usage row."""

    status: int = 0
    outcome: Outcome = Outcome.ok
    request_id: str | None = None
    first_byte_at: float | None = None
    usage: TokenUsage | None = None


class LlmJudge:
    """The `Judge` of judged message policies (verdicts.Judge). One per process, built in the lifespan."""

    def __init__(
        self,
        judge_model: JudgeModel,
        upstream: UpstreamClient,
        cache: VerdictCache,
        timeout: float,
        record_usage: UsageRecorder,
        new_call_id: Callable[[], str] = new_request_id,
    ) -> None:
        self._judge_model = judge_model  # read per call: the catalog's current snapshot decides
        self._upstream = upstream
        self._cache = cache
        self._timeout = timeout
        self._record_usage = record_usage
        self._new_call_id = new_call_id
        self._in_flight: dict[str, asyncio.Task[JudgeVerdict]] = {}

    async def judge(self, policy: MessagePolicyEntry, scope: PolicyScope, text: str) -> JudgeVerdict:
        rule = policy.rule.judge
        if rule is None:
            return failed_verdict(NOT_JUDGED)
        key = verdict_key(policy, scope, text)
        cached = self._cache.local(key)
        if cached is not None:
            return cached
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._judge_once(key, rule, scope, text), name="message-policy-judge")
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # Shielded: a caller that goes away (its client disconnected) must not cancel the judgement others await;
        # the call finishes within the timeout and its verdict is cached for the next time.
        return await asyncio.shield(task)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def aclose(self) -> None:
        """Cancel the judgements still running (their callers are gone at shutdown); run before the upstream client
        closes, in the lifespan."""
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, key: str, done: asyncio.Task[JudgeVerdict]) -> None:
        if self._in_flight.get(key) is done:
            del self._in_flight[key]

    async def _judge_once(self, key: str, rule: str, scope: PolicyScope, text: str) -> JudgeVerdict:
        try:
            cached = await self._cache.get(key)
            if cached is not None:
                return cached
            verdict = await self._call_judge(rule, scope, text)
            await self._cache.put(key, verdict)
            return verdict
        except Exception:  # a bug here must cost one judgement (on_judge_error decides), never the call
            log.exception("message policy judgement failed")
            return failed_verdict(NO_REPLY)

    async def _call_judge(self, rule: str, scope: PolicyScope, text: str) -> JudgeVerdict:
        model = self._judge_model()
        if model is None or not model.active or model.provider.kind not in PROVIDER_NAMES:
            return failed_verdict(NO_JUDGE)
        credential = model.provider.credential
        if not credential:
            return failed_verdict(NO_JUDGE)
        kind: ProviderName = "anthropic" if model.provider.kind == "anthropic" else "openai"
        request = build_judge_request(kind, model.name, rule, scope, text)
        url = join_base_url(model.provider.base_url, request.path)
        headers = gateway_headers(kind, credential)
        loop = asyncio.get_running_loop()
        started = loop.time()
        exchange = _Exchange()
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._upstream.send("POST", url, headers, request.body)
                try:
                    exchange.status = response.status
                    exchange.first_byte_at = loop.time()
                    exchange.request_id = response.headers.get("request-id") or response.headers.get("x-request-id")
                    body = await _read_reply(response)
                finally:
                    response.close()
        except TimeoutError:
            exchange.status, exchange.outcome = exchange.status or 504, Outcome.gateway_error
            verdict = failed_verdict(TIMED_OUT)
        except (OSError, ValueError) as exc:  # unreachable, cut, or a reply too large or in an unknown coding
            log.warning("message policy judge unreachable", extra={"model": model.name, "error": type(exc).__name__})
            exchange.status, exchange.outcome = exchange.status or 502, Outcome.upstream_error
            verdict = failed_verdict(UNREACHABLE)
        else:
            exchange.usage = _reply_usage(kind, request.path, body)
            if 200 <= response.status < 300:
                verdict = parse_verdict(kind, body)
                if verdict.failed:
                    log.warning("message policy judge gave no readable verdict", extra={"model": model.name})
            else:
                log.warning("message policy judge error", extra={"model": model.name, "status": response.status})
                exchange.outcome = Outcome.upstream_error
                verdict = failed_verdict(JUDGE_ERROR)
        self._record(model, kind, request.path, exchange, started, loop.time())
        return verdict

    def _record(
        self, model: ModelEntry, kind: ProviderName, path: str, exchange: _Exchange, started: float, ended: float
    ) -> None:
        """The judge call's usage row (also for a failed call: the call log shows the judge's failures)."""
        usage = exchange.usage or TokenUsage()
        row = UsageRow(
            created_at=datetime.now(UTC),
            user_id=None,
            api_key_id=None,
            provider=model.provider.name,
            provider_kind=kind,
            model=model.name,
            endpoint=JUDGE_ENDPOINT,
            streamed=False,
            tokens=usage,
            cost_usd=cost_usd(usage, model_price(model), kind),
            status_code=exchange.status,
            outcome=exchange.outcome,
            latency_ms=round((ended - started) * 1000, 3),
            ttfb_ms=None if exchange.first_byte_at is None else round((exchange.first_byte_at - started) * 1000, 3),
            client=JUDGE_CLIENT,
            session_id=None,
            request_id=exchange.request_id[:200] if exchange.request_id else None,
            call_id=self._new_call_id(),
            path=path,
            method="POST",
        )
        try:
            correct_row(row)
            self._record_usage(row)
        except Exception:  # the verdict stands even if its row cannot be recorded
            log.exception("could not record the usage of a message policy judge call", extra={"model": model.name})


async def _read_reply(response: UpstreamResponse) -> bytes:
    """The whole reply body, decoded if the upstream encoded it despite `accept-encoding: identity`, at most
    MAX_REPLY_BYTES (ReplyTooLarge past that; UnsupportedEncodingError / DecodedTooLarge are ValueErrors too)."""
    decoder = make_decoder(response.headers.get("content-encoding"), _REPLY_DECODE_LIMITS)
    parts: list[bytes] = []
    size = 0
    while chunk := await response.content.readany():
        pieces = [chunk] if decoder is None else list(decoder.decode(chunk))
        for piece in pieces:
            size += len(piece)
            if size > MAX_REPLY_BYTES:
                raise ReplyTooLarge("the judge's reply is larger than a verdict can be")
            parts.append(piece)
    return b"".join(parts)


def _reply_usage(kind: ProviderName, path: str, body: bytes) -> TokenUsage:
    """The reply's `usage`, normalised as for a proxied call (Anthropic's input includes its cache figures)."""
    endpoint = EndpointKind.MESSAGES if path == ANTHROPIC_PATH else EndpointKind.CHAT_COMPLETIONS
    scanner = UsageScanner(kind, streaming=False, endpoint=endpoint)
    scanner.feed(body)
    return scanner.finish()
