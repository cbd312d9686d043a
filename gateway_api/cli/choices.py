"""The CLI's option values, without importing the database models (`gateway --help` must start fast)."""

from __future__ import annotations

from enum import StrEnum


class KeyScope(StrEnum):
    llm = "llm"
    ui = "ui"
    api = "api"


class UserRole(StrEnum):
    admin = "admin"
    user = "user"
    auditor = "auditor"
