"""Side-by-side proxy benchmark: `make bench` (or `.venv/bin/python bench/run.py --quick` for a smoke run).

Starts a fake provider (nginx + njs, plus a slow SSE server) on the load core, then, one subject at a time on
the proxy core: direct, nginx hop, this gateway, LiteLLM, Portkey. Prints the tables and writes JSON lines to
bench/results/. Only 127.0.0.1 is ever loaded; every load run is bounded in time. See bench/README.md.

`--ab REV` compares this checkout's gateway with the one at git revision REV instead, in alternating rounds
(A = this checkout, B = REV): `make bench BENCH_ARGS="--ab HEAD~1"`.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script (`python bench/run.py`): make `bench` importable
    sys.path.insert(0, str(REPO_ROOT))

from bench import ab, canned, gateway_subject, peers, report, subjects, upstream
from bench.procs import RssSampler, cpu_layout, free_port, raise_open_file_limit, tree_cpu_seconds
from bench.subjects import SubjectUnavailable, Target
from bench.system_tools import ensure_system_tools
from bench.wrk_runner import run_wrk

BENCH_DIR = Path(__file__).resolve().parent
ALL_SUBJECTS = ("direct", "nginx", "gateway", "litellm", "portkey")
BODIES = ("json-1k", "json-100k", "stream-1k")
# Above this 1-minute load average something else is using the cores the benchmark pins to.
BUSY_LOAD_AVERAGE = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s per case, 1,000 slow streams kept")
    parser.add_argument(
        "--subjects", default=None, help=f"comma list of {','.join(ALL_SUBJECTS)} (default: all; gateway with --ab)"
    )
    parser.add_argument("--concurrency", default="1,64", help="comma list of wrk connection counts")
    parser.add_argument("--providers", default="anthropic,openai")
    parser.add_argument("--bodies", default=",".join(BODIES))
    parser.add_argument(
        "--slow-streams", type=int, default=None, help="concurrent slow streams (default 1000, 0 with --ab; 0 skips)"
    )
    parser.add_argument("--slow-hold-seconds", type=float, default=2.0)
    parser.add_argument("--no-install", action="store_true", help="never apt-get / pip / npm install anything")
    parser.add_argument("--skip-usage-queries", action="store_true")
    parser.add_argument("--usage-rows", type=int, default=1_000_000, help="usage records seeded for query timing")
    parser.add_argument("--keep-work-dir", action="store_true", help="keep configs, DBs and logs for inspection")
    parser.add_argument(
        "--gateway-config-extra",
        metavar="FILE.yaml",
        type=Path,
        default=None,
        help="config keys merged into the gateway's generated config (with --ab: --ab-config-a / --ab-config-b)",
    )
    ab.add_arguments(parser)
    args = parser.parse_args()
    if args.gateway_config_extra is not None and not args.gateway_config_extra.is_file():
        parser.error(f"--gateway-config-extra {args.gateway_config_extra}: no such file")
    if args.ab is None:
        args.subjects = ",".join(ALL_SUBJECTS) if args.subjects is None else args.subjects
        args.slow_streams = 1000 if args.slow_streams is None else args.slow_streams
    else:
        ab.apply_defaults(parser, args)
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.usage_rows = min(args.usage_rows, 100_000)
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, work_dir: Path) -> None:
        self.args = args
        self.work_dir = work_dir
        self.log_dir = work_dir / "logs"
        self.log_dir.mkdir()
        self.proxy_core, self.load_core = cpu_layout()
        self.upstream_port = free_port()
        self.slow_port = free_port()
        self.load_rows: list[dict] = []
        self.slow_rows: list[dict] = []
        self.records: list[dict] = []
        self.extra_tables: list[str] = []  # printed after the load tables (the A/B tables)
        self.body_files: dict[tuple[str, str], Path] = {}
        self.load_at_start = os.getloadavg()

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def body_file(self, provider: str, body_kind: str) -> Path:
        key = (provider, body_kind)
        if key not in self.body_files:
            path = self.work_dir / f"body-{provider}-{body_kind}.json"
            path.write_bytes(canned.request_body(provider, body_kind))
            self.body_files[key] = path
        return self.body_files[key]

    def start_subject(self, name: str) -> tuple[Target, Callable[[Target], object] | None]:
        """The running target and, for the gateway, what to do after it stopped (count usage rows)."""
        peers_dir = BENCH_DIR / ".peers"
        if name == "direct":
            return subjects.plain_target("direct", self.upstream_port, []), None
        if name == "nginx":
            port = free_port()
            hop = upstream.start_nginx_hop(self.proxy_core, port, self.upstream_port, self.work_dir, self.log_dir)
            return subjects.plain_target("nginx", port, [hop]), None
        if name == "gateway":
            run = gateway_subject.start_gateway(
                self.proxy_core,
                self.upstream_port,
                self.work_dir,
                self.log_dir,
                config_extra=self.args.gateway_config_extra,
            )
            return run.target, lambda target: self.report_usage_rows(
                target,
                run.database_path,
                [r for r in self.load_rows if r["subject"] == target.name],
                [r for r in self.slow_rows if r["subject"] == target.name],
            )
        if self.args.no_install and not (peers_dir / name).exists() and not (peers_dir / f"{name}-venv").exists():
            raise SubjectUnavailable("not installed and --no-install given")
        if name == "litellm":
            return peers.start_litellm(
                self.proxy_core, self.upstream_port, peers_dir, self.work_dir, self.log_dir
            ), None
        if name == "portkey":
            return peers.start_portkey(self.proxy_core, self.upstream_port, peers_dir, self.log_dir), None
        raise SubjectUnavailable(f"unknown subject {name!r}")

    def run_subject(self, name: str) -> None:
        self.log(f"starting subject {name}")
        try:
            target, after_stop = self.start_subject(name)
        except (SubjectUnavailable, RuntimeError) as error:
            self.log(f"subject {name} unavailable: {error}")
            self.records.append({"kind": "subject", "subject": name, "available": False, "reason": str(error)})
            return
        try:
            failures = subjects.probe(target)
            for failure in failures:
                self.log(f"{name} probe failure (its cases still run, errors will show): {failure}")
            target.notes += [f"probe failure: {failure}" for failure in failures]
            self.records.append({"kind": "subject", "subject": name, "available": True, "notes": target.notes})
            self.load_rows += self.run_load_cases(target)
            if self.args.slow_streams > 0:
                self.run_slow_streams(target)
        finally:
            target.stop()
        if after_stop is not None:
            after_stop(target)

    def run_load_cases(self, target: Target) -> list[dict]:
        """Warm-up, then every case of --providers x --bodies x --concurrency; returns the rows."""
        providers = [p for p in self.args.providers.split(",") if p]
        bodies = [b for b in self.args.bodies.split(",") if b]
        levels = [int(c) for c in self.args.concurrency.split(",") if c]
        # Warm up (connection pools, lazy imports) once per subject; counted for the usage-row check.
        warm = run_wrk(
            target.urls["anthropic"],
            self.body_file("anthropic", "json-1k"),
            target.headers["anthropic"],
            max(levels),
            1,
            self.load_core,
        )
        target.probe_requests += warm["requests"] - warm["errors_status"]
        self.settle(target)
        return [
            self.run_one_case(target, provider, body_kind, concurrency)
            for provider in providers
            for body_kind in bodies
            for concurrency in levels
        ]

    def run_one_case(self, target: Target, provider: str, body_kind: str, concurrency: int) -> dict:
        cpu_before = tree_cpu_seconds(target.root_pids())
        with RssSampler(target.root_pids()) as sampler:
            result = run_wrk(
                target.urls[provider],
                self.body_file(provider, body_kind),
                target.headers[provider],
                concurrency,
                self.args.duration,
                self.load_core,
            )
        # Read before settling: the window is wrk's, whose in-flight requests at the start and at the cutoff
        # roughly cancel out, so this is the CPU of the requests wrk counted.
        cpu_seconds = tree_cpu_seconds(target.root_pids()) - cpu_before
        ok_requests = result["requests"] - result["errors_status"]
        measured = ok_requests > 0  # wrk's percentiles of zero replies are zeros, not latencies
        row = {
            "kind": "load",
            "subject": target.name,
            "provider": provider,
            "body": body_kind,
            "concurrency": concurrency,
            "duration_s": self.args.duration,
            # Only successful replies count as throughput: a subject answering 500 fast is not fast.
            "rps": round(ok_requests / (result["duration_us"] / 1e6), 1),
            "requests": result["requests"],
            "ok_requests": ok_requests,
            "errors": result["errors"],
            "p50_ms": result["latency_p50_us"] / 1000 if measured else None,
            "p90_ms": result["latency_p90_us"] / 1000 if measured else None,
            "p99_ms": result["latency_p99_us"] / 1000 if measured else None,
            "rss_mib": round(sampler.peak_mib, 1) if target.processes else None,
            # CPU of the subject's process tree per completed request: steadier than req/s on a shared machine.
            "cpu_us_per_call": round(cpu_seconds * 1e6 / result["requests"], 1)
            if target.processes and result["requests"]
            else None,
            "wrk": result,
        }
        self.settle(target)
        self.log(
            f"{target.name:8} {provider:9} {body_kind:9} c={concurrency:<3} {row['rps']:>9,.0f} req/s "
            f"p50 {row['p50_ms']} ms p99 {row['p99_ms']} ms errors {row['errors']} "
            f"CPU {report.fmt(row['cpu_us_per_call'], 1)} us/call"
        )
        return row

    def settle(self, target: Target) -> None:
        """Wait until the subject has drained the requests wrk abandoned when it stopped: a slow subject would
        otherwise still be busy with them during the next case. One request, queued behind them, tells."""
        status, _ = subjects.post_once(
            target.urls["anthropic"],
            target.headers["anthropic"],
            canned.request_body("anthropic", "json-1k"),
            timeout_seconds=120,
        )
        if status == 200:
            target.probe_requests += 1

    def run_slow_streams(self, target: Target) -> dict | None:
        headers_file = self.work_dir / f"slow-headers-{target.name}.json"
        headers_file.write_text(json.dumps(target.headers["anthropic"]))
        timeout = self.args.slow_hold_seconds + 60
        argv = [
            "taskset",
            "-c",
            self.load_core,
            sys.executable,
            "-m",
            "bench.slow_streams",
            "--url",
            target.urls["anthropic"],
            "--provider",
            "anthropic",
            "--count",
            str(self.args.slow_streams),
            "--headers-file",
            str(headers_file),
            "--timeout-seconds",
            str(timeout),
        ]
        with RssSampler(target.root_pids()) as sampler:
            completed = subprocess.run(
                argv, check=False, capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout + 60
            )
        line = next((x for x in completed.stdout.splitlines() if x.startswith("SLOW_JSON ")), None)
        if line is None:
            self.log(f"{target.name} slow streams: client failed: {completed.stderr.strip()[-600:]}")
            return None
        result = json.loads(line.removeprefix("SLOW_JSON "))
        result.update(
            kind="slow_streams", subject=target.name, rss_mib=round(sampler.peak_mib, 1) if target.processes else None
        )
        target.probe_requests += result["ok"]
        self.slow_rows.append(result)
        self.log(
            f"{target.name:8} {result['streams']} slow streams: ok {result['ok']} errors {result['errors']} "
            f"{result['error_kinds'] or ''} peak RSS {result['rss_mib']} MB"
        )
        return result

    def report_usage_rows(self, target: Target, database_path: Path, rows: list[dict], slow_rows: list[dict]) -> dict:
        """Compares the usage rows in the subject's database with the requests it completed (`rows`)."""
        sent_ok = target.probe_requests + sum(r["ok_requests"] for r in rows)
        # wrk stops with up to `concurrency` requests in flight; those may or may not have been recorded.
        # So may slow streams that failed. The warm-up run adds one more window of the largest concurrency.
        slow_failures = sum(r["errors"] for r in slow_rows)
        in_flight_bound = sum(r["concurrency"] for r in rows) + self.args.concurrency_levels_max + slow_failures
        counted = gateway_subject.count_usage_rows(database_path)
        # With GATEWAY_LLM_LOG_BODIES on, one stored body per forwarded call: fewer means the body writer fell behind
        # or failed, and the run measured less work than it claims.
        bodies = gateway_subject.count_call_bodies(database_path)
        record = {
            "kind": "usage_rows",
            "subject": target.name,
            "completed_requests": sent_ok,
            "in_flight_at_cutoff_max": in_flight_bound,
            "table": counted[0] if counted else None,
            "rows": counted[1] if counted else None,
            "call_bodies": bodies,
        }
        self.records.append(record)
        self.log(
            f"usage rows: {record['rows']} in {record['table']} for {sent_ok} completed requests "
            f"(+ up to {in_flight_bound} cut off in flight when wrk stopped)"
            + (f"; {bodies} call bodies stored" if bodies else "")
        )
        return record

    def run_usage_queries(self) -> None:
        try:
            from bench import usage_queries
        except ImportError as error:  # the gateway's usage tables or queries are missing from this checkout
            self.log(f"usage query timing skipped: {error}")
            return

        # The database is the subject here: give it every core back.
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        for record in usage_queries.run(self.work_dir, rows=self.args.usage_rows, log=self.log):
            self.records.append(record)

    def print_and_save(self) -> None:
        report.add_comparisons(self.load_rows)
        if self.load_rows:
            print()
            print(report.load_table(self.load_rows))
        if self.slow_rows:
            print()
            print(report.slow_streams_table(self.slow_rows))
        for table in self.extra_tables:
            print()
            print(table)
        for record in self.records:
            if record["kind"] in ("subject", "ab") and not record["available"]:
                print(f"\n{record.get('subject', 'A/B')}: not measured: {record['reason'][:300]}")
            elif record["kind"] == "usage_rows":
                where = f" round {record['ab_round']}" if "ab_round" in record else ""
                print(
                    f"\n{record['subject']}{where} usage rows: {record['rows']} for {record['completed_requests']} "
                    f"completed requests (up to {record['in_flight_at_cutoff_max']} more were in flight at cutoff)"
                    + (f"; {record['call_bodies']} call bodies stored" if record.get("call_bodies") else "")
                )
        results_dir = BENCH_DIR / "results"
        out = report.JsonLines(results_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")
        out.write(
            {
                "kind": "run",
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": report.machine_info(),
                "proxy_core": self.proxy_core,
                "load_core": self.load_core,
                "args": {
                    name: str(value) if isinstance(value, Path) else value for name, value in vars(self.args).items()
                },
                "load_average_at_start": self.load_at_start,
                "load_average_at_end": os.getloadavg(),
            }
        )
        for row in [*self.load_rows, *self.slow_rows, *self.records]:
            out.write(row)
        if self.load_at_start[0] > BUSY_LOAD_AVERAGE:
            print(f"\nWARNING: load average was {self.load_at_start[0]:.1f} at the start: these figures are not clean.")
        print(f"\nJSON lines: {out.path}")


def main() -> int:
    args = parse_args()
    # `timeout`, CI or kill: unwind through the `finally` blocks so no subject or upstream is left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args.concurrency_levels_max = max(int(c) for c in args.concurrency.split(",") if c)
    raise_open_file_limit()
    if not args.no_install:
        ensure_system_tools()
    work_dir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    bench = Bench(args, work_dir)
    os.sched_setaffinity(0, {int(bench.load_core)})  # the driver and its samplers stay off the proxy core
    bench.log(f"proxy core {bench.proxy_core}, load core {bench.load_core}, work dir {work_dir}")
    if bench.load_at_start[0] > BUSY_LOAD_AVERAGE:
        bench.log(
            f"WARNING: load average {bench.load_at_start[0]:.1f} before the run: other processes share these "
            "cores and the figures will be low and noisy"
        )
    slow = upstream.start_slow_upstream(
        bench.load_core, bench.slow_port, sys.executable, bench.log_dir, args.slow_hold_seconds
    )
    fake = None
    try:
        fake = upstream.start_fake_upstream(
            bench.load_core, bench.upstream_port, bench.slow_port, work_dir, bench.log_dir
        )
        for name in [s for s in args.subjects.split(",") if s]:
            if args.ab is not None and name == "gateway":
                continue  # measured by the A/B rounds below, at both revisions
            bench.run_subject(name)
        if args.ab is not None:
            ab.run(bench)
        if not args.skip_usage_queries:
            bench.run_usage_queries()
        bench.print_and_save()
    finally:
        if fake is not None:
            fake.stop()
        slow.stop()
        if args.keep_work_dir:
            bench.log(f"kept {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
