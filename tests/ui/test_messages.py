"""Pydantic's validation messages, as the REST API sends them, in the words a form shows beside each field."""

from __future__ import annotations

import pytest

from gateway_ui.api.messages import human_message, sentence, without_field


@pytest.mark.parametrize(
    ("field", "error_type", "message", "shown"),
    [
        ("email", "string_pattern_mismatch", "email: String should match pattern '^[^@\\s]+@[^@\\s]+$'",
         "Enter an email address like name@example.com."),
        ("price_output", "greater_than_equal", "price_output: Input should be greater than or equal to 0",
         "Must be 0 or more."),
        ("expires_in_days", "less_than_equal", "expires_in_days: Input should be less than or equal to 3650",
         "Must be 3650 or less."),
        ("requests_per_minute", "greater_than", "requests_per_minute: Input should be greater than 0",
         "Must be more than 0."),
        ("password", "string_too_short", "password: String should have at least 8 characters",
         "Use at least 8 characters."),
        ("name", "string_too_short", "name: String should have at least 1 character", "Required."),
        ("name", "string_too_long", "name: String should have at most 200 characters", "Use at most 200 characters."),
        ("email", "missing", "email: Field required", "Required."),
        ("price_input", "float_parsing", "price_input: Input should be a valid number", "Enter a number."),
        ("input_token_quota", "int_parsing", "input_token_quota: Input should be a valid integer",
         "Enter a whole number."),
        ("kind", "enum", "kind: Input should be 'openai' or 'anthropic'", "Choose openai or anthropic."),
        ("name", "string_pattern_mismatch", "name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:/@-]*$'",
         "Use the model id as the provider spells it: letters, digits and the characters . _ : / @ - only."),
        ("name", "string_pattern_mismatch", "name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9 ._-]*$'",
         "Start with a letter or digit; then letters, digits, spaces and . _ - only."),
        ("credential", "string_pattern_mismatch", "credential: String should match pattern '^[\\x21-\\x7e]+$'",
         "Paste the API key exactly: no spaces, and only the characters API keys use."),
        ("base_url", "value_error", "base_url: Value error, must be an http:// or https:// URL with a host",
         "Must be an http:// or https:// URL with a host."),
        ("models", "value_error", 'models: "bad pattern!" can never match a model: model names use only letters',
         '"bad pattern!" can never match a model: model names use only letters.'),
        ("subjects", "value_error", 'subjects: group "ghosts" does not exist', 'Group "ghosts" does not exist.'),
        ("models", "string_too_long", "models.3: String should have at most 400 characters",
         "Use at most 400 characters."),
        ("weird", "something_new", "weird: something odd happened", "Something odd happened."),
    ],
)  # fmt: skip
def test_messages_read_as_instructions(field: str, error_type: str, message: str, shown: str) -> None:
    assert human_message(field, error_type, message) == shown


def test_sentences_and_field_prefixes() -> None:
    assert sentence("wrong email or password") == "Wrong email or password."
    assert sentence("Is it?") == "Is it?"
    assert sentence("") == ""
    assert without_field("name", "name: taken") == "taken"
    assert without_field("name", "other: taken") == "other: taken", "only this field's own name is dropped"
