"""The proxy for `/api/llm-proxy/{anthropic|openai}/...`, a plain ASGI app (FastAPI routing would cost most of
its throughput).

Read top to bottom: route -> caller -> (model lists from the catalog) -> body and model -> policy -> limits ->
message policies (only for callers some policy names) -> forward -> relay the reply chunk by chunk while reading
its usage (and guarding its tool calls when a policy covers them) -> one usage row after the last byte (ledger.py).
Nothing here reads the database in steady state: keys, users, policies and models come from the catalog snapshot.
Every step that refuses a call raises a `Refusal`, answered in the provider's envelope in one place.
"""

from __future__ import annotations

import asyncio
import logging

from gateway_api.calllog.capture import CappedBody, request_exchange
from gateway_api.catalog.snapshot import ModelEntry, Snapshot
from gateway_api.core.log_config import request_id_var
from gateway_api.db.models import Outcome
from gateway_api.limits.limiter import Exceeded, LimitsUnavailable
from gateway_api.limits.reservations import Ticket, expected_cost
from gateway_api.message_policies.replies.tool_call_guard import ToolCallGuard
from gateway_api.message_policies.rules import MessagePolicyEntry
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind, error_body, join_base_url
from gateway_api.proxy.accounting.ledger import CallTrace, UsageLedger, model_price
from gateway_api.proxy.accounting.refused_row import refused_call, refused_row
from gateway_api.proxy.accounting.usage_opt_in import UsageChunkHider, with_usage_requested
from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.proxy.asgi_io import (
    BodyTooLarge,
    ClientGone,
    DisconnectWatch,
    declared_length,
    read_body,
)
from gateway_api.proxy.auth import Caller, KeyAuthenticator, presented_key
from gateway_api.proxy.call_trace import call_trace, forwarded_for, peer_address
from gateway_api.proxy.content_decoding import (
    DecodedTooLarge,
    DecodeLimits,
    StreamDecoder,
)
from gateway_api.proxy.deadline import UpstreamDeadline
from gateway_api.proxy.http1 import UpstreamResponse
from gateway_api.proxy.large_body import LARGE_BODY_BYTES, read_large_request
from gateway_api.proxy.message_policy_step import MessagePolicyStep, PolicyBlocked
from gateway_api.proxy.model_access import authorised_model, model_list
from gateway_api.proxy.refusal import Refusal
from gateway_api.proxy.reply_decoding import decoder_for_client, encoded
from gateway_api.proxy.request_guards import ProviderAccess, refuse_encoded_body
from gateway_api.proxy.request_model import RequestFacts, read_request
from gateway_api.proxy.routes import FALLBACK_PROVIDER, Endpoint, resolve, split_target
from gateway_api.proxy.upstream import UpstreamClient, forward_headers, forwarded_query, is_redirect, relayed_headers
from gateway_api.security.forwarding import ClientAddresses
from gateway_api.server.asgi import Receive, Scope, Send, send_whole
from gateway_api.services import AppServices

log = logging.getLogger("gateway.proxy")

_AUTH_HEADERS = (b"authorization", b"x-api-key")
_PROBE_HEADERS = ((b"content-type", b"text/plain"),)
# Known paths resolved once (the validation regexes cost more than the rest of routing); bounded, cleared when full.
MAX_CACHED_ROUTES = 1024
# Seconds before a call starts listening for its client leaving (see DisconnectWatch).
DISCONNECT_WATCH_DELAY = 0.25


class UpstreamBrokeOff(Exception):
    """The upstream failed after the response head was relayed; the client connection is closed to show it."""


class ProxyApp:
    """Built at start-up (app.py) with everything it calls: no step finds a dependency missing."""

    def __init__(
        self,
        services: AppServices,
        upstream: UpstreamClient,
        auth: KeyAuthenticator,
        ledger: UsageLedger,
        message_policies: MessagePolicyStep,
    ) -> None:
        self._services = services
        self._message_policies = message_policies
        self._settings = services.settings
        self._upstream = upstream
        self._auth = auth
        self._ledger = ledger
        self._client_addresses = ClientAddresses(services.settings.trusted_proxy_networks)
        self._routes: dict[tuple[bytes, str], tuple[ProviderName, Endpoint]] = {}
        self._access = ProviderAccess()
        self._decode_limits = DecodeLimits(self._settings.max_decoded_bytes, self._settings.max_decode_ratio)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # the lifespan belongs to the gateway app; websockets are not proxied
        started = asyncio.get_running_loop().time()
        provider, endpoint = self._route(scope)
        address = self._client_addresses.resolve(peer_address(scope), forwarded_for(scope))
        caller: Caller | None = None
        request: RequestFacts | Refusal | None = None
        ticket: Ticket | None = None
        try:
            if endpoint is None:
                raise self._not_proxied(scope)
            if endpoint.kind is EndpointKind.PROBE:
                await send_whole(send, 200, b"", _PROBE_HEADERS)  # Claude Code's unauthenticated start-up probe
                return
            caller = await self._caller(scope, address)
            snapshot = self._services.catalog.snapshot
            if endpoint.kind is EndpointKind.LIST_MODELS or endpoint.kind is EndpointKind.GET_MODEL:
                await send_whole(send, 200, model_list(snapshot, caller, provider, endpoint, scope["query_string"]))
                return
            self._access.require_any_grant(snapshot, caller.user, provider)  # before a byte of the body is read
            refuse_encoded_body(scope)
            body = await self._body(scope, receive)
            # Validated once; the original bytes are what goes upstream. A large body is scanned, not parsed whole.
            request = read_request(body) if len(body) <= LARGE_BODY_BYTES else await read_large_request(body)
            if isinstance(request, Refusal):
                raise request
            model, credential = authorised_model(snapshot, caller, provider, request.model)
            ticket = await self._admit(snapshot, caller, model, request, len(body), endpoint.usage_accounted)
            policies = snapshot.message_policies_for(caller.user)  # () at once when no policy is configured
            if policies:
                body = await self._message_policies.screen_request(
                    policies, scope, send, provider, endpoint, started, address, caller, request, body, ticket
                )
        except Refusal as refusal:
            await _refuse(send, provider, refusal)
            facts = request if isinstance(request, RequestFacts) else None
            call = refused_call(scope, provider, endpoint, started, address, caller, facts, self._services.catalog)
            self._ledger.refused(refused_row(call, refusal, asyncio.get_running_loop().time()))
            return
        except (ClientGone, PolicyBlocked):
            return
        opted_in = None  # usage_opt_in.py: a streamed chat completion reports usage only when asked
        if endpoint.kind is EndpointKind.CHAT_COMPLETIONS and request.stream and not request.include_usage:
            opted_in = with_usage_requested(body, request)
        forwarded = body if opted_in is None else opted_in
        trace = (
            call_trace(scope, provider, endpoint, caller, model, started, len(forwarded), request, address)
            if endpoint.usage_accounted
            else None
        )
        if trace is not None:
            if self._settings.llm_log_bodies:
                trace.exchange = request_exchange(scope["headers"], body, self._settings.llm_log_max_body_bytes)
            self._ledger.begin(trace)
        try:
            await self._forward(
                scope,
                receive,
                send,
                provider,
                endpoint,
                model,
                credential,
                forwarded,
                trace,
                opted_in is not None,
                policies,
            )
        finally:
            if ticket is not None:
                self._services.limits.end(ticket)  # its concurrency slots; the reservation waits for its row

    # --- the steps, in the order __call__ takes them ------------------------------------------------------------

    def _route(self, scope: Scope) -> tuple[ProviderName, Endpoint | None]:
        """The provider and endpoint of a known path (cached by raw path); the endpoint is None for any other."""
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        method: str = scope["method"]
        cached = self._routes.get((raw_path, method))
        if cached is not None:
            return cached
        provider, subpath = split_target(raw_path)
        if provider is None:
            return FALLBACK_PROVIDER, None
        endpoint = resolve(provider, method, subpath)
        if endpoint is None:
            return provider, None
        # Only proxied paths are cached: refused ones cannot churn the cache for free.
        if len(self._routes) >= MAX_CACHED_ROUTES:
            self._routes.clear()
        self._routes[(raw_path, method)] = (provider, endpoint)
        return provider, endpoint

    def _not_proxied(self, scope: Scope) -> Refusal:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        provider, subpath = split_target(raw_path)
        if provider is None:
            return Refusal(404, "unknown provider; use /api/llm-proxy/anthropic or /openai")
        return Refusal(404, f"{scope['method']} {subpath.decode('latin-1')} is not proxied")

    async def _caller(self, scope: Scope, address: str) -> Caller:
        """One gateway key, live, of an active user, with the llm scope."""
        secret = presented_key([(n, v) for n, v in scope["headers"] if n in _AUTH_HEADERS])
        if isinstance(secret, Refusal):
            raise secret
        return await self._auth.authenticate(secret, address)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self._settings.max_body_bytes
        try:
            length = declared_length(scope)
            if length is not None and length > limit:
                raise BodyTooLarge  # refuse before reading a byte of it
            return await read_body(receive, limit)
        except BodyTooLarge:
            raise Refusal(413, f"request body is larger than {limit} bytes") from None

    async def _admit(
        self, snapshot: Snapshot, caller: Caller, model: ModelEntry, request: RequestFacts, size: int, accounted: bool
    ) -> Ticket | None:
        """Quotas, request rate, spend budgets, concurrent calls: one dict lookup when no limit applies to this key.
        An accounted call reserves its expected cost (limits/reservations.py) until its usage row is counted."""
        limits = self._services.limits
        plan = limits.plan_for(snapshot, caller.key)
        if plan is None:
            return None
        key = caller.key
        expected = (
            expected_cost(size, request.max_output_tokens, limits.output_cap, model_price(model)) if accounted else None
        )
        try:
            admitted = await limits.admit(plan, key.user_id, key.id, expected, request_id_var.get())
        except LimitsUnavailable:
            raise Refusal(503, "the gateway cannot reach its limit counters; try again shortly", 5.0) from None
        if isinstance(admitted, Exceeded):
            self._services.metrics.quota_refusals.labels(limit=admitted.limit.value).inc()
            raise Refusal(429, admitted.message, admitted.retry_after)
        return admitted

    # --- forward and relay -------------------------------------------------------------------------------------

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        provider: ProviderName,
        endpoint: Endpoint,
        model: ModelEntry,
        credential: str,
        body: bytes,
        trace: CallTrace | None,
        hide_usage: bool,
        policies: tuple[MessagePolicyEntry, ...],
    ) -> None:
        settings, ledger, loop = self._settings, self._ledger, asyncio.get_running_loop()
        query = forwarded_query(provider, endpoint.kind, scope["query_string"])
        url = join_base_url(model.provider.base_url, endpoint.upstream_path, query)
        headers = forward_headers(scope["headers"], provider, credential)
        scanner: UsageScanner | None = None
        task = asyncio.current_task()
        if task is None:  # an ASGI server runs every request in a task; nothing to watch without one
            raise RuntimeError("the proxy must run in a task")
        watch = DisconnectWatch(receive, task, DISCONNECT_WATCH_DELAY)
        # The first-byte limit runs from here to the first body byte (head and first chunk), separately from the
        # idle limit between later chunks: a model may think long before its first token, then stream briskly.
        first_byte_at = loop.time() + settings.upstream_first_byte_timeout
        deadline = UpstreamDeadline(task, first_byte_at, settings.upstream_idle_timeout)
        try:
            try:
                with deadline:
                    response = await self._upstream.request(scope["method"], url, headers, body)
            except TimeoutError:
                watch.stop()
                deadline.close()  # nothing the client is sent now is bounded by the upstream's limits
                await _upstream_failed(send, provider, trace, 504, f"the {provider} upstream did not answer in time")
                return
            except OSError as exc:
                log.warning(
                    "upstream unreachable", extra={"provider": model.provider.name, "error": type(exc).__name__}
                )
                watch.stop()
                deadline.close()
                await _upstream_failed(send, provider, trace, 502, f"could not reach the {provider} upstream")
                return
            if is_redirect(response.status):
                response.close()
                watch.stop()
                deadline.close()
                await _upstream_failed(send, provider, trace, 502, f"the {provider} upstream answered with a redirect")
                return
            guard: ToolCallGuard | None = None
            try:
                streamed = response.content_type == "text/event-stream"
                if trace is not None:
                    trace.status_code = response.status
                    trace.request_id = response.headers.get("request-id") or response.headers.get("x-request-id")
                    trace.streamed = streamed
                    if policies and response.status < 400:  # tool calls a policy covers are held and judged
                        guard = self._message_policies.reply_guard(policies, provider, endpoint.kind, streamed)
                # What asking for usage added is taken out of a stream before it is relayed, so it is read decoded.
                hider = UsageChunkHider() if hide_usage and streamed else None
                must_decode = hider is not None or guard is not None
                decoder = decoder_for_client(scope, response, self._decode_limits, must_decode=must_decode)
                if guard is not None and decoder is None and encoded(response):
                    # Tool calls the gateway cannot read are never relayed unchecked.
                    watch.stop()
                    deadline.close()
                    what = f"the {provider} upstream sent a reply in a coding the gateway cannot check"
                    await _upstream_failed(send, provider, trace, 502, what)
                    return
                if hider is not None and decoder is None and encoded(response):
                    hider = None  # a coding the gateway cannot decode: relayed as it is
                if trace is not None:
                    encoding = None if decoder else response.headers.get("content-encoding")
                    scanner = UsageScanner(provider, trace.streamed, encoding, endpoint.kind, self._decode_limits)
                capture = None
                if trace is not None and trace.exchange is not None:
                    # A copy: the parser's list may be reused; redacted in the body writer's thread.
                    capture = trace.exchange.reply(response.status, list(response.raw_headers), trace.streamed)
                await self._relay(
                    send, provider, response, decoder, scanner, trace, watch, deadline, hider, capture, guard
                )
            finally:
                response.close()  # after a full read the connection is already back in the pool; else drop it
                if guard is not None and trace is not None:
                    self._message_policies.record(guard.violations, trace.key, trace.call_id)
        except asyncio.CancelledError:
            if not watch.fired:
                # Cancelled by the server, not the client: a shutdown's grace period ran out mid-call.
                if trace is not None:
                    trace.outcome = Outcome.gateway_error
                    trace.status_code = trace.status_code or 503
                raise
            task.uncancel()
            if trace is not None:
                trace.outcome = Outcome.client_closed
                trace.status_code = trace.status_code or 499
        finally:
            watch.stop()
            deadline.close()
            if trace is not None:
                ledger.add(trace, scanner, loop.time())

    async def _relay(
        self,
        send: Send,
        provider: ProviderName,
        response: UpstreamResponse,
        decoder: StreamDecoder | None,
        scanner: UsageScanner | None,
        trace: CallTrace | None,
        watch: DisconnectWatch,
        deadline: UpstreamDeadline,
        hider: UsageChunkHider | None,
        capture: CappedBody | None,
        guard: ToolCallGuard | None,
    ) -> None:
        """Relay the upstream reply chunk by chunk as it arrives, feeding the usage scanner (and the call log's
        capture, when it stores bodies) on the way. A tool-call guard holds the reply from its first tool call
        until the calls are judged, at its end."""
        loop = asyncio.get_running_loop()
        content = response.content
        head_sent = False
        try:
            with deadline:
                while True:
                    chunk = await content.readany()
                    deadline.pause()  # a slow client is not an idle upstream
                    if decoder is not None and chunk:
                        chunk = b"".join(decoder.decode(chunk))
                    if scanner is not None:
                        scanner.feed(chunk)
                    if capture is not None:
                        capture.add(chunk)
                    finished = content.at_eof()
                    if hider is not None:
                        chunk = hider.relay(chunk, finished)
                    if guard is not None:
                        chunk = guard.feed(chunk) + (await guard.finish() if finished else b"")
                    if not head_sent:
                        head_sent = True
                        if trace is not None:
                            trace.first_byte_at = loop.time()
                        rewritten = decoder is not None or hider is not None or guard is not None
                        head = relayed_headers(response, drop_encoding=rewritten)
                        await send({"type": "http.response.start", "status": response.status, "headers": head})
                    if finished:
                        watch.stop()
                        await send({"type": "http.response.body", "body": chunk, "more_body": False})
                        break
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    deadline.resume()
        except TimeoutError:
            watch.stop()  # whatever is sent now is the last message
            deadline.close()
            what = "stopped sending" if head_sent else "did not answer in time"
            await _ended_early(send, provider, trace, head_sent, Outcome.gateway_error, 504, what)
        except OSError:
            watch.stop()
            deadline.close()
            await _ended_early(send, provider, trace, head_sent, Outcome.upstream_error, 502, "closed the connection")
        except DecodedTooLarge as exc:
            watch.stop()
            deadline.close()
            log.warning("compressed reply refused: %s", exc)
            what = "sent a compressed reply past the gateway's decoding limits"
            await _ended_early(send, provider, trace, head_sent, Outcome.gateway_error, 502, what)
        else:
            if trace is not None:
                trace.outcome = Outcome.ok if response.status < 400 else Outcome.upstream_error


async def _ended_early(
    send: Send,
    provider: ProviderName,
    trace: CallTrace | None,
    head_sent: bool,
    outcome: Outcome,
    status: int,
    what: str,
) -> None:
    """Before the head is out the client gets an error in its envelope; after it, the only honest signal left is
    to drop the connection (the usage row is written on the way out)."""
    message = f"the {provider} upstream {what}"
    if not head_sent:
        await _upstream_failed(send, provider, trace, status, message)
        return
    if trace is not None:
        trace.outcome = outcome
    log.warning("%s mid-response; closing the client connection", message)
    raise UpstreamBrokeOff(message)


async def _upstream_failed(
    send: Send, provider: ProviderName, trace: CallTrace | None, status: int, message: str
) -> None:
    if trace is not None:
        trace.status_code, trace.outcome = status, Outcome.gateway_error
    await send_whole(send, status, error_body(provider, status, message))


async def _refuse(send: Send, provider: ProviderName, refusal: Refusal) -> None:
    headers = [(b"content-type", b"application/json")]
    if refusal.retry_after is not None:
        headers.append((b"retry-after", str(max(1, round(refusal.retry_after))).encode()))
    body = error_body(provider, refusal.status, refusal.message, code=refusal.code)
    await send_whole(send, refusal.status, body, tuple(headers))
