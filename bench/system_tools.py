"""Debian packages the benchmark needs: nginx (+ its njs module for the fake upstream) and wrk."""

import os
import shutil
import subprocess

from bench.upstream import NJS_MODULE

APT_PACKAGES = {"nginx": "nginx", "wrk": "wrk", "taskset": "util-linux"}


def missing_packages() -> list[str]:
    missing = [
        package
        for command, package in APT_PACKAGES.items()
        if shutil.which(command) is None and not os.path.exists(f"/usr/sbin/{command}")
    ]
    if not NJS_MODULE.exists():
        missing.append("libnginx-mod-http-js")
    return missing


def ensure_system_tools() -> None:
    """apt-get install what is missing (needs root); raises with the reason when that is not possible."""
    missing = missing_packages()
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"missing {missing}; run as root or: sudo apt-get install -y {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], check=True, env=env, timeout=900
    )
    # The Debian package starts a system nginx on port 80 where an init system exists; the bench runs its own.
    still_missing = missing_packages()
    if still_missing:
        raise RuntimeError(f"apt-get install did not provide {still_missing}")
