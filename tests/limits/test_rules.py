"""Which limit applies: the key's, else its user's, else the default; admins only what is set on them."""

from __future__ import annotations

from gateway_api.limits.rules import LimitKind, LimitRule, LimitSource, LimitValues, effective_rules

DEFAULTS = LimitValues(input_token_quota=1000, requests_per_minute=10, daily_budget_usd=5.0)


def by_kind(rules: tuple[LimitRule, ...]) -> dict[LimitKind, tuple[float, LimitSource, str]]:
    return {rule.kind: (rule.limit, rule.source, rule.subject) for rule in rules}


def test_a_user_without_overrides_gets_the_defaults_counted_per_user() -> None:
    rules = effective_rules(DEFAULTS, 7, False, LimitValues(), 3, LimitValues())
    assert by_kind(rules) == {
        LimitKind.input_tokens: (1000, LimitSource.default, "u7"),
        LimitKind.requests: (10, LimitSource.default, "u7"),
        LimitKind.daily_spend: (5.0, LimitSource.default, "u7"),
    }


def test_a_key_override_beats_the_user_override_which_beats_the_default() -> None:
    user = LimitValues(requests_per_minute=4, output_token_quota=500)
    key = LimitValues(requests_per_minute=20)
    rules = by_kind(effective_rules(DEFAULTS, 7, False, user, 3, key))
    assert rules[LimitKind.requests] == (20, LimitSource.key, "k3")
    assert rules[LimitKind.output_tokens] == (500, LimitSource.user, "u7")
    assert rules[LimitKind.input_tokens] == (1000, LimitSource.default, "u7")


def test_admins_ignore_the_defaults_but_not_limits_set_on_them() -> None:
    assert effective_rules(DEFAULTS, 1, True, LimitValues(), 3, LimitValues()) == ()
    rules = by_kind(effective_rules(DEFAULTS, 1, True, LimitValues(monthly_budget_usd=0.0), 3, LimitValues()))
    assert rules == {LimitKind.monthly_spend: (0.0, LimitSource.user, "u1")}


def test_without_a_key_the_user_level_limits_are_returned() -> None:
    rules = by_kind(effective_rules(DEFAULTS, 7, False, LimitValues(requests_per_minute=2), None))
    assert rules[LimitKind.requests] == (2, LimitSource.user, "u7")
