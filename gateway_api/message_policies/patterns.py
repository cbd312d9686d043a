"""Pattern rules: a user regular expression and/or named built-in sets, compiled once per policy revision.

RE2 (google-re2) runs every pattern in time linear in the text, so neither a hostile pattern nor a hostile text can
stall the proxy; it refuses what it cannot run that way (backreferences, lookaround), and validate_pattern turns that
refusal into a message naming the problem.

A rule's alternatives (its pattern, then its built-in sets) are joined into one regular expression, each inside its
own capture group, so a text is scanned once per policy whatever the number of sets, and the group that matched
names what matched ("built-in set aws_access_key") without echoing the secret.

Matching runs on the text's UTF-8 bytes: the RE2 bindings convert offsets of a `str` from the start of the text on
every search, which a restart after a rejected card number would make quadratic.

Bound: a text longer than MAX_SCAN_CHARS is not examined (TextTooLarge); the engine treats it as content it cannot
read (the policy's on_unreadable), never as clean. 4 Mi characters is far above what clients send in one text part
(Claude Code's largest tool results are a few hundred KB) and keeps one scan in the low milliseconds.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import re2

from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyRule

MAX_SCAN_CHARS = 4 * 1024 * 1024
MAX_PATTERN_LENGTH = 4096
# RE2's compiled-program budget: a pattern that needs more (e.g. nested counted repetitions) is refused at
# validation instead of costing memory on every replica.
_MAX_PROGRAM_BYTES = 8 * 1024 * 1024
USER_PATTERN = "pattern"
_CARD = "card_number"

# name -> (description, RE2 expression). Expressions use non-capturing groups only: the group numbering of the
# combined expression relies on it.
_BUILTINS: dict[str, tuple[str, str]] = {
    "aws_access_key": (
        "AWS access key ids (AKIA..., ASIA..., 20 characters)",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
    ),
    "aws_secret_key": (
        "AWS secret access keys assigned to a name like aws_secret_access_key",
        r"(?i:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}\b",
    ),
    "private_key": (
        "PEM private keys (-----BEGIN ... PRIVATE KEY----- blocks, also when the END line is missing)",
        (
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,\\-]*)"
        ),
    ),
    _CARD: (
        "payment card numbers (13 to 19 digits, spaces or dashes allowed, Luhn-checked)",
        r"\b(?:\d[ -]?){12,18}\d\b",
    ),
    "github_token": (
        "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    "openai_api_key": (
        "OpenAI API keys (sk-proj-..., sk-svcacct-..., sk-admin-..., legacy sk-...)",
        r"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})",
    ),
    "anthropic_api_key": (
        "Anthropic API keys (sk-ant-api..., sk-ant-admin..., sk-ant-oat...)",
        r"\bsk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_-]{20,}",
    ),
    "slack_token": (
        "Slack tokens (xoxb-, xoxp-, xoxa-, ...) and incoming-webhook URLs",
        r"\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
    ),
    "google_api_key": ("Google API keys (AIza..., 39 characters)", r"\bAIza[0-9A-Za-z_-]{35}"),
    "jwt": (
        "JSON Web Tokens (eyJ... . eyJ... . signature)",
        r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
    ),
    "email_address": ("e-mail addresses", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
}

BUILTIN_SETS: Mapping[str, str] = MappingProxyType({name: description for name, (description, _) in _BUILTINS.items()})


class PatternError(ValueError):
    """A pattern rule that cannot be compiled; the message names what is wrong."""


class TextTooLarge(ValueError):
    """The text is longer than MAX_SCAN_CHARS and was not examined."""


@dataclass(frozen=True, slots=True)
class Match:
    start: int  # character offsets in the examined text
    end: int
    text: str
    kind: str  # "pattern" or the built-in set's name: what matched, safe to show

    @property
    def label(self) -> str:
        return "the policy's pattern" if self.kind == USER_PATTERN else f"built-in set {self.kind}"


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print the refused pattern to stderr
    options.max_mem = _MAX_PROGRAM_BYTES
    return options


def _compile(expression: str) -> Any:
    try:
        return re2.compile(expression, _options())
    except re2.error as error:
        raise PatternError(_describe(error)) from None


def _describe(error: Exception) -> str:
    detail = error.args[0] if error.args else ""
    text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
    if "invalid escape sequence: \\" in text and text[-1:].isdigit():
        return f"backreferences are not supported (patterns run in linear time with RE2): {text}"
    if "invalid perl operator: (?" in text and any(op in text for op in ("(?=", "(?!", "(?<")):
        return f"lookahead and lookbehind are not supported (patterns run in linear time with RE2): {text}"
    if "pattern too large" in text:
        return "pattern is too large to compile (reduce counted repetitions like {1000})"
    return f"unsupported or invalid regular expression (RE2 syntax): {text}"


def validate_pattern(pattern: str | None, builtins: tuple[str, ...] | list[str]) -> str | None:
    """Why this pattern part cannot be a rule, or None when it compiles."""
    unknown = [name for name in builtins if name not in _BUILTINS]
    if unknown:
        return f"unknown built-in set {unknown[0]!r}; known sets: {', '.join(_BUILTINS)}"
    if len(set(builtins)) != len(builtins):
        return "built-in sets contain duplicates"
    if pattern is None:
        return None if builtins else "a pattern rule needs a pattern or at least one built-in set"
    if not pattern:
        return "pattern must not be empty"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"pattern is longer than {MAX_PATTERN_LENGTH} characters"
    try:
        compiled = _compile(pattern)
    except PatternError as error:
        return str(error)
    if compiled.match("") is not None:
        return "pattern matches empty text; it must match at least one character"
    return None


class CompiledPattern:
    """One pattern rule, ready to scan: one pass over a text finds every match of every alternative."""

    __slots__ = ("_expression", "_kinds")

    def __init__(self, pattern: str | None, builtins: tuple[str, ...]) -> None:
        problem = validate_pattern(pattern, builtins)
        if problem is not None:
            raise PatternError(problem)
        alternatives: list[tuple[str, str, int]] = []  # (kind, expression, its own capture groups)
        if pattern is not None:
            alternatives.append((USER_PATTERN, pattern, _compile(pattern).groups))
        alternatives.extend((name, _BUILTINS[name][1], 0) for name in builtins)
        # Each alternative in its own group; (?:...) inside keeps a user's `|` and flags from leaking out.
        kinds: list[tuple[int, str]] = []
        group = 1
        for kind, _, own_groups in alternatives:
            kinds.append((group, kind))
            group += 1 + own_groups
        self._expression = _compile("|".join(f"((?:{expression}))" for _, expression, _ in alternatives))
        self._kinds = tuple(kinds)

    def find(self, text: str) -> list[Match]:
        """Every non-overlapping match, leftmost first (raises TextTooLarge over MAX_SCAN_CHARS)."""
        if len(text) > MAX_SCAN_CHARS:
            raise TextTooLarge(f"text over {MAX_SCAN_CHARS} characters")
        if not text:
            return []
        encoded = _utf8(text)
        spans = self._byte_spans(encoded)
        if not spans:
            return []
        return _to_matches(text, encoded, spans)

    def redact(self, text: str, replacement: str) -> tuple[str, list[Match]]:
        """The text with every match replaced by `replacement`, and the matches (offsets in the original text)."""
        matches = self.find(text)
        if not matches:
            return text, matches
        pieces: list[str] = []
        last = 0
        for match in matches:
            pieces.append(text[last : match.start])
            pieces.append(replacement)
            last = match.end
        pieces.append(text[last:])
        return "".join(pieces), matches

    def _byte_spans(self, encoded: bytes) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        position = 0
        size = len(encoded)
        while position < size:
            found = self._expression.search(encoded, position)
            if found is None:
                break
            start, end = found.span()
            kind = self._kind_of(found)
            if end == start:  # a pattern that can match empty text here: step over one byte
                position = end + 1
                continue
            if kind == _CARD and not _luhn_valid(encoded[start:end]):
                # Not a card: other alternatives may still match from inside this run of digits.
                position = start + 1
                continue
            # Whole characters only (a pattern using \C can match part of one), never overlapping the last span.
            start = max(_align_start(encoded, start), spans[-1][1] if spans else 0)
            end = _align_end(encoded, end)
            if start < end:
                spans.append((start, end, kind))
            position = end
        return spans

    def _kind_of(self, found: Any) -> str:
        for group, kind in self._kinds:
            if found.span(group)[0] != -1:
                return kind
        return USER_PATTERN


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate (JSON "\\ud800"): kept as its own three bytes
        return text.encode("utf-8", "surrogatepass")


def _align_start(encoded: bytes, offset: int) -> int:
    """A byte offset moved back to the start of its UTF-8 character."""
    while 0 < offset < len(encoded) and encoded[offset] & 0xC0 == 0x80:
        offset -= 1
    return offset


def _align_end(encoded: bytes, offset: int) -> int:
    while offset < len(encoded) and encoded[offset] & 0xC0 == 0x80:
        offset += 1
    return offset


def _to_matches(text: str, encoded: bytes, spans: list[tuple[int, int, str]]) -> list[Match]:
    if len(encoded) == len(text):  # ASCII: byte offsets are character offsets
        return [Match(start, end, text[start:end], kind) for start, end, kind in spans]
    matches: list[Match] = []
    byte_at, char_at = 0, 0
    for start, end, kind in spans:
        # Offsets grow, so each stretch of bytes is decoded once: linear in the text.
        char_start = char_at + len(encoded[byte_at:start].decode("utf-8", "surrogatepass"))
        char_end = char_start + len(encoded[start:end].decode("utf-8", "surrogatepass"))
        matches.append(Match(char_start, char_end, text[char_start:char_end], kind))
        byte_at, char_at = end, char_end
    return matches


def _luhn_valid(candidate: bytes) -> bool:
    """Whether the digits of a card-number candidate pass the Luhn check, whole or ending at a separator (so a
    card number followed by a short number in the same run still counts)."""
    digits = [c - 48 for c in candidate if 48 <= c <= 57]
    lengths = {len(digits)}
    count = 0
    for c in candidate:
        if 48 <= c <= 57:
            count += 1
        elif count >= 13:
            lengths.add(count)
    return any(13 <= length <= 19 and _luhn(digits[:length]) for length in lengths)


def _luhn(digits: list[int]) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


class PatternCache:
    """Compiled rules by (policy id, revision), least recently used dropped beyond `capacity`. The owner (the
    proxy's state) keeps one; an edited rule has a new revision, so a stale entry is never used."""

    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, str], CompiledPattern] = OrderedDict()

    def get(self, policy: MessagePolicyEntry) -> CompiledPattern:
        """The compiled rule (raises PatternError for a rule that does not compile; callers validate on save)."""
        key = (policy.id, policy.revision)
        compiled = self._entries.get(key)
        if compiled is not None:
            self._entries.move_to_end(key)
            return compiled
        compiled = compile_rule(policy.rule)
        self._entries[key] = compiled
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._entries)


def compile_rule(rule: PolicyRule) -> CompiledPattern:
    if rule.is_judged:
        raise PatternError("a judge rule has no pattern")
    return CompiledPattern(rule.pattern, rule.builtins)
