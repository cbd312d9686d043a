"""The usage spool: every call's row on local disk within a fraction of a second of its last byte, so a crash or a
database outage loses nothing (replayed by spool_replay.py).

Each process appends to its own files in ``<data dir>/usage-spool/`` (0700; files 0600), named
``spool-<pid>-<random>-<n>.jsonl``, and holds an exclusive ``flock`` on each while it lives: a lock that the kernel
drops when the process dies, however it dies, which is how a replayer knows a file is an orphan.

On the event loop a call costs two list appends of one ``orjson`` line each (started, finished: spool_format.py);
every ``SYNC_INTERVAL`` seconds a worker thread writes what was appended and ``fsync``\\s it, so a finished row is
durable about 0.1 s after its last byte, and never an ``fsync`` per call. The usage recorder acknowledges the rows
the database has taken; a file past ``ROTATE_BYTES`` is sealed (the started entries of calls still in flight are
copied into the next one) and deleted once every row in it is acknowledged. A clean shutdown with everything
written deletes the files; otherwise they stay and the next start (or any live worker) replays them.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from gateway_api.usage.rows import UsageRow
from gateway_api.usage.spool_format import FINISHED, HEADER, STARTED, entry

log = logging.getLogger("gateway.usage")

SPOOL_DIRECTORY = "usage-spool"
SPOOL_GLOB = "spool-*.jsonl"
SYNC_INTERVAL = 0.1
ROTATE_BYTES = 1 << 20


@dataclass(slots=True)
class _Segment:
    path: Path
    fd: int  # open (and flock'ed) until the segment is deleted or the process ends
    size: int = 0  # bytes handed to the file
    last_row: int = 0  # finished rows appended when it was sealed (all of them are in it or earlier segments)


class UsageSpool:
    def __init__(self, directory: Path, sync_interval: float = SYNC_INTERVAL, rotate_bytes: int = ROTATE_BYTES) -> None:
        self.directory = directory
        self._sync_interval = sync_interval
        self._rotate_bytes = rotate_bytes
        self._name = f"spool-{os.getpid()}-{secrets.token_hex(4)}"
        self._sequence = 0
        self._current: _Segment | None = None
        self._sealed: list[_Segment] = []
        self._buffer: list[bytes] = []
        self._in_flight: dict[str, bytes] = {}
        self._io_lock = asyncio.Lock()
        self.appended = 0  # finished rows appended
        self.acknowledged = 0  # of those, settled in the database (written or dead-lettered)
        self.synced_at = time.monotonic()
        self.sync_failures = 0
        self.available = False  # open() succeeded; until then (or if it failed) calls are not spooled
        self.replayed_rows = 0  # rows of orphaned files written by this process (spool_replay.py)
        self.orphans_waiting = 0  # orphaned file groups the database could not take yet

    # --- on the event loop, per call ------------------------------------------------------------------------------

    def started(self, row: UsageRow) -> None:
        """A call was forwarded: ``row`` is what a crash would leave of it (spool_format.py)."""
        call_id = row.call_id
        if call_id is not None and self.available:
            line = entry(STARTED, row)
            self._in_flight[call_id] = line
            self._buffer.append(line)

    def finished(self, row: UsageRow) -> None:
        """A call's row, before it is queued for the database."""
        if not self.available:
            return
        if row.call_id is not None:
            self._in_flight.pop(row.call_id, None)
        self._buffer.append(entry(FINISHED, row))
        self.appended += 1

    def acknowledge(self, rows: int) -> None:
        """The database took the next ``rows`` finished rows (in the order they were appended)."""
        self.acknowledged += rows

    @property
    def unacknowledged(self) -> int:
        return self.appended - self.acknowledged

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def owns(self, path: Path) -> bool:
        return path.name.startswith(self._name + "-")

    # --- files --------------------------------------------------------------------------------------------------

    def open(self) -> None:
        """Create the directory (0700) and this process's first file. A data directory that cannot be written
        does not stop the gateway: it serves without crash safety, and says so (log, /readyz)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.directory.chmod(0o700)
            self._current = self._new_segment(HEADER)
        except OSError as exc:
            log.error(
                "no usage spool in %s (%s): rows are not crash-safe until the database has them", self.directory, exc
            )
            return
        self.available = True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._sync_interval)
            # Shielded: a sync cut by shutdown would lose track of the file it was opening; close() waits for it.
            await asyncio.shield(self.sync())

    async def sync(self) -> None:
        """Write and fsync what was appended; seal a full file, delete the sealed files the database has taken."""
        async with self._io_lock:
            current = self._current
            if current is None:
                return
            data = b"".join(self._buffer)
            self._buffer.clear()
            current.size += len(data)
            fresh: bytes | None = None
            if current.size >= self._rotate_bytes:
                current.last_row = self.appended
                self._sealed.append(current)
                fresh = HEADER + b"".join(self._in_flight.values())
            done = [segment for segment in self._sealed if segment.last_row <= self.acknowledged]
            if not data and fresh is None and not done:
                return
            try:
                segment = await asyncio.to_thread(self._write, current, data, fresh, done)
            except OSError as exc:
                # The rows are still queued for the database; the lines are kept to try again (logged, counted).
                self.sync_failures += 1
                log.error("could not write the usage spool %s: %s", current.path, exc)
                self._buffer.insert(0, data)
                current.size -= len(data)
                if fresh is not None:
                    self._sealed.remove(current)
                return
            if segment is not None:
                self._current = segment
            for finished in done:
                self._sealed.remove(finished)
            self.synced_at = time.monotonic()

    async def close(self) -> None:
        """Last sync; delete the files when the database has every row and no call is in flight, else keep them
        for the next start to replay."""
        await self.sync()
        async with self._io_lock:
            segments = [*self._sealed, *([self._current] if self._current else [])]
            self._current, self._sealed = None, []
            clean = self.acknowledged >= self.appended and not self._in_flight
            await asyncio.to_thread(_close_segments, segments, clean)
        if not clean:
            log.warning(
                "%d usage rows not yet in the database and %d unfinished calls kept in %s; replayed at the next start",
                self.unacknowledged,
                len(self._in_flight),
                self.directory,
            )

    def _write(self, current: _Segment, data: bytes, fresh: bytes | None, done: list[_Segment]) -> _Segment | None:
        """In a worker thread: append and fsync, open the next file if one is due, delete what is done."""
        if data:
            _write_all(current.fd, data)
            os.fsync(current.fd)
        segment = self._new_segment(fresh) if fresh is not None else None
        _close_segments(done, delete=True)
        return segment

    def _new_segment(self, initial: bytes) -> _Segment:
        self._sequence += 1
        path = self.directory / f"{self._name}-{self._sequence}.jsonl"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _write_all(fd, initial)
        os.fsync(fd)
        _fsync_directory(self.directory)  # the new name itself must survive a crash
        return _Segment(path=path, fd=fd, size=len(initial))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _close_segments(segments: list[_Segment], delete: bool) -> None:
    """Delete (while still holding the lock, so no replayer reads a file being deleted) and close."""
    for segment in segments:
        try:
            if delete:
                segment.path.unlink(missing_ok=True)
        finally:
            os.close(segment.fd)
