"""Talking to the person at the terminal: every prompt and message goes to stderr, so stdout carries the key alone.

(click's prompt writes its trailing space to stdout, which `K="$(gateway login ...)"` would capture with the key.)
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from collections.abc import Iterator

import typer


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    say(f"error: {message}")
    return typer.Exit(code=code)


def can_prompt() -> bool:
    return sys.stdin.isatty()


def ask(label: str) -> str:
    sys.stderr.write(f"{label}: ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise fail("no answer (end of input)", 2)
    return line.strip()


def ask_secret(label: str) -> str:
    # getpass writes its prompt to the terminal itself (or to the stream given), never to stdout.
    return getpass.getpass(f"{label}: ", stream=sys.stderr)


def print_key(key: str) -> None:
    sys.stdout.write(key + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """While a browser is launched: whatever it or its launcher prints must not land next to the key."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
