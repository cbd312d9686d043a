"""Derived figures (added latency, throughput ratios), the printed tables, the JSON lines file and the machine
description that goes into it."""

import json
import os
import platform
from pathlib import Path

PEERS = ("nginx", "litellm", "portkey")


def machine_info() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpu": model, "cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}


def _case_key(row: dict) -> tuple:
    return row["provider"], row["body"], row["concurrency"]


def add_comparisons(rows: list[dict]) -> None:
    """Per case: added p50 versus direct, throughput as a multiple of the nginx hop and of each peer."""
    by_case: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        by_case.setdefault(_case_key(row), {})[row["subject"]] = row
    for subjects in by_case.values():
        direct = subjects.get("direct")
        for row in subjects.values():
            comparable = direct is not None and row["subject"] != "direct"
            comparable = comparable and row["p50_ms"] is not None and direct["p50_ms"] is not None
            row["added_p50_ms"] = round(row["p50_ms"] - direct["p50_ms"], 3) if comparable else None
            for peer in PEERS:
                other = subjects.get(peer)
                usable = other is not None and other["rps"] > 0 and row["subject"] != peer
                row[f"x_{peer}"] = round(row["rps"] / other["rps"], 2) if usable else None


def fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def load_table(rows: list[dict]) -> str:
    header = [
        "case",
        "subject",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "+p50 ms",
        "x nginx",
        "x litellm",
        "x portkey",
        "RSS MB",
    ]
    lines = [header]
    for row in rows:
        lines.append(
            [
                f"{row['provider']} {row['body']} c={row['concurrency']}",
                row["subject"],
                fmt(row["rps"], 0),
                fmt(row["p50_ms"], 3),
                fmt(row["p99_ms"], 3),
                fmt(row["errors"]),
                fmt(row["added_p50_ms"], 3),
                fmt(row["x_nginx"]),
                fmt(row["x_litellm"]),
                fmt(row["x_portkey"]),
                fmt(row["rss_mib"], 1),
            ]
        )
    return render_table(lines)


def slow_streams_table(rows: list[dict]) -> str:
    header = [
        "subject",
        "streams",
        "ok",
        "errors",
        "error kinds",
        "TTFB p50 ms",
        "TTFB p99 ms",
        "total p99 ms",
        "wall s",
        "peak RSS MB",
    ]
    lines = [header]
    for row in rows:
        kinds = ", ".join(f"{k}={v}" for k, v in row.get("error_kinds", {}).items()) or "-"
        lines.append(
            [
                row["subject"],
                fmt(row["streams"]),
                fmt(row["ok"]),
                fmt(row["errors"]),
                kinds,
                fmt(row["ttfb_p50_ms"]),
                fmt(row["ttfb_p99_ms"]),
                fmt(row["total_p99_ms"]),
                fmt(row["wall_seconds"]),
                fmt(row["rss_mib"], 1),
            ]
        )
    return render_table(lines)


def render_table(lines: list[list[str]], label_columns: int = 2) -> str:
    """A Markdown table (pasted into bench/README.md as is): label columns aligned left, then figures right."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rendered = []
    for index, line in enumerate(lines):
        cells = [cell.ljust(widths[i]) if i < label_columns else cell.rjust(widths[i]) for i, cell in enumerate(line)]
        rendered.append("| " + " | ".join(cells) + " |")
        if index == 0:
            rendered.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(rendered)


class JsonLines:
    """Appends one JSON object per line as results arrive, so an interrupted run keeps what it measured."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict) -> None:
        with open(self.path, "a") as file:
            file.write(json.dumps(record, sort_keys=True) + "\n")
