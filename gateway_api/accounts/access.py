"""Model access policies: who may call which model. Grants are the union of matching policies."""

from __future__ import annotations

from collections.abc import Iterable

EVERYONE = "*"


def subject_tokens(email: str, groups: Iterable[str]) -> frozenset[str]:
    """The subject strings that name this user in a policy."""
    return frozenset({EVERYONE, f"user:{email.lower()}", *(f"group:{g}" for g in groups)})


def normalise_subject(subject: str) -> str:
    kind, _, name = subject.partition(":")
    return f"user:{name.lower()}" if kind == "user" else subject


def pattern_matches(pattern: str, model: str) -> bool:
    """``*`` matches everything, ``prefix*`` a case-sensitive prefix, anything else the exact id."""
    if pattern == EVERYONE:
        return True
    if pattern.endswith("*"):
        return model.startswith(pattern[:-1])
    return pattern == model


def any_pattern_matches(patterns: Iterable[str], model: str) -> bool:
    return any(pattern_matches(p, model) for p in patterns)


def validate_policy(subjects: list[str], models: list[str]) -> list[tuple[str, str]]:
    """Problems as (field, message); empty when the policy is valid (existence of subjects checked by callers)."""
    problems: list[tuple[str, str]] = []
    for field, values in (("subjects", subjects), ("models", models)):
        if not values:
            problems.append((field, f"at least one entry is required in {field}"))
            continue
        if EVERYONE in values and len(values) > 1:
            problems.append((field, f'"*" must be the only entry in {field}'))
        if len(set(values)) != len(values):
            problems.append((field, f"{field} contains duplicates"))
        if any(not v or not v.strip() or v != v.strip() for v in values):
            problems.append((field, f"{field} entries must be non-empty and without surrounding spaces"))
    for subject in subjects:
        if subject == EVERYONE:
            continue
        kind, sep, name = subject.partition(":")
        if not sep or kind not in {"user", "group"} or not name:
            problems.append(("subjects", f'subject "{subject}" must be "*", "user:EMAIL" or "group:NAME"'))
    for model in models:
        if "*" in model[:-1]:
            problems.append(("models", f'pattern "{model}" may only have "*" at its end'))
    return problems
