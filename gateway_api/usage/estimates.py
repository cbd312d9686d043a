"""Token estimates for what a provider has not (yet) reported: the input of a call before it is forwarded (limit
reservations), the output of a stream cut before its final usage event, a call a crash interrupted.

The method is deliberately conservative, i.e. it errs towards more tokens, because an estimate stands in for a
provider's bill and counts against limits: English text averages about 4 bytes of UTF-8 per token with the
providers' tokenizers, code and JSON fewer; we count one token per 3 bytes. Request bodies are estimated from
their whole size (the JSON syntax and the tool schemas are part of what the provider bills as input, or more).
Where a provider can still tell exactly (e.g. a token-counting endpoint, Anthropic's `message_start`), its
figure replaces the estimate.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 3


def tokens_for_bytes(size: int) -> int:
    """At least one token per BYTES_PER_TOKEN bytes (rounded up); 0 bytes, 0 tokens."""
    if size <= 0:
        return 0
    return -(-size // BYTES_PER_TOKEN)


def tokens_for_text(text: str) -> int:
    """The estimate for relayed text, by its UTF-8 size."""
    return tokens_for_bytes(len(text.encode("utf-8", "surrogatepass")))
