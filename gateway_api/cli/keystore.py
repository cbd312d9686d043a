"""The keys `gateway login` minted, kept per gateway URL and scope in the user's config directory (mode 0600), so
repeated logins print the same key while it is valid instead of minting one more."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

APP_DIR_NAME = "llm-gateway"
FILE_NAME = "keys.json"
# A saved key this close to its expiry is replaced rather than handed out.
MIN_REMAINING = timedelta(hours=1)


@dataclass(frozen=True)
class SavedKey:
    url: str
    scope: str
    key: str
    key_id: int
    expires_at: str | None  # ISO 8601, or None for a key that never expires

    def expires_soon(self, now: datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        return datetime.fromisoformat(self.expires_at) - (now or datetime.now(UTC)) < MIN_REMAINING


def normalise_url(url: str) -> str:
    return url.strip().rstrip("/")


def store_path() -> Path:
    """~/.config/llm-gateway/keys.json on Linux (XDG_CONFIG_HOME is honoured), the platform's place elsewhere."""
    return Path(typer.get_app_dir(APP_DIR_NAME)) / FILE_NAME


def _entry(url: str, scope: str) -> str:
    return f"{normalise_url(url)} {scope}"


def _read(path: Path) -> dict[str, dict[str, object]]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # an unreadable file is replaced by the next save
    keys = document.get("keys") if isinstance(document, dict) else None
    return keys if isinstance(keys, dict) else {}


def _write(path: Path, keys: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    # Created 0600 from the first byte, then renamed over the old file: never readable by others, never half written.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"version": 1, "keys": keys}, handle, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def load_key(url: str, scope: str, path: Path | None = None) -> SavedKey | None:
    raw = _read(path or store_path()).get(_entry(url, scope))
    try:
        return SavedKey(**raw) if isinstance(raw, dict) else None  # type: ignore[arg-type]
    except TypeError:
        return None


def save_key(saved: SavedKey, path: Path | None = None) -> Path:
    path = path or store_path()
    keys = _read(path)
    keys[_entry(saved.url, saved.scope)] = asdict(saved)
    _write(path, keys)
    return path


def forget_keys(url: str, scopes: list[str], path: Path | None = None) -> list[SavedKey]:
    """Drop the saved keys of `url` in `scopes`; returns what was dropped."""
    path = path or store_path()
    keys = _read(path)
    dropped = [load_key(url, scope, path) for scope in scopes]
    for scope in scopes:
        keys.pop(_entry(url, scope), None)
    _write(path, keys)
    return [saved for saved in dropped if saved is not None]
