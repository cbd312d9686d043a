"""Secrets stay out of Reflex's saved state.

Reflex pickles every state to disk (`.states/*.pkl` in production) or to Redis; a session token or a freshly
minted key in there is a credential at rest in clear. States that hold one override `__getstate__` with
`without_secrets`: the pickle carries an empty value instead. Nothing is lost that matters: the session token comes
back from the browser's local storage when the page reconnects, and a new key's secret is shown once only anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def without_secrets(fields: Mapping[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """A copy of a state's pickled fields with `secrets` emptied (Reflex's own dict is the live instance's)."""
    saved = dict(fields)
    for name in secrets:
        if name in saved:
            saved[name] = ""
    return saved
