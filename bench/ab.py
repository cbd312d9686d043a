"""A/B: this checkout's gateway (A) against the gateway at another git revision (B), in one run.

On a shared, noisy machine only figures from the same run, taken in alternation, compare: `--ab REV` checks REV
out into a detached `git worktree` under the work dir (removed at the end), then runs alternating rounds of the
gateway's cases: A B, B A, A B, ... Both sides run from the same venv with their own tree first on PYTHONPATH (see
gateway_subject), and each side of each round is a fresh gateway (new process, new database): see
bench/README.md, "A/B against another revision", for why and for how to read the result.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench import ab_report, gateway_subject, subjects
from bench.subjects import SubjectUnavailable

if TYPE_CHECKING:
    from bench.run import Bench

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Side:
    label: str  # "A" (this checkout) or "B" (the revision given to --ab)
    tree: Path
    commit: str
    description: str
    # Settings only this side's gateway gets (--ab-env-a / --ab-env-b): one revision with a feature on and off.
    env: tuple[tuple[str, str], ...] = ()
    # A YAML file merged into this side's generated config only (--ab-config-a / --ab-config-b), e.g. message
    # policies: the same revision with and without them.
    config_extra: Path | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ab",
        metavar="REV",
        default=None,
        help="compare this checkout's gateway (A) with the one at git revision REV (B), e.g. HEAD~1",
    )
    parser.add_argument("--ab-rounds", type=int, default=3, help="alternating A/B rounds with --ab (default 3)")
    for label in ("a", "b"):
        parser.add_argument(
            f"--ab-env-{label}",
            metavar="NAME=VALUE",
            action="append",
            default=[],
            help=f"a setting only side {label.upper()}'s gateway gets (repeatable), e.g. GATEWAY_LLM_LOG_BODIES=true",
        )
        parser.add_argument(
            f"--ab-config-{label}",
            metavar="FILE.yaml",
            type=Path,
            default=None,
            help=f"config keys merged into side {label.upper()}'s generated gateway config only, e.g. "
            "bench/message_policies_patterns.yaml",
        )


def apply_defaults(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--ab measures the gateway only, unless other subjects or slow streams are asked for explicitly."""
    if args.subjects is None:
        args.subjects = "gateway"
    if "gateway" not in args.subjects.split(","):
        parser.error("--ab compares the gateway at two revisions: --subjects must include gateway")
    if args.slow_streams is None:
        args.slow_streams = 0
    if args.ab_rounds < 1:
        parser.error("--ab-rounds must be at least 1")
    for option in ("ab_env_a", "ab_env_b"):
        for entry in getattr(args, option):
            name, sep, _ = entry.partition("=")
            if not sep or not name.startswith("GATEWAY_"):
                parser.error(f"--{option.replace('_', '-')} {entry!r}: expected GATEWAY_NAME=VALUE")
    if args.gateway_config_extra is not None:
        parser.error("--gateway-config-extra is for a run without --ab: use --ab-config-a / --ab-config-b")
    for option in ("ab_config_a", "ab_config_b"):
        path = getattr(args, option)
        if path is not None and not path.is_file():
            parser.error(f"--{option.replace('_', '-')} {path}: no such file")
    try:  # a mistyped revision fails here, before anything is started
        args.ab_commit = _git("rev-parse", "--verify", "--end-of-options", f"{args.ab}^{{commit}}")
    except SubjectUnavailable as error:
        parser.error(f"--ab {args.ab}: {error}")
    # The usage queries time the database, not the proxy hop, and only at this checkout: not part of an A/B.
    args.skip_usage_queries = True


def _git(*argv: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), *argv], check=False, capture_output=True, text=True, timeout=120
    )
    if completed.returncode != 0:
        raise SubjectUnavailable(f"git {' '.join(argv)} failed: {completed.stderr.strip()[-400:]}")
    return completed.stdout.strip()


def _describe(commit: str) -> str:
    """Short hash and subject line, cut to fit above the summary table."""
    line = _git("log", "-1", "--format=%h %s", commit)
    return line if len(line) <= 80 else line[:77] + "..."


def _settings(entries: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name, _, value in (entry.partition("=") for entry in entries))


def _with_settings(description: str, env: tuple[tuple[str, str], ...], config_extra: Path | None = None) -> str:
    settings = "".join(f" [{name}={value}]" for name, value in env)
    return description + settings + (f" [config + {config_extra.name}]" if config_extra is not None else "")


def this_checkout(env: tuple[tuple[str, str], ...] = (), config_extra: Path | None = None) -> Side:
    """A is the working tree as it is, uncommitted changes included: that is what a change is measured as."""
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "gateway_api"))
    suffix = " + uncommitted changes in gateway_api/" if dirty else ""
    description = _with_settings(f"this checkout: {_describe(commit)}{suffix}", env, config_extra)
    return Side("A", REPO_ROOT, commit, description, env, config_extra)


@contextmanager
def revision_tree(
    revision: str, commit: str, parent: Path, env: tuple[tuple[str, str], ...] = (), config_extra: Path | None = None
) -> Iterator[Side]:
    """B: `commit` (what `revision` names) checked out, detached, into a git worktree under `parent`, removed again
    afterwards."""
    path = parent / f"ab-tree-{commit[:12]}"
    _git("worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        description = _with_settings(f"{revision}: {_describe(commit)}", env, config_extra)
        yield Side("B", path, commit, description, env, config_extra)
    finally:
        try:
            _git("worktree", "remove", "--force", str(path))
        except SubjectUnavailable:
            # Removing the directory by hand leaves a stale entry in .git/worktrees: prune drops it.
            shutil.rmtree(path, ignore_errors=True)
            _git("worktree", "prune")


def verify_import(side: Side, cwd: Path) -> Path:
    """Where the gateway of this side really imports `gateway_api` from; raises unless it is the side's tree."""
    where = gateway_subject.imported_from(side.tree, cwd)
    expected = (side.tree / "gateway_api").resolve()
    if where != expected:
        raise SubjectUnavailable(f"{side.label} would import gateway_api from {where}, not {expected}")
    return where


def run(bench: Bench) -> None:
    """The A/B rounds: adds the per-round rows, the per-case summary and the two tables to `bench`."""
    try:
        a = this_checkout(_settings(bench.args.ab_env_a), bench.args.ab_config_a)
        b_env = _settings(bench.args.ab_env_b)
        with revision_tree(bench.args.ab, bench.args.ab_commit, bench.work_dir, b_env, bench.args.ab_config_b) as b:
            sides = (a, b)
            for side in sides:
                where = verify_import(side, bench.work_dir)
                bench.log(f"A/B side {side.label}: {side.description}; gateway_api from {where}")
            bench.records.append(_sides_record(sides, bench.args.ab_rounds))
            direct_rows = _measure_direct(bench)
            rows = _run_rounds(bench, sides)
    except SubjectUnavailable as error:
        bench.log(f"A/B not run: {error}")
        bench.records.append({"kind": "ab", "available": False, "reason": str(error)})
        return
    cases = ab_report.summarize(rows, direct_rows)
    bench.records += [*direct_rows, *rows, *cases]
    bench.extra_tables.append(ab_report.rounds_table(rows, direct_rows))
    bench.extra_tables.append(ab_report.summary_table(cases, sides))


def _sides_record(sides: tuple[Side, Side], rounds: int) -> dict:
    return {
        "kind": "ab",
        "available": True,
        "rounds": rounds,
        "order": "A B, B A, A B, ...",
        **{
            f"side_{side.label}": {
                "commit": side.commit,
                "description": side.description,
                "tree": str(side.tree),
                "config_extra": str(side.config_extra) if side.config_extra is not None else None,
            }
            for side in sides
        },
    }


def _measure_direct(bench: Bench) -> list[dict]:
    """The fake provider alone at c=1, once: the floor the added p50 is measured from. It is the same for both
    sides, so it moves neither the B/A ratios nor B's p50 minus A's; once is enough."""
    if 1 not in _levels(bench):
        return []
    target = subjects.plain_target("direct", bench.upstream_port, [])
    rows = [
        bench.run_one_case(target, provider, body_kind, 1)
        for provider in _split(bench.args.providers)
        for body_kind in _split(bench.args.bodies)
    ]
    for row in rows:
        row["ab_reference"] = True
    return rows


def _run_rounds(bench: Bench, sides: tuple[Side, Side]) -> list[dict]:
    """A B, B A, A B, ...: the side that goes first changes every round, so a machine that gets steadily busier
    or quieter during the run (other sessions' tests) favours neither side; with A always first, the second side
    was ahead in every round of A/A runs on a busy machine."""
    rows: list[dict] = []
    for round_number in range(1, bench.args.ab_rounds + 1):
        for side in sides if round_number % 2 else reversed(sides):
            rows += _run_side(bench, side, round_number)
    return rows


def _run_side(bench: Bench, side: Side, round_number: int) -> list[dict]:
    """One fresh gateway from the side's tree: started, probed, warmed up, every case, stopped, usage counted."""
    name = f"gateway-{side.label}"
    run_dir = bench.work_dir / f"ab-{side.label}{round_number}"
    run_dir.mkdir()
    bench.log(f"A/B round {round_number}/{bench.args.ab_rounds}: starting {name} ({side.commit[:12]})")
    # The load average says how far other work on the machine may have moved this side's figures.
    tag = {
        "ab_side": side.label,
        "ab_round": round_number,
        "commit": side.commit,
        "settings": dict(side.env),
        "config_extra": str(side.config_extra) if side.config_extra is not None else None,
        "load_average": os.getloadavg(),
    }
    try:
        # The run dir is also the log dir, so each round keeps its own gateway.log.
        run = gateway_subject.start_gateway(
            bench.proxy_core,
            bench.upstream_port,
            run_dir,
            run_dir,
            tree=side.tree,
            name=name,
            env=dict(side.env),
            config_extra=side.config_extra,
        )
    except (SubjectUnavailable, RuntimeError, subprocess.TimeoutExpired) as error:
        bench.log(f"{name} round {round_number} not measured: {error}")
        bench.records.append({"kind": "subject", "subject": name, "available": False, "reason": str(error), **tag})
        return []
    target = run.target
    try:
        rows = bench.run_load_cases(target)
        slow = bench.run_slow_streams(target) if bench.args.slow_streams > 0 else None
    finally:
        target.stop()
    usage = bench.report_usage_rows(target, run.database_path, rows, [slow] if slow else [])
    for record in [*rows, usage, *([slow] if slow else [])]:
        record.update(tag)
    return rows


def _split(value: str) -> list[str]:
    return [item for item in value.split(",") if item]


def _levels(bench: Bench) -> list[int]:
    return [int(level) for level in _split(bench.args.concurrency)]
