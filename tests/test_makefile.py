"""`make run` / `make serve`: where the app listens unless HOST says otherwise, and where the UI finds the API."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def dry_run(*variables: str) -> str:
    make = shutil.which("make")
    if make is None:
        pytest.fail("`make` is required")
    result = subprocess.run(
        [make, "-n", "--no-print-directory", "serve", *variables],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return result.stdout


def test_serve_listens_on_loopback_unless_host_says_otherwise() -> None:
    assert "--backend-host 127.0.0.1" in dry_run()
    assert "--frontend-port 8095" in dry_run("PORT=8095")
    assert "--backend-host 0.0.0.0" in dry_run("HOST=0.0.0.0")


@pytest.mark.parametrize(
    ("host", "api_url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8095"),
        ("0.0.0.0", "http://127.0.0.1:8095"),
        ("10.0.0.5", "http://10.0.0.5:8095"),
    ],
)
def test_the_ui_calls_the_api_on_an_address_the_server_listens_on(host: str, api_url: str) -> None:
    make = shutil.which("make")
    assert make is not None
    printed = subprocess.run(
        [make, "--no-print-directory", "-f", "Makefile", "-f", "-", "show", f"HOST={host}", "PORT=8095"],
        cwd=REPO_ROOT,
        input="show:\n\t@echo $$GATEWAY_UI_API_URL\n",
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    assert printed == api_url
