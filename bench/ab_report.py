"""The A/B figures: per case, the median of each side over its rounds, B/A ratios, the rounds in which A used
less CPU per call than B, the added p50 at c=1, and the two printed tables (every round; the summary)."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from bench.report import fmt, render_table

if TYPE_CHECKING:
    from bench.ab import Side

Case = tuple[str, str, int]
SIDES = ("A", "B")
METRICS = ("rps", "p50_ms", "p99_ms", "cpu_us_per_call")


def _case(row: dict) -> Case:
    return row["provider"], row["body"], row["concurrency"]


def _label(case: Case) -> str:
    provider, body, concurrency = case
    return f"{provider} {body} c={concurrency}"


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _ratio(b: float | None, a: float | None) -> float | None:
    return round(b / a, 3) if a and b is not None else None


def _added(p50_ms: float | None, direct_p50_ms: float | None) -> float | None:
    """The latency the hop adds over the fake provider alone; only measured at c=1, where it means something."""
    return round(p50_ms - direct_p50_ms, 3) if p50_ms is not None and direct_p50_ms is not None else None


def summarize(rows: list[dict], direct_rows: list[dict]) -> list[dict]:
    """One `ab_case` record per case, in the order the cases ran."""
    direct_p50 = {_case(row): row["p50_ms"] for row in direct_rows}
    by_case: dict[Case, dict[str, list[dict]]] = {}
    for row in rows:
        by_case.setdefault(_case(row), {side: [] for side in SIDES})[row["ab_side"]].append(row)
    return [_summarize_case(case, by_side, direct_p50.get(case)) for case, by_side in by_case.items()]


def _summarize_case(case: Case, by_side: dict[str, list[dict]], direct_p50_ms: float | None) -> dict:
    provider, body, concurrency = case
    record: dict = {
        "kind": "ab_case",
        "provider": provider,
        "body": body,
        "concurrency": concurrency,
        "direct_p50_ms": direct_p50_ms,
    }
    for side, side_rows in by_side.items():
        medians = {metric: _median([row[metric] for row in side_rows]) for metric in METRICS}
        record[side] = {
            "rounds": len(side_rows),
            "errors": sum(row["errors"] for row in side_rows),
            **{f"median_{metric}": value for metric, value in medians.items()},
            "added_p50_ms": _added(medians["p50_ms"], direct_p50_ms),
        }
    record["ratio_b_a"] = {
        metric: _ratio(record["B"][f"median_{metric}"], record["A"][f"median_{metric}"]) for metric in METRICS
    }
    record["a_cheaper_rounds"], record["paired_rounds"] = _a_cheaper(by_side)
    return record


def _a_cheaper(by_side: dict[str, list[dict]]) -> tuple[int, int]:
    """(rounds in which A, the checkout under test, used less CPU per call than B in the same round, rounds with
    both measured). A round pairs two neighbouring runs, so a change that wins every round is more than the drift
    of the machine between rounds, even when the medians differ by little."""
    a_cpu = {row["ab_round"]: row["cpu_us_per_call"] for row in by_side["A"]}
    pairs = [
        (a_cpu[row["ab_round"]], row["cpu_us_per_call"])
        for row in by_side["B"]
        if a_cpu.get(row["ab_round"]) is not None and row["cpu_us_per_call"] is not None
    ]
    return sum(1 for a, b in pairs if a < b), len(pairs)


def rounds_table(rows: list[dict], direct_rows: list[dict]) -> str:
    """Every measurement: per case, the direct floor (c=1), then each round's two sides in the order they ran."""
    direct = {_case(row): row for row in direct_rows}
    cases = list(dict.fromkeys(_case(row) for row in rows))
    # A stable sort: within a round the rows stay in the order they ran.
    ordered = sorted(rows, key=lambda row: (cases.index(_case(row)), row["ab_round"]))
    header = ["case", "side", "round", "req/s", "p50 ms", "p99 ms", "+p50 ms", "CPU us/call", "errors"]
    lines = [header]
    previous: Case | None = None
    for row in ordered:
        case = _case(row)
        if case != previous and case in direct:
            lines.append(_round_line(direct[case], "direct", "-", None))
        previous = case
        direct_p50_ms = direct[case]["p50_ms"] if case in direct else None
        lines.append(_round_line(row, row["ab_side"], str(row["ab_round"]), direct_p50_ms))
    return "A/B, every round:\n" + render_table(lines, label_columns=3)


def _round_line(row: dict, side: str, round_label: str, direct_p50_ms: float | None) -> list[str]:
    return [
        _label(_case(row)),
        side,
        round_label,
        fmt(row["rps"], 0),
        fmt(row["p50_ms"], 3),
        fmt(row["p99_ms"], 3),
        fmt(_added(row["p50_ms"], direct_p50_ms), 3),
        fmt(row["cpu_us_per_call"], 1),
        fmt(row["errors"]),
    ]


def summary_table(cases: list[dict], sides: tuple[Side, Side]) -> str:
    """Medians per side and B/A; the lines above the table say which revision each side is."""
    header = ["case", "req/s A", "req/s B", "B/A", "p50 A", "p50 B", "B/A", "p99 A", "p99 B", "B/A"]
    header += ["CPU us A", "CPU us B", "B/A", "A cheaper", "+p50 A", "+p50 B", "errors A/B"]
    lines = [header]
    for case in cases:
        a, b, ratio = case["A"], case["B"], case["ratio_b_a"]
        lines.append(
            [
                _label(_case(case)),
                fmt(a["median_rps"], 0),
                fmt(b["median_rps"], 0),
                fmt(ratio["rps"], 3),
                fmt(a["median_p50_ms"], 3),
                fmt(b["median_p50_ms"], 3),
                fmt(ratio["p50_ms"], 3),
                fmt(a["median_p99_ms"], 3),
                fmt(b["median_p99_ms"], 3),
                fmt(ratio["p99_ms"], 3),
                fmt(a["median_cpu_us_per_call"], 1),
                fmt(b["median_cpu_us_per_call"], 1),
                fmt(ratio["cpu_us_per_call"], 3),
                f"{case['a_cheaper_rounds']}/{case['paired_rounds']}",
                fmt(a["added_p50_ms"], 3),
                fmt(b["added_p50_ms"], 3),
                f"{a['errors']}/{b['errors']}",
            ]
        )
    legend = [f"{side.label} = {side.description}" for side in sides]
    legend.append("Medians over the rounds. B/A above 1: B has more req/s, or A has less latency or CPU per call.")
    legend.append("A cheaper: rounds in which A used less CPU per call than B. +p50: over direct, at c=1 only.")
    return "A/B summary:\n" + "\n".join(legend) + "\n" + render_table(lines, label_columns=1)
