"""What a policy judges and what it finds, as the rest of the gateway hands them around."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ToolCallText:
    """One tool call of a model's reply, as text a rule can read: the tool's name and its arguments as sent."""

    name: str
    arguments: str
