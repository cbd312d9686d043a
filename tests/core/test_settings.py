import os
import stat
from pathlib import Path

import pytest

from gateway_api.core.settings import SECRET_KEY_FILE, Settings, SettingsError, ensure_secret_key, load_settings


def test_defaults_use_a_sqlite_file_under_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'gateway.db').resolve()}"
    assert settings.public_url == "", "unset: base URLs follow the address each client used"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_PUBLIC_URL", "localhost:8080"),
        ("GATEWAY_MAX_BODY_BYTES", "-1"),
        ("GATEWAY_LOG_LEVEL", "chatty"),
        ("GATEWAY_CONFIG", "/no/such/file.yaml"),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    message = str(excinfo.value)
    assert name in message
    assert "\n" not in message


def test_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = ensure_secret_key(settings)
    second = ensure_secret_key(settings)
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / SECRET_KEY_FILE).st_mode)
    assert mode == 0o600


def test_a_short_explicit_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="GATEWAY_SECRET_KEY"):
        ensure_secret_key(Settings(data_dir=tmp_path, secret_key="short"))


def test_single_sign_on_needs_a_public_url_for_its_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The callback is registered at the provider; it must not follow the Host header a caller chooses."""
    monkeypatch.setenv("GATEWAY_OIDC_ISSUER", "https://idp.example.com")
    monkeypatch.setenv("GATEWAY_OIDC_CLIENT_ID", "gateway")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert "GATEWAY_PUBLIC_URL" in str(excinfo.value)
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", "https://gateway.example.com")
    assert load_settings().oidc_redirect_uri == "https://gateway.example.com/api/auth/oidc/callback"
