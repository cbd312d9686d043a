import time

import pytest

from gateway_api.message_policies.patterns import (
    BUILTIN_SETS,
    MAX_SCAN_CHARS,
    CompiledPattern,
    PatternCache,
    PatternError,
    TextTooLarge,
    validate_pattern,
)
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyAction, PolicyRule, PolicyScope

# Test values only: shaped like real secrets, valid nowhere.
SECRETS = {
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_key": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7Vq\nabc+/=\n-----END RSA PRIVATE KEY-----",
    "card_number": "4111 1111 1111 1111",
    "github_token": "ghp_" + "A1b2C3d4E5" * 3 + "A1b2C3",
    "openai_api_key": "sk-proj-" + "Ab3_" * 10,
    "anthropic_api_key": "sk-ant-api03-" + "xY9-" * 10,
    "slack_token": "xoxb-123456789012-abcdefABCDEF",
    "google_api_key": "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "email_address": "jane.doe+work@mail.example.co.uk",
}


def test_every_builtin_has_a_description_and_a_true_positive() -> None:
    assert set(SECRETS) == set(BUILTIN_SETS)
    assert all(BUILTIN_SETS.values())


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_builtin_finds_its_secret_inside_text(name: str) -> None:
    secret = SECRETS[name]
    text = f"here: {secret} (end)"
    matches = CompiledPattern(None, (name,)).find(text)
    assert [(m.kind, m.text) for m in matches] == [(name, secret)]
    assert text[matches[0].start : matches[0].end] == secret
    assert matches[0].label == f"built-in set {name}"


@pytest.mark.parametrize(
    "card",
    ["4111111111111111", "4111-1111-1111-1111", "5500 0000 0000 0004", "378282246310005", "6011000990139424"],
)
def test_card_numbers_that_pass_luhn_are_found(card: str) -> None:
    assert [m.text for m in CompiledPattern(None, ("card_number",)).find(f"card {card}.")] == [card]


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "order 1234567890123",  # 13 digits, Luhn fails
        "phone 555 0100",  # too short
        "id 12345678901234567890123",  # longer than 19 digits
        "x4111111111111111",  # glued to a word: not a number on its own
    ],
)
def test_numbers_that_are_not_cards_are_not_found(text: str) -> None:
    assert CompiledPattern(None, ("card_number",)).find(text) == []


def test_a_card_followed_by_a_short_number_in_the_same_run_still_counts() -> None:
    matches = CompiledPattern(None, ("card_number",)).find("4111 1111 1111 1111 12")
    assert len(matches) == 1


def test_a_rejected_card_candidate_does_not_hide_another_alternative_inside_it() -> None:
    pattern = CompiledPattern(r"1112 \d{4}", ("card_number",))
    assert [m.text for m in pattern.find("4111 1111 1111 1112 3333")] == ["1112 3333"]


def test_private_key_without_its_end_line_is_still_found() -> None:
    text = "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAEbm9uZQ==\n"
    matches = CompiledPattern(None, ("private_key",)).find(text)
    assert len(matches) == 1 and "b3BlbnNzaC1rZXktdjEAAAAA" in matches[0].text


def test_private_key_inside_a_json_file_with_escaped_newlines() -> None:
    text = '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"}'
    matches = CompiledPattern(None, ("private_key",)).find(text)
    assert len(matches) == 1 and matches[0].text.endswith("-----END PRIVATE KEY-----")


def test_anthropic_keys_are_not_taken_for_openai_keys() -> None:
    assert CompiledPattern(None, ("openai_api_key",)).find(SECRETS["anthropic_api_key"]) == []


def test_user_pattern_and_builtins_together_in_one_pass_leftmost_first() -> None:
    pattern = CompiledPattern(r"(?i)project\s+(falcon|eagle)", ("aws_access_key", "email_address"))
    text = "Ask bob@example.com about PROJECT Falcon using AKIAIOSFODNN7EXAMPLE"
    assert [(m.kind, m.text) for m in pattern.find(text)] == [
        ("email_address", "bob@example.com"),
        ("pattern", "PROJECT Falcon"),
        ("aws_access_key", "AKIAIOSFODNN7EXAMPLE"),
    ]


def test_user_flags_and_alternation_stay_inside_the_user_pattern() -> None:
    # Unwrapped, "a|b" joined to a built-in would read "a|b|<builtin>", and (?i) would apply to the built-ins.
    pattern = CompiledPattern(r"(?i)q|z", ("aws_access_key",))
    assert [m.text for m in pattern.find("Q akiaiosfodnn7example Z")] == ["Q", "Z"]


def test_offsets_are_characters_in_non_ascii_text() -> None:
    text = "héllo wörld 🙂 AKIAIOSFODNN7EXAMPLE ünd 🙂 secret-7"
    pattern = CompiledPattern(r"secret-\d", ("aws_access_key",))
    matches = pattern.find(text)
    assert [text[m.start : m.end] for m in matches] == ["AKIAIOSFODNN7EXAMPLE", "secret-7"]
    assert [m.text for m in matches] == ["AKIAIOSFODNN7EXAMPLE", "secret-7"]


def test_unicode_pattern_matches_unicode_text() -> None:
    assert [m.text for m in CompiledPattern("geheimnis|秘密", ()).find("das 秘密 und geheimnis")] == [
        "秘密",
        "geheimnis",
    ]


def test_redact_replaces_every_match_and_keeps_the_rest() -> None:
    pattern = CompiledPattern(r"tok-\d+", ("aws_access_key",))
    text = "a tok-1 b AKIAIOSFODNN7EXAMPLE c tok-22 ü"
    new_text, matches = pattern.redact(text, "[REDACTED:p]")
    assert new_text == "a [REDACTED:p] b [REDACTED:p] c [REDACTED:p] ü"
    assert [m.text for m in matches] == ["tok-1", "AKIAIOSFODNN7EXAMPLE", "tok-22"]
    assert pattern.redact("nothing here", "[R]") == ("nothing here", [])


def test_a_byte_level_pattern_never_splits_a_character() -> None:
    new_text, _ = CompiledPattern(r"\C", ()).redact("aé", "_")
    assert new_text == "__"  # é's two bytes become one whole match, not half a character


def test_backreferences_are_refused_with_a_clear_message() -> None:
    problem = validate_pattern(r"(\w+) \1", ())
    assert problem is not None and problem.startswith("backreferences are not supported")
    with pytest.raises(PatternError, match="backreferences"):
        CompiledPattern(r"(a)\1", ())


@pytest.mark.parametrize(
    ("pattern", "builtins", "expected"),
    [
        (r"foo(?=bar)", (), "lookahead and lookbehind are not supported"),
        (r"(?<!x)foo", (), "lookahead and lookbehind are not supported"),
        (r"a**", (), "unsupported or invalid regular expression"),
        (r"[unclosed", (), "unsupported or invalid regular expression"),
        (r"x?", (), "pattern matches empty text"),
        ("", (), "pattern must not be empty"),
        ("x" * 5000, (), "longer than 4096"),
        (r"\pL{1000}", (), "too large"),
        (None, ("aws_access_key", "nope"), "unknown built-in set 'nope'"),
        (None, ("jwt", "jwt"), "duplicates"),
        (None, (), "needs a pattern or at least one built-in set"),
    ],
)
def test_invalid_rules_are_named(pattern: str | None, builtins: tuple[str, ...], expected: str) -> None:
    problem = validate_pattern(pattern, builtins)
    assert problem is not None and expected in problem


def test_valid_rules_have_no_problem() -> None:
    assert validate_pattern(r"AKIA[0-9A-Z]{16}", ()) is None
    assert validate_pattern(None, tuple(BUILTIN_SETS)) is None


def test_hostile_pattern_and_text_run_in_linear_time() -> None:
    # (a+)+$ on "aaaa...!" takes exponential time with a backtracking engine; RE2 scans it once.
    pattern = CompiledPattern(r"(a+)+$", tuple(BUILTIN_SETS))
    text = "a" * 200_000 + "!"
    started = time.perf_counter()
    assert pattern.find(text) == []
    assert time.perf_counter() - started < 1.0


def test_text_over_the_bound_is_refused_not_silently_truncated() -> None:
    pattern = CompiledPattern("x", ())
    with pytest.raises(TextTooLarge):
        pattern.find("y" * (MAX_SCAN_CHARS + 1))
    with pytest.raises(TextTooLarge):
        pattern.redact("y" * (MAX_SCAN_CHARS + 1), "[R]")


def _policy(policy_id: int, revision: str, pattern: str) -> MessagePolicyEntry:
    return MessagePolicyEntry(
        id=policy_id,
        name=f"p{policy_id}",
        subjects=frozenset({"*"}),
        scopes=frozenset({PolicyScope.user_messages}),
        action=PolicyAction.block,
        rule=PolicyRule(pattern=pattern),
        revision=revision,
    )


def test_cache_compiles_once_per_revision_and_stays_bounded() -> None:
    cache = PatternCache(capacity=2)
    first = cache.get(_policy(1, "r1", "one"))
    assert cache.get(_policy(1, "r1", "one")) is first
    edited = cache.get(_policy(1, "r2", "two"))
    assert edited is not first and [m.text for m in edited.find("one two")] == ["two"]
    cache.get(_policy(1, "r1", "one"))  # most recently used now
    cache.get(_policy(3, "r1", "three"))
    assert len(cache) == 2
    assert cache.get(_policy(1, "r1", "one")) is first  # kept; r2 was the least recently used


def test_cache_refuses_a_judge_rule() -> None:
    policy = MessagePolicyEntry(
        id=9,
        name="judged",
        subjects=frozenset({"*"}),
        scopes=frozenset({PolicyScope.user_messages}),
        action=PolicyAction.block,
        rule=PolicyRule(judge="no medical advice"),
    )
    with pytest.raises(PatternError):
        PatternCache().get(policy)


def test_text_with_a_lone_surrogate_is_still_scanned() -> None:
    # orjson refuses these, but the module's callers may hand it text from other parsers.
    new_text, matches = CompiledPattern(None, ("aws_access_key",)).redact("x\ud800 AKIAIOSFODNN7EXAMPLE é", "[R]")
    assert new_text == "x\ud800 [R] é" and [m.start for m in matches] == [3]
