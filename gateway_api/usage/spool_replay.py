"""Replaying spool files that no live process owns: the files of a process that crashed, of one stopped while the
database was down, or copied in from another machine.

All files of one process (``spool-<pid>-<random>-<n>.jsonl``, same prefix) are replayed together, under their
``flock``: a file whose owner still lives is locked and skipped, and two replayers never take the same file. Each
call is written once: finished rows as they were, a call that started and never finished as its crash row
(``gateway_error``, input estimated, ``usage_estimated``), and a call id the database already has is skipped (the
row was written before the crash), so replaying twice writes nothing twice. When every row is settled the files
are deleted; if the database cannot be reached they stay for the next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from gateway_api.usage.batch_writes import BatchWriter
from gateway_api.usage.spool import SPOOL_GLOB, UsageSpool
from gateway_api.usage.spool_format import SpoolContents

log = logging.getLogger("gateway.usage")

REPLAY_BATCH = 1000
# How often a live process looks for orphaned files (and retries those the database could not take yet).
REPLAY_SCAN_SECONDS = 5.0


@dataclass(slots=True)
class Replayed:
    files: int = 0  # files replayed and deleted
    written: int = 0  # rows written (crash rows included)
    crashed: int = 0  # of those, calls that started and never finished
    skipped: int = 0  # rows the database already had
    dead: int = 0  # rows the database refused (kept as dead letters)
    waiting: int = 0  # orphaned files left for a later attempt (the database could not be reached)

    def add(self, other: Replayed) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def replay_orphans(directory: Path, owned: Callable[[Path], bool], writer: BatchWriter) -> Replayed:
    """Replay every group of spool files in ``directory`` that this process does not own and no process holds."""
    total = Replayed()
    for paths in _groups(directory, owned):
        total.add(replay_files(paths, writer))
    return total


def replay_files(paths: list[Path], writer: BatchWriter) -> Replayed:
    """Replay the files of one process together (a started call's finished row may be in a later file)."""
    with _locked(paths) as held:
        if held is None:
            return Replayed()  # a live process owns them, or another replayer is at it
        contents = SpoolContents()
        for fd in held:
            contents.read(_read_all(fd).split(b"\n"))
        rows = contents.rows()
        crashed = sum(1 for call_id in contents.started if call_id not in contents.finished)
        result = Replayed()
        for start in range(0, len(rows), REPLAY_BATCH):
            batch = rows[start : start + REPLAY_BATCH]
            settled = writer.settle(batch, skip_existing=True)
            result.written += settled.done - settled.dead - settled.skipped
            result.skipped += settled.skipped
            result.dead += settled.dead
            if settled.error is not None:
                log.warning(
                    "spool replay of %s waits for the database: %s", paths[0].name, type(settled.error).__name__
                )
                return Replayed(waiting=1)  # rows already written are skipped on the next attempt
        for path in paths:
            path.unlink(missing_ok=True)
    result.files = len(paths)
    result.crashed = crashed
    if contents.unreadable:
        log.warning("spool %s: %d unreadable lines skipped", paths[0].name, contents.unreadable)
    log.info(
        "replayed the usage spool %s: %d rows written (%d calls a crash interrupted), %d already stored",
        paths[0].name,
        result.written,
        crashed,
        result.skipped,
    )
    return result


def replay_at_start(spool: UsageSpool, engine: Engine) -> None:
    """One pass before serving (errors logged, never raised: the continual replay tries again)."""
    try:
        replayed = replay_orphans(spool.directory, spool.owns, BatchWriter(engine))
    except Exception:
        log.exception("usage spool replay failed")
        return
    spool.replayed_rows += replayed.written
    spool.orphans_waiting = replayed.waiting


async def replay_continually(spool: UsageSpool, writer: BatchWriter) -> None:
    """Every REPLAY_SCAN_SECONDS after the start's pass: orphans appear when another worker dies, and ones the
    database could not take wait for it to come back."""
    while spool.available:
        await asyncio.sleep(REPLAY_SCAN_SECONDS)
        try:
            replayed = await asyncio.to_thread(replay_orphans, spool.directory, spool.owns, writer)
        except Exception:
            log.exception("usage spool replay failed")
        else:
            spool.replayed_rows += replayed.written
            spool.orphans_waiting = replayed.waiting


def _groups(directory: Path, owned: Callable[[Path], bool]) -> list[list[Path]]:
    groups: dict[str, list[Path]] = {}
    for path in sorted(directory.glob(SPOOL_GLOB)):
        if not owned(path):
            groups.setdefault(path.name.rsplit("-", 1)[0], []).append(path)
    return [sorted(paths, key=_sequence) for paths in groups.values()]


def _sequence(path: Path) -> tuple[int, str]:
    number = path.stem.rsplit("-", 1)[-1]
    return (int(number), path.name) if number.isdigit() else (0, path.name)


@contextlib.contextmanager
def _locked(paths: list[Path]) -> Iterator[list[int] | None]:
    """Every file opened and exclusively locked, or None (and nothing held) if any is locked by someone else."""
    fds: list[int] = []
    try:
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # deleted by its owner meanwhile
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            if os.fstat(fd).st_nlink == 0:  # deleted after we opened it: its rows are in the database
                os.close(fds.pop())
        yield fds
    finally:
        for fd in fds:
            os.close(fd)


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)
