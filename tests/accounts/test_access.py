import pytest

from gateway_api.accounts.access import pattern_matches, subject_tokens, validate_policy


@pytest.mark.parametrize(
    ("pattern", "model", "expected"),
    [
        ("*", "anything", True),
        ("claude-*", "claude-opus-4-8", True),
        ("claude-*", "Claude-opus", False),
        ("gpt-5.5", "gpt-5.5", True),
        ("gpt-5.5", "gpt-5.5-mini", False),
        ("gpt-5*", "gpt-5.5-mini", True),
    ],
)
def test_patterns(pattern: str, model: str, expected: bool) -> None:
    assert pattern_matches(pattern, model) is expected


def test_subject_tokens_cover_user_groups_and_everyone() -> None:
    assert subject_tokens("Bob@Example.com", ["eng"]) == {"*", "user:bob@example.com", "group:eng"}


@pytest.mark.parametrize(
    ("subjects", "models", "field"),
    [
        ([], ["*"], "subjects"),
        (["*"], [], "models"),
        (["*", "user:a@b.c"], ["*"], "subjects"),
        (["*"], ["*", "gpt-5"], "models"),
        (["group:x", "group:x"], ["*"], "subjects"),
        (["team:x"], ["*"], "subjects"),
        (["*"], ["gp*t"], "models"),
    ],
)
def test_invalid_policies_name_the_field(subjects: list[str], models: list[str], field: str) -> None:
    problems = validate_policy(subjects, models)
    assert problems and problems[0][0] == field


def test_a_valid_policy_has_no_problems() -> None:
    assert validate_policy(["group:eng", "user:bob@example.com"], ["claude-*", "gpt-5.5"]) == []


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("bad pattern!", "model names use letters, digits, spaces and the characters . _ - : / @ + ( ) , ' & # only"),
        ("claude<opus*", "the characters . _ - : / @ + ( ) , ' & # only"),
        ("gpt-5;rm*", "the characters . _ - : / @ + ( ) , ' & # only"),
        (".hidden*", "model names start with a letter or a digit"),
        ("¿*", "model names start with a letter or a digit"),
    ],
)
def test_patterns_no_model_name_can_match_are_refused_with_the_reason(entry: str, reason: str) -> None:
    [(field, message)] = validate_policy(["*"], [entry])
    assert field == "models" and message.startswith(f'"{entry}" can never match a model') and reason in message


@pytest.mark.parametrize("entry", ["*", "claude-*", "ft:gpt-4.1:org:x", "org/model@v1", "a*", "gpt-5.5"])
def test_patterns_that_can_match_a_model_name_pass(entry: str) -> None:
    assert validate_policy(["*"], [entry]) == []
