"""Pattern rules as the store and the REST API's try-it box see them: validation (RE2, so no pattern can take
time exponential in its input), the built-in sets with a line of description each, and the matches in a text.

The proxy's matcher (patterns.py, with the same BUILTIN_SETS names) is the one that runs on calls; this module
compiles the same way so a pattern the store accepts is one the proxy can run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import re2

# name -> (RE2 pattern, what it finds). Patterns are anchored on word boundaries where a key would be.
BUILTINS: Mapping[str, tuple[str, str]] = {
    "aws_access_keys": (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "AWS access key ids (AKIA..., ASIA...)"),
    "private_keys": (
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----",
        "PEM and OpenSSH private key blocks",
    ),
    "card_numbers": (r"\b(?:\d[ -]?){12,18}\d\b", "payment card numbers (13 to 19 digits, spaces or dashes)"),
    "github_tokens": (r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}\b", "GitHub tokens"),
    "openai_keys": (r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b", "OpenAI-style secret keys (sk-...)"),
    "anthropic_keys": (r"\bsk-ant-[A-Za-z0-9_-]{20,}\b", "Anthropic API keys (sk-ant-...)"),
    "slack_tokens": (r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b", "Slack tokens (xoxb-, xoxp-, ...)"),
    "google_api_keys": (r"\bAIza[0-9A-Za-z_-]{35}\b", "Google API keys (AIza...)"),
}
BUILTIN_SETS: Mapping[str, str] = {name: pattern for name, (pattern, _) in BUILTINS.items()}
MAX_PATTERN_LENGTH = 1000


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = 8 << 20  # a pattern whose automaton needs more is refused, not run slowly
    options.log_errors = False  # a bad pattern is the caller's answer, not a line on stderr
    return options


def combined(pattern: str | None, builtins: Sequence[str]) -> str:
    """One alternation of the rule's own pattern and its built-in sets."""
    parts = ([pattern] if pattern else []) + [BUILTIN_SETS[name] for name in builtins]
    return "|".join(f"(?:{part})" for part in parts)


def validate_pattern(pattern: str | None, builtins: Sequence[str]) -> str | None:
    """Why the rule cannot be used (one sentence), or None when RE2 compiles it."""
    unknown = [name for name in builtins if name not in BUILTIN_SETS]
    if unknown:
        return f"unknown built-in set {unknown[0]!r}; known: {', '.join(sorted(BUILTIN_SETS))}"
    if pattern is None:
        return None
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"use at most {MAX_PATTERN_LENGTH} characters"
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        return f"not a valid RE2 regular expression: {reason}"
    if compiled.search("") is not None:
        return "the pattern matches empty text, so it would match everywhere"
    return None


def find_matches(pattern: str | None, builtins: Sequence[str], text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the non-overlapping matches, in order."""
    regex = re2.compile(combined(pattern, builtins), _options())
    return [(match.start(), match.end()) for match in regex.finditer(text) if match.end() > match.start()]


def redact(text: str, matches: Sequence[tuple[int, int]], policy_name: str) -> str:
    """`text` with every match replaced by ``[REDACTED:<policy>]``."""
    out: list[str] = []
    last = 0
    for start, end in matches:
        out.append(text[last:start])
        out.append(f"[REDACTED:{policy_name}]")
        last = end
    out.append(text[last:])
    return "".join(out)
