"""The wheel of this very gateway (`llm-gateway`, whose base install is the CLI alone), built from its own source
tree with the standard build backend, offline, once per source version, and kept in the data folder.

The build copies the project's files to a temporary folder (the source tree stays untouched and may be read-only)
and runs `pip wheel --no-deps --no-build-isolation --no-index` there: setuptools from the server's own environment,
nothing from the network. Concurrent builds (several workers) are harmless: each writes its own temporary folder and
the finished wheel is moved into place atomically.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import gateway_api

log = logging.getLogger("gateway.cli_wheel")

DISTRIBUTION = "llm-gateway"
WHEEL_NAME = f"llm_gateway-{gateway_api.__version__}-py3-none-any.whl"
PACKAGES = ("gateway_api", "gateway_ui")
PROJECT_FILES = ("pyproject.toml", "README.md")
BUILD_TIMEOUT_SECONDS = 180.0


class CliWheelUnavailable(Exception):
    """This installation cannot build its CLI wheel; the message says why."""


def project_root() -> Path | None:
    """The source tree this gateway runs from, when it runs from one (not from an installed wheel)."""
    root = Path(gateway_api.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and f'name = "{DISTRIBUTION}"' in pyproject.read_text():
        return root
    return None


def _source_files(root: Path) -> list[Path]:
    files = [root / name for name in PROJECT_FILES if (root / name).is_file()]
    for package in PACKAGES:
        files.extend(
            path
            for path in sorted((root / package).rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
        )
    return files


def _fingerprint(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class CliWheel:
    """The wheel file, built on first use; `path()` blocks while it builds (a couple of seconds, once)."""

    def __init__(self, data_dir: Path) -> None:
        self._directory = data_dir / "cli"
        self._lock = threading.Lock()
        self._built: Path | None = None

    def path(self) -> Path:
        with self._lock:
            if self._built is None or not self._built.is_file():
                self._built = self._build()
            return self._built

    def _build(self) -> Path:
        root = project_root()
        if root is None:
            raise CliWheelUnavailable("this gateway was installed from a package, without its source tree")
        files = _source_files(root)
        target = self._directory / _fingerprint(root, files) / WHEEL_NAME
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="cli-wheel-", dir=self._directory) as scratch:
            source, out = Path(scratch) / "src", Path(scratch) / "out"
            for path in files:
                copy = source / path.relative_to(root)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, copy)
            command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
            command += ["--no-index", "--wheel-dir", str(out), str(source)]
            env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
            try:
                result = subprocess.run(
                    command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, env=env, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise CliWheelUnavailable(f"building the CLI wheel failed: {exc.__class__.__name__}") from None
            built = out / WHEEL_NAME
            if result.returncode != 0 or not built.is_file():
                log.error("building the CLI wheel failed", extra={"output": result.stderr[-2000:]})
                raise CliWheelUnavailable("building the CLI wheel failed (setuptools missing?); see the server log")
            os.replace(built, target)
        log.info("built the CLI wheel", extra={"path": str(target)})
        for older in self._directory.iterdir():
            # Wheels of earlier source versions: one per upgrade would pile up in the data folder.
            if older.is_dir() and older != target.parent and not older.name.startswith("cli-wheel-"):
                shutil.rmtree(older, ignore_errors=True)
        return target
