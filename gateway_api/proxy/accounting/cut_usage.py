"""The usage of a call whose response was cut before the provider's closing usage report: what the provider told
so far, and a conservative estimate (usage/estimates.py) for the rest.

A provider bills a call the client left, or the connection to the upstream lost, for all it processed: the whole
input, and at least the output the gateway relayed. So:
- input: the provider's figure when it told it (Anthropic's `message_start` carries the input and cache figures);
  otherwise estimated from the request body's size;
- output: the larger of the provider's figure so far and the estimate for the generated text relayed so far (text,
  reasoning and tool-argument deltas), so never 0 once text was relayed.

The input side is not asked of a token-counting endpoint (Anthropic's `/v1/messages/count_tokens`): Anthropic sends
`message_start` with the head of the stream, so an Anthropic stream cut after its head almost always has its input;
for the rest, a second upstream call per cut call (which a client could multiply at will) would hold the row and
the limits back by a round trip, and keep every request body alive until it answers. The body-size estimate errs
high, the safe side for limits.
"""

from __future__ import annotations

from dataclasses import replace

from gateway_api.proxy.accounting.usage_scanner import UsageScanner
from gateway_api.usage.estimates import tokens_for_bytes
from gateway_api.usage.tokens import TokenUsage


def is_cut(scanner: UsageScanner, status_code: int) -> bool:
    """A successful response that ended without the provider's closing usage report (after scanner.finish())."""
    return status_code < 400 and not scanner.usage_complete


def completed_usage(reported: TokenUsage, scanner: UsageScanner, request_bytes: int) -> TokenUsage:
    """`reported` (the scanner's figures) with the sides the provider did not tell estimated."""
    input_tokens = reported.input_tokens
    if not scanner.input_reported:
        input_tokens = max(input_tokens, tokens_for_bytes(request_bytes))
    output_tokens = max(reported.output_tokens, tokens_for_bytes(scanner.relayed_text_bytes))
    return replace(reported, input_tokens=input_tokens, output_tokens=output_tokens)
