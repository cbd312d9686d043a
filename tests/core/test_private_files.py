"""Files the gateway writes are 0600 in 0700 directories, also what an older version left with looser modes."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_api.core.private_files import make_private


@pytest.fixture
def restored_umask() -> Iterator[None]:
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("restored_umask")
def test_the_tree_and_what_comes_later_are_owner_only(tmp_path: Path) -> None:
    os.umask(0o022)
    data = tmp_path / "data"
    (data / "cli").mkdir(parents=True)
    (data / "gateway.db").write_text("old")
    (data / "cli" / "gateway.whl").write_text("old")
    script = data / "run.sh"
    script.write_text("#!/bin/sh")
    script.chmod(0o755)

    make_private(data)

    assert mode(data) == 0o700 and mode(data / "cli") == 0o700
    assert mode(data / "gateway.db") == 0o600 and mode(data / "cli" / "gateway.whl") == 0o600
    assert mode(script) == 0o700
    (data / "new.pkl").write_bytes(b"state")
    (data / "new-dir").mkdir()
    assert mode(data / "new.pkl") == 0o600 and mode(data / "new-dir") == 0o700
    make_private(tmp_path / "made")
    assert mode(tmp_path / "made") == 0o700


@pytest.mark.usefixtures("restored_umask")
def test_files_vanishing_during_the_walk_are_skipped(tmp_path: Path) -> None:
    """`gateway serve` builds the CLI wheel in a temporary folder of the data dir while its workers start."""

    data = tmp_path / "data"
    churn = data / "cli" / "build"
    stop = threading.Event()

    def build_and_clean() -> None:
        while not stop.is_set():
            churn.mkdir(parents=True, exist_ok=True)
            for index in range(200):
                (churn / f"f{index}").touch()
            for index in range(200):
                (churn / f"f{index}").unlink()
            churn.rmdir()

    builder = threading.Thread(target=build_and_clean)
    builder.start()
    try:
        for _ in range(200):
            make_private(data)
    finally:
        stop.set()
        builder.join()
    assert mode(data) == 0o700
