"""The usage spool's file format: JSON lines, append-only.

The first line of a file names the format and the columns; every other line is one entry, a JSON array: the kind
(``"s"``: a call started, ``"f"``: a call finished) and the usage record's column values in the header's order.
A started entry is the row a crash would leave: ``gateway_error``, input estimated from the request's size,
``usage_estimated`` true; its finished entry, when there is one, replaces it. Readers take the columns from the
header, so a spool written by an older or newer gateway replays (a missing column takes its default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import orjson

from gateway_api.db.models import Outcome
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TOKEN_FIELDS, TokenUsage
from gateway_api.usage.validation import correct_row
from gateway_api.usage.writer import CALL_LOG_COLUMNS, RECORD_COLUMNS

FORMAT_VERSION = 1
STARTED = "s"
FINISHED = "f"
HEADER = orjson.dumps({"spool": FORMAT_VERSION, "columns": RECORD_COLUMNS}) + b"\n"
_record_values = attrgetter(*(f"tokens.{name}" if name in TOKEN_FIELDS else name for name in RECORD_COLUMNS))
_COLUMN_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {
        "user_id": None,
        "api_key_id": None,
        "streamed": False,
        "cost_usd": 0.0,
        "status_code": 0,
        "outcome": Outcome.ok.value,
        "latency_ms": 0.0,
        "ttfb_ms": None,
        "client": "",
        "session_id": None,
        "request_id": None,
        "call_id": None,
        "usage_estimated": False,
        **dict.fromkeys(CALL_LOG_COLUMNS),
    }
)


def entry(kind: str, row: UsageRow) -> bytes:
    """One line: a C-level attribute read and one orjson call (about a microsecond)."""
    return orjson.dumps((kind, *_record_values(row))) + b"\n"


class SpoolContents:
    """What a spool's files hold: finished rows, and the started entries of calls with no finished row."""

    def __init__(self) -> None:
        self.finished: dict[str, UsageRow] = {}
        self.started: dict[str, UsageRow] = {}
        self.without_id: list[UsageRow] = []  # rows with no call id (none in practice): written as they are
        self.unreadable = 0  # lines that could not be read (a crash mid-write leaves at most one per file)

    def read(self, lines: Iterable[bytes]) -> None:
        columns: tuple[str, ...] | None = None
        for line in lines:
            if not line.strip():
                continue
            try:
                parsed = orjson.loads(line)
                if isinstance(parsed, dict):
                    columns = tuple(parsed["columns"])
                    continue
                if columns is None:
                    raise ValueError("an entry before the header")
                kind, *values = parsed
                row = row_from_values(dict(zip(columns, values, strict=True)))
            except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
                self.unreadable += 1
                continue
            if row.call_id is None:
                self.without_id.append(row)
            elif kind == FINISHED:
                self.finished[row.call_id] = row
            elif kind == STARTED:
                self.started.setdefault(row.call_id, row)

    def rows(self) -> list[UsageRow]:
        """Every finished row, and the crash row of every call that started and never finished, in time order."""
        crashed = [row for call_id, row in self.started.items() if call_id not in self.finished]
        return sorted([*self.finished.values(), *crashed, *self.without_id], key=lambda row: row.created_at)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def row_from_values(values: Mapping[str, Any]) -> UsageRow:
    """A UsageRow from the column values of a spool entry (ValueError/KeyError/TypeError when malformed)."""
    merged = {**_COLUMN_DEFAULTS, **values}
    tokens = TokenUsage()
    for name in TOKEN_FIELDS:
        setattr(tokens, name, int(merged.get(name) or 0))
    created_at = datetime.fromisoformat(merged["created_at"])
    row = UsageRow(
        created_at=created_at,
        user_id=merged["user_id"],
        api_key_id=merged["api_key_id"],
        provider=str(merged["provider"]),
        provider_kind=str(merged["provider_kind"]),
        model=str(merged["model"]),
        endpoint=str(merged["endpoint"]),
        streamed=bool(merged["streamed"]),
        tokens=tokens,
        cost_usd=float(merged["cost_usd"]),
        status_code=int(merged["status_code"]),
        outcome=Outcome(merged["outcome"]),
        latency_ms=float(merged["latency_ms"]),
        ttfb_ms=merged["ttfb_ms"],
        client=str(merged["client"]),
        session_id=merged["session_id"],
        request_id=merged["request_id"],
        call_id=merged["call_id"],
        usage_estimated=bool(merged["usage_estimated"]),
        **{name: _text_or_none(merged[name]) for name in CALL_LOG_COLUMNS},
    )
    correct_row(row)  # a spool written by another gateway, or edited by hand, is checked like a fresh row
    return row
