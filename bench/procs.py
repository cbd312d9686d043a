"""Process plumbing: pinned child processes, readiness waits, clean stops, RSS of a process tree."""

import os
import resource
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_layout() -> tuple[str, str]:
    """(proxy core, load core): the proxy under test alone on one core, load and upstream on the other."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return str(cores[0]), str(cores[0])
    return str(cores[0]), str(cores[1])


def raise_open_file_limit() -> None:
    """1,000 streams need ~2,000 sockets per process; children inherit the raised soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Managed:
    """A child process started in its own process group so that stopping it also stops its workers."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    extra_pids: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace_seconds: float = 10.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


def start_pinned(
    name: str, core: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Managed:
    log_path = log_dir / f"{name}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    popen = subprocess.Popen(
        ["taskset", "-c", core, *argv],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    log_file.close()
    return Managed(name=name, popen=popen, log_path=log_path)


def wait_for_port(port: int, timeout_seconds: float, process: Managed | None = None) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: the fields we need follow the last ')'.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def process_tree(root_pid: int) -> list[int]:
    children = _children_map()
    tree, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mib(root_pids: list[int]) -> float:
    """RSS summed over the processes (and all their descendants): master plus workers, as `ps` would add them."""
    pids: set[int] = set()
    for root in root_pids:
        pids.update(process_tree(root))
    # taskset execs into the real program, so the root pid is the program itself.
    return sum(_rss_kib(pid) for pid in pids) / 1024


_CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime: its own CPU and that of the children it has reaped, so a worker that
    exits mid-run still counts (once: a reaped child is no longer in the tree)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields 14-17 of stat(5); the split starts at field 3 (state), after the command name.
    return sum(int(value) for value in stat.rsplit(")", 1)[1].split()[11:15])


def tree_cpu_seconds(root_pids: list[int]) -> float:
    """User + system CPU seconds of the processes and all their descendants (server and workers).

    The kernel counts in clock ticks (10 ms at USER_HZ=100): compare over runs of seconds, not single calls."""
    pids: set[int] = set()
    for root in root_pids:
        pids.update(process_tree(root))
    return sum(_cpu_ticks(pid) for pid in pids) / _CLOCK_TICKS_PER_SECOND


class RssSampler:
    """Samples the RSS of a process tree in the background while load runs; keeps the peak."""

    def __init__(self, root_pids: list[int], interval_seconds: float = 0.5) -> None:
        self._root_pids = root_pids
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.peak_mib = 0.0

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, tree_rss_mib(self._root_pids))
            self._stop.wait(self._interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak_mib = max(self.peak_mib, tree_rss_mib(self._root_pids))
