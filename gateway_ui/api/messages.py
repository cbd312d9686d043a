"""The API's validation messages as a person reads them: the one place pydantic's wording is translated.

The REST API answers a bad request with FastAPI's 422 body: per problem a `loc` (["body", "email"]), a `type`
(pydantic's error type, or "value_error" for the API's own checks) and a `msg` that starts with the field's name
("price_output: Input should be greater than or equal to 0"). A form shows the message beside its field, so the
field's name is dropped and pydantic's phrasing becomes an instruction ("Must be 0 or more.").
"""

from __future__ import annotations

import re

# What a field must look like, for the fields whose pydantic pattern says nothing to a person.
PATTERN_HINTS = {
    "email": "Enter an email address like name@example.com.",
    "credential": "Paste the API key exactly: no spaces, and only the characters API keys use.",
}
# Patterns the API uses, recognised by a piece of their text, with what they ask for.
PATTERN_TEXT_HINTS = (
    # The one name rule (gateway_api/core/names.py), recognised by the end of its character list.
    ("&#-", "Start with a letter or digit; then letters, digits, spaces and . _ - : / @ + ( ) , ' & # only."),
    ("._:/@-", "Use the model id as the provider spells it: letters, digits and the characters . _ : / @ - only."),
    ("._-", "Start with a letter or digit; then letters, digits, spaces and . _ - only."),
)
GENERIC_PATTERN_HINT = "Contains characters that are not allowed here."

_NUMBER = r"(-?[0-9][0-9_,.eE+-]*)"
_BOUNDS = (
    (re.compile(rf"greater than or equal to {_NUMBER}"), "Must be {} or more."),
    (re.compile(rf"greater than {_NUMBER}"), "Must be more than {}."),
    (re.compile(rf"less than or equal to {_NUMBER}"), "Must be {} or less."),
    (re.compile(rf"less than {_NUMBER}"), "Must be less than {}."),
)
_AT_LEAST = re.compile(r"at least (\d+)")
_AT_MOST = re.compile(r"at most (\d+)")
_CHOICES = re.compile(r"'([^']*)'")

SIMPLE_TYPES = {
    "missing": "Required.",
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "float_parsing": "Enter a number.",
    "float_type": "Enter a number.",
    "decimal_parsing": "Enter a number.",
    "finite_number": "Enter a number.",
    "bool_parsing": "Choose yes or no.",
    "bool_type": "Choose yes or no.",
    "string_type": "Enter text.",
    "list_type": "Choose from the list.",
}


def sentence(text: str) -> str:
    """`text` as a sentence: a capital first letter and a full stop (unless it already ends like one)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else f"{text}."


def without_field(field: str, message: str) -> str:
    """The message minus the "field: " or "field.3: " the API puts in front of it."""
    head, separator, rest = message.partition(": ")
    if separator and (head == field or head.startswith(f"{field}.")):
        return rest
    return message


def human_message(field: str, error_type: str, message: str) -> str:
    """One 422 entry's message, worded for the form field `field`."""
    text = without_field(field, message).removeprefix("Value error, ")
    if error_type in SIMPLE_TYPES:
        return SIMPLE_TYPES[error_type]
    if error_type == "string_too_short":
        found = _AT_LEAST.search(text)
        return "Required." if found is None or found.group(1) == "1" else f"Use at least {found.group(1)} characters."
    if error_type == "string_too_long":
        found = _AT_MOST.search(text)
        return f"Use at most {found.group(1)} characters." if found else "Too long."
    if error_type in {"too_long", "too_short"}:
        found = (_AT_MOST if error_type == "too_long" else _AT_LEAST).search(text)
        bound = "at most" if error_type == "too_long" else "at least"
        return f"Choose {bound} {found.group(1)}." if found else sentence(text)
    if error_type == "string_pattern_mismatch":
        return _pattern_hint(field, text)
    if error_type.startswith(("greater_than", "less_than")):
        for pattern, wording in _BOUNDS:
            found = pattern.search(text)
            if found:
                return wording.format(found.group(1))
    if error_type in {"enum", "literal_error"}:
        choices = _CHOICES.findall(text)
        if choices:
            return "Choose " + " or ".join(choices) + "."
    return sentence(text)


def _pattern_hint(field: str, text: str) -> str:
    if field in PATTERN_HINTS:
        return PATTERN_HINTS[field]
    for piece, hint in PATTERN_TEXT_HINTS:
        if piece in text:
            return hint
    return GENERIC_PATTERN_HINT
