"""Run wrk pinned to the load core against one URL and return its JSON summary."""

import json
import shutil
import subprocess
from pathlib import Path

REPORT_SCRIPT = Path(__file__).with_name("wrk_report.lua")


def run_wrk(
    url: str, body_path: Path, headers: dict[str, str], concurrency: int, duration_seconds: float, core: str
) -> dict:
    """One bounded wrk run (one thread: the load core is shared with the upstream). Raises on a wrk failure."""
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    duration = max(1, round(duration_seconds))
    argv = [
        "taskset",
        "-c",
        core,
        wrk,
        "-t1",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(REPORT_SCRIPT),
        url,
        "--",
        str(body_path),
    ]
    argv += [f"{name}: {value}" for name, value in headers.items()]
    completed = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=duration + 60)
    for line in completed.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            result = json.loads(line.removeprefix("WRK_JSON "))
            result["errors"] = sum(result[key] for key in result if key.startswith("errors_"))
            seconds = result["duration_us"] / 1e6
            result["rps"] = result["requests"] / seconds if seconds else 0.0
            return result
    raise RuntimeError(
        f"wrk produced no summary (rc={completed.returncode}): "
        f"{completed.stderr.strip()[-500:]} {completed.stdout.strip()[-500:]}"
    )
