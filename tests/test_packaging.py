"""The project as a package: `pip install llm-gateway` is the CLI alone (light to import, quick to start), the
`server` extra is everything `gateway serve` needs, and the gateway serves its own CLI as a wheel."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gateway_api.distribution.cli_wheel import WHEEL_NAME, CliWheel
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_ONLY = ("sqlalchemy", "sqlmodel", "fastapi", "uvicorn", "alembic", "reflex", "psycopg", "authlib")


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[canonicalize_name(name)] = version
    return found


def declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    base = [Requirement(text) for text in project["dependencies"]]
    server = [Requirement(text) for text in project["optional-dependencies"]["server"]]
    return base, server


def test_pyproject_declares_every_pinned_requirement_and_the_pins_satisfy_it() -> None:
    base, server = declared()
    pinned = pins()
    declared_names = {canonicalize_name(r.name) for r in base + server}
    assert declared_names == set(pinned), declared_names ^ set(pinned)
    for requirement in base + server:
        assert requirement.specifier.contains(pinned[canonicalize_name(requirement.name)]), requirement
    assert {canonicalize_name(r.name) for r in base} == {"httpx", "typer"}


@pytest.mark.parametrize("module", ["gateway_api.cli.main", "gateway_api.cli.signin"])
def test_the_cli_imports_no_server_code(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {SERVER_ONLY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "[]"


def test_help_starts_well_under_half_a_second() -> None:
    """`python -X importtime` of `gateway --help`: the whole import tree, in microseconds, summed at the root."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gateway_api.cli.main", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO_ROOT,
    )
    roots = [int(m.group(1)) for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \| \S", result.stderr)]
    assert "login" in result.stdout
    assert sum(roots) < 400_000, f"{sum(roots)} µs of imports"


def _venv_with(tmp_path: Path, name: str, *install: str) -> Path:
    target = tmp_path / name
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *install],
        check=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    return target


def _check_cli(environment: Path, gateway: LiveGateway, tmp_path: Path) -> None:
    installed = subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.lower()
    assert "llm-gateway==" in installed or "llm_gateway==" in installed
    for heavy in SERVER_ONLY:
        assert f"\n{heavy}==" not in "\n" + installed, heavy
    env = {
        k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("GATEWAY_")
    }
    env |= {"XDG_CONFIG_HOME": str(tmp_path / f"config-{environment.name}")}
    command = str(environment / "bin" / "gateway")
    assert subprocess.run([command, "--help"], capture_output=True, env=env, timeout=60, check=False).returncode == 0
    login = subprocess.run(
        [command, "login", "--url", gateway.url, "--print-token"],
        capture_output=True,
        text=True,
        env=env | {"GATEWAY_EMAIL": ADMIN_EMAIL, "GATEWAY_PASSWORD": ADMIN_PASSWORD},
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert login.returncode == 0, login.stderr
    key = login.stdout.strip()
    me = httpx.get(f"{gateway.url}/api/auth/key", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert me.status_code == 200 and me.json()["user_email"] == ADMIN_EMAIL
    server = subprocess.run(
        [command, "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert server.returncode == 1 and "pip install 'llm-gateway[server]'" in server.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_installs_from_the_project_and_from_the_gateways_own_wheel(
    live_gateway: LiveGateway, tmp_path: Path
) -> None:
    page = httpx.get(f"{live_gateway.url}/cli/", timeout=30)
    assert page.status_code == 200 and f"/cli/{WHEEL_NAME}" in page.text
    wheel = httpx.get(f"{live_gateway.url}/cli/{WHEEL_NAME}", timeout=300)
    assert wheel.status_code == 200 and wheel.content.startswith(b"PK")
    assert httpx.get(f"{live_gateway.url}/cli/other-1.0-py3-none-any.whl", timeout=30).status_code == 404

    from_project = _venv_with(tmp_path, "from-project", str(REPO_ROOT))
    _check_cli(from_project, live_gateway, tmp_path)
    from_gateway = _venv_with(tmp_path, "from-gateway", f"{live_gateway.url}/cli/{WHEEL_NAME}")
    _check_cli(from_gateway, live_gateway, tmp_path)


def test_the_cli_wheel_is_built_once_per_source_version(tmp_path: Path) -> None:
    stale = tmp_path / "cli" / "0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / WHEEL_NAME).write_bytes(b"an older version's wheel")
    first = CliWheel(tmp_path).path()
    built_at = first.stat().st_mtime_ns

    again = CliWheel(tmp_path).path()  # another process (worker) finds it on disk

    assert again == first and again.stat().st_mtime_ns == built_at
    assert not stale.exists()
    with zipfile.ZipFile(first) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "gateway_api/cli/main.py" in names and "gateway_api/db/migrations/env.py" in names
    assert "Requires-Dist: httpx>=0.28.1" in metadata
    assert 'Requires-Dist: sqlmodel>=0.0.50; extra == "server"' in metadata
