"""The upstream providers the proxy speaks to, by the name used in its URL prefix."""

from typing import Literal, get_args

ProviderName = Literal["anthropic", "openai"]
PROVIDER_NAMES: tuple[ProviderName, ...] = get_args(ProviderName)
