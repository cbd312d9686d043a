"""This gateway, run exactly as users run it: the `gateway` CLI, a fresh SQLite DB, a declarative YAML config,
a key from `gateway keys create`, key auth + policy + usage accounting on. Afterwards the usage rows are counted.

The code comes from a source tree put first on PYTHONPATH (this checkout unless told otherwise): the venv's
editable install points at whichever checkout ran `pip install -e .`, which is not this one in a git worktree,
and not the other revision of an A/B run. The same venv, so the same dependencies, serves every tree.
"""

import os
import secrets
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench import canned
from bench.procs import Managed, free_port, start_pinned, wait_for_port
from bench.subjects import PROVIDER_PATHS, PROVIDERS, SubjectUnavailable, Target, probe, provider_headers

REPO_ROOT = Path(__file__).resolve().parent.parent
GATEWAY_CLI = REPO_ROOT / ".venv" / "bin" / "gateway"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
ADMIN_EMAIL = "admin@localhost"
PROXY_PREFIX = "/api/llm-proxy"
_WHERE_IS_GATEWAY_API = "import gateway_api, pathlib; print(pathlib.Path(gateway_api.__file__).resolve().parent)"


def gateway_config_yaml(upstream_port: int) -> str:
    base = f"http://127.0.0.1:{upstream_port}"
    return f"""providers:
  - name: anthropic
    kind: anthropic
    base_url: {base}
    api_key: {canned.UPSTREAM_API_KEY}
    models: [{{name: {canned.ANTHROPIC_MODEL}}}]
  - name: openai
    kind: openai
    base_url: {base}
    api_key: {canned.UPSTREAM_API_KEY}
    models: [{{name: {canned.OPENAI_MODEL}}}]
policies:
  - {{name: everyone, subjects: ["*"], models: ["*"]}}
"""


def merged_config(base: str, extra_path: Path | None) -> str:
    """The generated config with `extra_path`'s top-level keys added (e.g. `message_policies:`). A key both have
    must be a list in both, and the extra file's items are appended (more providers or access policies); anything
    else in both is refused, so an extra file never silently replaces the bench's providers."""
    if extra_path is None:
        return base
    config = yaml.safe_load(base)
    extra = yaml.safe_load(extra_path.read_text())
    if not isinstance(extra, dict):
        raise SubjectUnavailable(f"{extra_path}: expected a YAML mapping of config keys")
    for key, value in extra.items():
        if key not in config:
            config[key] = value
        elif isinstance(config[key], list) and isinstance(value, list):
            config[key] = [*config[key], *value]
        else:
            raise SubjectUnavailable(f"{extra_path}: {key!r} is in the generated config already and is not a list")
    return yaml.safe_dump(config, sort_keys=False)


@dataclass
class GatewayRun:
    target: Target
    database_path: Path


def tree_environment(tree: Path) -> dict[str, str]:
    """PYTHONPATH with `tree` first: path entries are searched before the editable install's finder, so
    `gateway_api` (and the migrations next to it) come from that tree."""
    inherited = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{tree}{os.pathsep}{inherited}" if inherited else str(tree)}


def imported_from(tree: Path, cwd: Path) -> Path:
    """Where the venv's Python, given the environment the gateway gets, imports `gateway_api` from.

    Run from `cwd` (not the tree), so that only PYTHONPATH can select the tree, as for the `gateway` script."""
    completed = subprocess.run(
        [str(VENV_PYTHON if VENV_PYTHON.exists() else sys.executable), "-c", _WHERE_IS_GATEWAY_API],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **tree_environment(tree)},
        cwd=cwd,
    )
    if completed.returncode != 0:
        raise SubjectUnavailable(f"cannot import gateway_api from {tree}: {completed.stderr.strip()[-400:]}")
    return Path(completed.stdout.strip())


def _environment(
    work_dir: Path, upstream_port: int, tree: Path, config_extra: Path | None
) -> tuple[dict[str, str], Path]:
    database_path = work_dir / "gateway.db"
    config_path = work_dir / "gateway.yaml"
    config_path.write_text(merged_config(gateway_config_yaml(upstream_port), config_extra))
    env = {
        **tree_environment(tree),
        # The generated secret key goes here too, not into ./data of the source tree the server runs from.
        "GATEWAY_DATA_DIR": str(work_dir / "data"),
        "GATEWAY_DATABASE_URL": f"sqlite:///{database_path}",
        "GATEWAY_CONFIG": str(config_path),
        "GATEWAY_ADMIN_EMAIL": ADMIN_EMAIL,
        "GATEWAY_ADMIN_PASSWORD": secrets.token_urlsafe(18),
    }
    return env, database_path


def _start_server(core: str, port: int, env: dict[str, str], log_dir: Path, tree: Path) -> Managed:
    process = start_pinned(
        "gateway",
        core,
        [str(GATEWAY_CLI), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        log_dir,
        env=env,
        cwd=tree,
    )
    if not wait_for_port(port, 60, process):
        tail = process.log_tail()
        process.stop()
        raise SubjectUnavailable(f"gateway serve did not listen on {port}: {tail}")
    return process


def _create_key(env: dict[str, str], tree: Path) -> str:
    completed = subprocess.run(
        [str(GATEWAY_CLI), "keys", "create", "--user", ADMIN_EMAIL, "--scope", "llm", "--no-expiration"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=tree,
    )
    lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        # stderr may describe the failure; the key itself is only ever on stdout, which is not echoed here.
        raise SubjectUnavailable(
            f"gateway keys create failed (rc={completed.returncode}): {completed.stderr.strip()[-400:]}"
        )
    return lines[-1]


def _target(name: str, port: int, key: str, process: Managed) -> Target:
    return Target(
        name=name,
        urls={
            provider: f"http://127.0.0.1:{port}{PROXY_PREFIX}/{provider}{PROVIDER_PATHS[provider]}"
            for provider in PROVIDERS
        },
        headers={provider: provider_headers(provider, key) for provider in PROVIDERS},
        processes=[process],
        notes=["gateway serve --workers 1, SQLite, key auth + policy + usage on"],
    )


def start_gateway(
    core: str,
    upstream_port: int,
    work_dir: Path,
    log_dir: Path,
    tree: Path = REPO_ROOT,
    name: str = "gateway",
    env: dict[str, str] | None = None,
    config_extra: Path | None = None,
) -> GatewayRun:
    """`work_dir` gets the config and the database: a fresh directory gives a fresh gateway; `env` adds settings,
    `config_extra` a YAML file merged into the generated config (merged_config)."""
    if not GATEWAY_CLI.exists():
        raise SubjectUnavailable(f"{GATEWAY_CLI} does not exist yet (pip install -e . ?)")
    base_env, database_path = _environment(work_dir, upstream_port, tree, config_extra)
    env = {**base_env, **(env or {})}
    port = free_port()
    process = _start_server(core, port, env, log_dir, tree)
    try:
        key = _create_key(env, tree)
    except (SubjectUnavailable, subprocess.TimeoutExpired):
        process.stop()
        raise
    target = _target(name, port, key, process)
    failures = probe(target)
    if failures:
        # A key created by another process may only be seen after the server (re)loads its catalog.
        process.stop()
        process = _start_server(core, port, env, log_dir, tree)
        probes_so_far = target.probe_requests
        target = _target(name, port, key, process)
        target.probe_requests = probes_so_far
        failures = probe(target)
        if failures:
            process.stop()
            raise SubjectUnavailable(f"gateway probe failed: {'; '.join(failures)}; log: {process.log_tail(800)}")
        target.notes.append("key became usable only after a server restart")
    return GatewayRun(target=target, database_path=database_path)


def count_usage_rows(database_path: Path) -> tuple[str, int] | None:
    """(table name, row count) of the usage table, or None when no usage table exists."""
    with sqlite3.connect(database_path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        candidates = [name for name in tables if name.lower() == "usagerecord"]
        candidates += [name for name in tables if "usage" in name.lower() and name not in candidates]
        if not candidates:
            return None
        table = candidates[0]
        (count,) = connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        return table, int(count)


def count_call_bodies(database_path: Path) -> int | None:
    """Rows of the call log's body table (GATEWAY_LLM_LOG_BODIES), or None when the gateway has no such table."""
    with sqlite3.connect(database_path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "callbody" not in tables:
            return None
        (count,) = connection.execute("SELECT COUNT(*) FROM callbody").fetchone()
        return int(count)
