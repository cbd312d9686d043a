"""The peer gateways, installed under bench/.peers/ (git-ignored) and pointed at the same fake upstream.

Keep them honest: same request bodies, same upstream, their default settings apart from what is needed to run
without internet (LiteLLM's local model cost map) and without a database.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from bench import canned
from bench.procs import Managed, free_port, start_pinned, wait_for_port
from bench.subjects import PROVIDER_PATHS, PROVIDERS, SubjectUnavailable, Target, provider_headers

# 1.108.x is the release the performance issue measured; 1.108.14 and 1.110.x need proxy extras the registry
# mirror here does not serve.
LITELLM_VERSION = "1.108.0"
PORTKEY_VERSION = "1.15.2"
LITELLM_MASTER_KEY = "sk-litellm-bench"
INSTALL_TIMEOUT_SECONDS = 900


def _run_install(argv: list[str], log_path: Path, cwd: Path | None = None) -> None:
    with open(log_path, "ab") as log:
        try:
            completed = subprocess.run(
                argv, check=False, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, timeout=INSTALL_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SubjectUnavailable(f"install failed: {error}") from error
    if completed.returncode != 0:
        raise SubjectUnavailable(f"install failed (rc={completed.returncode}), see {log_path}")


def ensure_litellm(peers_dir: Path) -> Path:
    venv = peers_dir / "litellm-venv"
    executable = venv / "bin" / "litellm"
    marker = venv / f".bench-litellm-{LITELLM_VERSION}"
    if executable.exists() and marker.exists():
        return executable
    peers_dir.mkdir(parents=True, exist_ok=True)
    log_path = peers_dir / "litellm-install.log"
    if not (venv / "bin" / "python").exists():
        _run_install([sys.executable, "-m", "venv", str(venv)], log_path)
    _run_install([str(venv / "bin" / "pip"), "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"], log_path)
    if not executable.exists():
        raise SubjectUnavailable(f"litellm installed but {executable} is missing")
    marker.touch()
    return executable


def ensure_portkey(peers_dir: Path) -> Path:
    package_dir = peers_dir / "portkey"
    server = package_dir / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    if server.exists():
        return server
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise SubjectUnavailable("node/npm not installed")
    package_dir.mkdir(parents=True, exist_ok=True)
    _run_install(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(package_dir),
            f"@portkey-ai/gateway@{PORTKEY_VERSION}",
        ],
        peers_dir / "portkey-install.log",
    )
    if not server.exists():
        raise SubjectUnavailable(f"npm install finished but {server} is missing")
    return server


def _litellm_config(upstream_port: int) -> str:
    base = f"http://127.0.0.1:{upstream_port}"
    return f"""model_list:
  - model_name: {canned.ANTHROPIC_MODEL}
    litellm_params:
      model: anthropic/{canned.ANTHROPIC_MODEL}
      api_base: {base}
      api_key: {canned.UPSTREAM_API_KEY}
  - model_name: {canned.OPENAI_MODEL}
    litellm_params:
      model: openai/{canned.OPENAI_MODEL}
      api_base: {base}/v1
      api_key: {canned.UPSTREAM_API_KEY}
general_settings:
  master_key: {LITELLM_MASTER_KEY}
"""


def start_litellm(core: str, upstream_port: int, peers_dir: Path, work_dir: Path, log_dir: Path) -> Target:
    executable = ensure_litellm(peers_dir)
    config_path = work_dir / "litellm.yaml"
    config_path.write_text(_litellm_config(upstream_port))
    port = free_port()
    # Without internet LiteLLM would wait on fetching its model cost map; the packaged copy is the same data.
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}
    process = start_pinned(
        "litellm",
        core,
        [
            str(executable),
            "--config",
            str(config_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        log_dir,
        env=env,
    )
    _wait_started("litellm", process, port, timeout_seconds=120)
    return Target(
        name="litellm",
        urls={provider: f"http://127.0.0.1:{port}{PROVIDER_PATHS[provider]}" for provider in PROVIDERS},
        headers={provider: provider_headers(provider, LITELLM_MASTER_KEY) for provider in PROVIDERS},
        processes=[process],
        notes=[f"litellm {LITELLM_VERSION}, 1 worker, no database"],
    )


def start_portkey(core: str, upstream_port: int, peers_dir: Path, log_dir: Path) -> Target:
    server = ensure_portkey(peers_dir)
    port = free_port()
    process = start_pinned(
        "portkey",
        core,
        ["node", str(server), f"--port={port}", "--headless"],
        log_dir,
        env={"NODE_ENV": "production"},
        cwd=server.parent.parent,
    )
    _wait_started("portkey", process, port, timeout_seconds=60)
    custom_host = f"http://127.0.0.1:{upstream_port}/v1"
    headers = {}
    for provider in PROVIDERS:
        headers[provider] = provider_headers(provider, canned.UPSTREAM_API_KEY) | {
            "x-portkey-provider": provider,
            "x-portkey-custom-host": custom_host,
        }
    return Target(
        name="portkey",
        urls={provider: f"http://127.0.0.1:{port}{PROVIDER_PATHS[provider]}" for provider in PROVIDERS},
        headers=headers,
        processes=[process],
        notes=[
            f"portkey gateway {PORTKEY_VERSION} (node), headers-based config",
            # Seen with Node 20 and @hono/node-server 1.14-1.19: hono's Response wrapper keeps the upstream
            # fetch reply's immutable Headers, Portkey then appends its own headers and answers 500
            # ("TypeError: immutable") to every streamed request. JSON requests are unaffected.
            "streamed requests may fail with HTTP 500 (Portkey/hono bug, see peers.py)",
        ],
    )


def _wait_started(name: str, process: Managed, port: int, timeout_seconds: float) -> None:
    if not wait_for_port(port, timeout_seconds, process):
        tail = process.log_tail()
        process.stop()
        raise SubjectUnavailable(f"{name} did not start listening on {port}: {tail}")
