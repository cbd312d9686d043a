"""Which text of a request each policy scope covers, by wire format: the slots policies read and may rewrite.

The proxy calls inspect_request only when some policy applies to the caller, with the body it parsed once; the
slots point into that document, so a redaction is written there and the caller re-serialises it.
"""

from __future__ import annotations

from typing import Any

from gateway_api.message_policies.requests.anthropic_shapes import inspect_messages
from gateway_api.message_policies.requests.openai_shapes import inspect_chat, inspect_responses
from gateway_api.message_policies.requests.slots import Collector, Inspection, Slot, describe
from gateway_api.message_policies.rules import PolicyScope
from gateway_api.providers.spec import EndpointKind

__all__ = ["Inspection", "Slot", "inspect_request"]

_FORMATS = {
    EndpointKind.MESSAGES: inspect_messages,
    EndpointKind.COUNT_TOKENS: inspect_messages,
    EndpointKind.CHAT_COMPLETIONS: inspect_chat,
    EndpointKind.RESPONSES: inspect_responses,
}


def inspect_request(provider: str, endpoint_kind: EndpointKind, document: object) -> Inspection:
    """The slots and unreadable scopes of a parsed request body.

    The endpoint kind names the wire format (an OpenAI-format endpoint is read the same under any provider);
    `provider` is kept for formats a provider shapes differently. Endpoints without message content (model
    lists, probes) have no slots.
    """
    del provider  # every provider the gateway serves uses its endpoint kind's format unchanged
    inspect = _FORMATS.get(endpoint_kind)
    out = Collector()
    if inspect is None:
        return out.inspection
    if not isinstance(document, dict):
        reason = f"a request body that is {describe(document)}"
        for scope in (PolicyScope.user_messages, PolicyScope.tool_results):
            out.unreadable(scope, reason, newest=True)
        return out.inspection
    doc: dict[str, Any] = document
    inspect(doc, out)
    return out.inspection
