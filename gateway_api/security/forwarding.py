"""Whose address a request is: the peer, or what trusted reverse proxies say in X-Forwarded-For, or what the UI
server (a hop that proves itself with an HMAC seal) says the browser's was. Throttles key on this address.

X-Forwarded-For is believed only as far as GATEWAY_TRUSTED_PROXIES vouch for it: read right to left, each hop that
is a trusted proxy passes the word to the entry on its left; the first entry that is not a trusted proxy is the
client. A peer that is not trusted is the client whatever it writes there, so rotating the header buys an attacker
nothing, and one client's failures behind a trusted proxy lock out that client only.

The UI server signs in on the browser's behalf from its own process; it passes the browser's address (resolved by
the same rule from its websocket's peer and headers) with a seal keyed with the secret key, which no outsider can
forge. A seal is good for a short while, so one seen in passing cannot be replayed for long.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BROWSER_ADDRESS_HEADER = "x-gateway-browser-address"
BROWSER_SEAL_HEADER = "x-gateway-browser-seal"
SEAL_LIFETIME_SECONDS = 60
MAX_ADDRESS_LENGTH = 64


def _parsed(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = address.strip().strip("[]")
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped
    return parsed


def _canonical(address: str) -> str:
    parsed = _parsed(address)
    return str(parsed) if parsed is not None else address.strip()[:MAX_ADDRESS_LENGTH] or "unknown"


class ClientAddresses:
    """Resolves a request's client address with the trusted proxies of GATEWAY_TRUSTED_PROXIES."""

    def __init__(self, trusted: Iterable[Network]) -> None:
        self._trusted = tuple(trusted)

    def is_trusted(self, address: str) -> bool:
        parsed = _parsed(address)
        return parsed is not None and any(parsed in network for network in self._trusted)

    def resolve(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """`forwarded_for`: every X-Forwarded-For header value, in the order received (read only if needed)."""
        if not self._trusted:
            return peer  # the common case, on every proxied call: nothing to parse
        if not self.is_trusted(peer):
            return _canonical(peer)
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return _canonical(hop)
        # Every hop is a trusted proxy: the leftmost one is where the request came from.
        return _canonical(hops[0] if hops else peer)


class BrowserAddressSeal:
    """Seals and checks the browser address the UI server passes along (key: derived from the key pepper)."""

    def __init__(self, key_pepper: bytes) -> None:
        self._key = hmac.new(key_pepper, b"gateway-ui-browser-address", hashlib.sha256).digest()

    def _mac(self, issued: int, address: str) -> str:
        return hmac.new(self._key, f"{issued}|{address}".encode(), hashlib.sha256).hexdigest()

    def headers(self, address: str, now: float) -> dict[str, str]:
        issued = int(now)
        return {BROWSER_ADDRESS_HEADER: address, BROWSER_SEAL_HEADER: f"{issued}.{self._mac(issued, address)}"}

    def opened(self, address: str | None, seal: str | None, now: float) -> str | None:
        """The sealed address if the seal is genuine and fresh, else None."""
        if not address or not seal or len(address) > MAX_ADDRESS_LENGTH:
            return None
        issued_text, _, mac = seal.partition(".")
        if not issued_text.isdigit() or abs(now - int(issued_text)) > SEAL_LIFETIME_SECONDS:
            return None
        if not hmac.compare_digest(mac, self._mac(int(issued_text), address)):
            return None
        return _canonical(address)
