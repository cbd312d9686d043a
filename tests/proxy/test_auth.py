"""Unit checks of the proxy's key handling that the end-to-end tests cannot see directly."""

from __future__ import annotations

import pytest

from gateway_api.proxy.auth import KeyDigester, presented_key
from gateway_api.proxy.refusal import Refusal
from gateway_api.security.keys import digest_key, key_pepper


@pytest.mark.parametrize("secret", ["gwk_abcdef", "gwk_" + "x" * 43, "", "gwk_é\u2603", "\udcff-lone-surrogate"])
def test_key_digester_matches_the_stored_digest_function(secret: str) -> None:
    pepper = key_pepper("a-secret-key-for-tests-0123456789")
    digester = KeyDigester(pepper)

    assert digester(secret) == digest_key(secret, pepper)
    assert digester(secret) == digest_key(secret, pepper)  # the keyed HMAC is reused, not consumed


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"x-api-key", b"gwk_a")], "gwk_a"),
        ([(b"authorization", b"Bearer gwk_a")], "gwk_a"),
        ([(b"authorization", b"bearer  gwk_a ")], "gwk_a"),
        ([(b"x-api-key", b"gwk_a"), (b"authorization", b"Bearer gwk_a")], "gwk_a"),
        ([(b"x-api-key", b"gwk_a"), (b"authorization", b"Bearer gwk_b")], 401),
        ([(b"x-api-key", b"gwk_a"), (b"x-api-key", b"gwk_b")], 401),
        ([(b"authorization", b"Basic Z3drX2E=")], 401),
        ([(b"x-api-key", b"")], 401),
        ([], 401),
    ],
)
def test_presented_key(headers: list[tuple[bytes, bytes]], expected: str | int) -> None:
    result = presented_key(headers)

    if isinstance(expected, int):
        assert isinstance(result, Refusal) and result.status == expected
    else:
        assert result == expected
