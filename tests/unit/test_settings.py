from pathlib import Path

import pytest

from qianbao.settings import Settings


def test_nested_settings_come_from_prefixed_variables(monkeypatch):
    monkeypatch.setenv("QIANBAO_HTTP__PORT", "8123")
    monkeypatch.setenv("QIANBAO_DATABASE__URL", "postgresql://u:p@h:5433/d")
    monkeypatch.setenv("QIANBAO_I18N__DEFAULT_LOCALE", "en")
    s = Settings()
    assert s.http.port == 8123
    assert s.database.url is not None
    assert s.database.url.get_secret_value() == "postgresql://u:p@h:5433/d"
    assert "p@h" not in repr(s)  # secrets never printed
    assert s.i18n.default_locale == "en"


def test_production_requires_a_secret_key(tmp_path: Path):
    s = Settings(environment="production", var_dir=tmp_path)
    with pytest.raises(RuntimeError, match="QIANBAO_SECURITY__SECRET_KEY"):
        s.secret_key_bytes()


def test_development_keeps_a_generated_secret(tmp_path: Path):
    s = Settings(environment="development", var_dir=tmp_path)
    first = s.secret_key_bytes()
    assert len(first) >= 48
    assert Settings(environment="development", var_dir=tmp_path).secret_key_bytes() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
