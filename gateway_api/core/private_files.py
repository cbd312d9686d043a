"""What the gateway writes is its own: files 0600 in 0700 directories.

Its data directory holds the secret key, the SQLite database (password hashes, encrypted credentials) and caches;
the UI server's state directory holds Reflex's pickled sessions. A process-wide umask makes every file created from
then on private (SQLite's journal files, Reflex's pickles, the CLI wheel cache alike), and the directories, with
what an older version left in them, are tightened at start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def make_private(directory: Path) -> None:
    """From now on this process creates owner-only files; `directory` (made if missing) and its tree become so."""
    os.umask(PRIVATE_UMASK)
    directory.mkdir(parents=True, exist_ok=True)
    # Another process of this gateway may be working in the tree (a worker starting while `serve` builds the CLI
    # wheel in a temporary folder): os.walk skips folders that vanish, and what vanishes mid-walk is simply no
    # longer ours to tighten.
    _tighten(directory)
    for root, folders, files in os.walk(directory):
        for name in [*folders, *files]:
            _tighten(Path(root, name))


def _tighten(path: Path) -> None:
    try:
        status = path.lstat()
        if stat.S_ISLNK(status.st_mode):
            return  # a link's target is not ours to change
        if stat.S_IMODE(status.st_mode) & 0o077:
            path.chmod(stat.S_IMODE(status.st_mode) & 0o700)
    except FileNotFoundError:
        pass
