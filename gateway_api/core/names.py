"""The one rule every name follows (models, providers, policies, users, groups, keys), whether it comes from the
REST API, the CLI or the YAML config file.

A name starts with a letter or digit (any script) and goes on with letters, digits, spaces and . _ - : / @ + ( ) ,
' & # only; it does not end with a space. That covers model ids as providers spell them (`openai/gpt-oss-120b`,
`claude-3-5-sonnet@20240620`), group names from identity providers and people's names (`Zoë O'Brien`), and keeps
out what only ever serves an attack: markup and quotes for scripts (`<`, `"`, backticks), control and invisible
characters. The UI renders every stored name as text anyway; this keeps the database free of such names.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

MAX_NAME_LENGTH = 200
# The same regular expression in pydantic (Rust regex) and in Python's re: \w is Unicode-aware in both.
_BODY = r"[\w .:/@+(),'&#-]"
_LAST = r"[\w.:/@+(),'&#-]"
NAME_PATTERN = rf"^\w(?:{_BODY}*{_LAST})?$"
OPTIONAL_NAME_PATTERN = rf"^(?:\w(?:{_BODY}*{_LAST})?)?$"
# What a name may start with (a policy's "prefix*" pattern): the rule without its last-character condition.
NAME_PREFIX_PATTERN = rf"\w{_BODY}*"
NAME_RULE = (
    "start with a letter or digit; then letters, digits, spaces and . _ - : / @ + ( ) , ' & # only; no space at the end"
)

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN)]
OptionalName = Annotated[str, Field(max_length=MAX_NAME_LENGTH, pattern=OPTIONAL_NAME_PATTERN)]
ProviderName = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]

_NAME = re.compile(NAME_PATTERN)


def check_name(value: str, what: str, *, optional: bool = False, max_length: int = MAX_NAME_LENGTH) -> str:
    """`value` if it follows the rule; a ValueError naming `what` otherwise (the CLI's and other callers' check)."""
    if optional and value == "":
        return value
    if len(value) > max_length:
        raise ValueError(f"{what} {value[:40]!r}: use at most {max_length} characters")
    if not _NAME.fullmatch(value):
        raise ValueError(f"{what} {value[:40]!r}: {NAME_RULE}")
    return value
