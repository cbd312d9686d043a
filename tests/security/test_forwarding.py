"""X-Forwarded-For read right to left, believing only trusted proxies; the UI's sealed browser address."""

from __future__ import annotations

import ipaddress

import pytest

from gateway_api.security.forwarding import (
    BROWSER_ADDRESS_HEADER,
    BROWSER_SEAL_HEADER,
    BrowserAddressSeal,
    ClientAddresses,
)

PROXIES = ClientAddresses([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ["1.2.3.4"], "203.0.113.5"),  # an untrusted peer is the client, whatever it writes
        ("10.0.0.2", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.2", ["6.6.6.6, 1.2.3.4"], "1.2.3.4"),  # the client's own entries sit left of the real one
        ("10.0.0.2", ["6.6.6.6, 1.2.3.4, 10.0.0.9"], "1.2.3.4"),  # two trusted hops
        ("10.0.0.2", ["6.6.6.6", "1.2.3.4"], "1.2.3.4"),  # several headers: in order received
        ("10.0.0.2", ["10.0.0.7, 10.0.0.8"], "10.0.0.7"),  # only proxies: the leftmost
        ("10.0.0.2", [], "10.0.0.2"),
        ("::1", ["[2001:db8::1]"], "2001:db8::1"),
        ("::ffff:10.0.0.2", ["1.2.3.4"], "1.2.3.4"),
        ("10.0.0.2", ["not-an-address"], "not-an-address"),
    ],
)
def test_right_to_left_through_trusted_hops_only(peer: str, forwarded: list[str], client: str) -> None:
    assert PROXIES.resolve(peer, forwarded) == client


def test_no_trusted_proxies_means_the_peer() -> None:
    assert ClientAddresses([]).resolve("127.0.0.1", ["1.2.3.4"]) == "127.0.0.1"


def test_a_seal_opens_only_with_the_key_and_while_fresh() -> None:
    seal = BrowserAddressSeal(b"pepper")
    headers = seal.headers("198.51.100.4", now=1000.0)
    address, mark = headers[BROWSER_ADDRESS_HEADER], headers[BROWSER_SEAL_HEADER]
    assert seal.opened(address, mark, now=1030.0) == "198.51.100.4"
    assert seal.opened(address, mark, now=1061.0) is None, "stale"
    assert seal.opened("198.51.100.5", mark, now=1000.0) is None, "another address"
    assert BrowserAddressSeal(b"other pepper").opened(address, mark, now=1000.0) is None
    assert seal.opened(address, None, now=1000.0) is None
    assert seal.opened(address, "garbage", now=1000.0) is None
