"""Model access policies: who may call which model. Grants are the union of matching policies."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gateway_api.core.names import NAME_PREFIX_PATTERN

EVERYONE = "*"
# What a model name may contain (the REST API's rule for model names): a pattern's text before its "*" must be the
# start of such a name, or the pattern could never match one.
# What a model name may start with (the one name rule, core/names.py): a pattern outside it matches nothing.
MODEL_NAME_START = re.compile(NAME_PREFIX_PATTERN)
MODEL_NAME_CHARACTERS = "letters, digits, spaces and the characters . _ - : / @ + ( ) , ' & # only"


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
        elif problem := _unmatchable(model):
            problems.append(("models", problem))
    return problems


def _unmatchable(entry: str) -> str | None:
    """Why no model name can ever match ``entry`` ("*", a name, or "prefix*"), or None when one can."""
    text = entry.removesuffix("*")
    if entry == EVERYONE or not text or MODEL_NAME_START.fullmatch(text):
        return None
    if not re.match(r"\w", text[0]):
        return f'"{entry}" can never match a model: model names start with a letter or a digit'
    return f'"{entry}" can never match a model: model names use {MODEL_NAME_CHARACTERS}'
