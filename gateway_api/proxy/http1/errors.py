"""Errors of the lean upstream client. All are OSError (ConnectionError), like the socket errors they stand for, so
the handler treats "could not reach / lost the upstream" as one family."""

from __future__ import annotations


class UpstreamClosed(ConnectionError):
    """The upstream closed the connection before the response was complete."""


class UpstreamProtocolError(ConnectionError):
    """The upstream's bytes are not a valid HTTP/1.1 response."""


class ClientClosed(ConnectionError):
    """The upstream client was closed (the worker is stopping)."""
