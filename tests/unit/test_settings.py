"""Settings come from the environment, documented in one place."""

from pathlib import Path

import pytest

from shared.settings import SETTINGS_DOC, Settings


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without variables: local NATS, ./var, SQLite inside the data dir."""
    for name, _, _ in SETTINGS_DOC:
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert s.nats_url == "nats://127.0.0.1:4222"
    assert s.data_dir == Path("var")
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/tthc.sqlite3")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each variable changes its setting."""
    monkeypatch.setenv("TTHC_NATS_URL", "nats://10.0.0.1:4222")
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TTHC_METRICS_PORT", "9999")
    s = Settings.from_env()
    assert s.nats_url == "nats://10.0.0.1:4222"
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'tthc.sqlite3'}"
    assert s.metrics_port_for("aggregator") == 10000


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that cannot work fails with the variable's name."""
    monkeypatch.setenv("TTHC_UNIT_LABEL", "district")
    with pytest.raises(ValueError, match="TTHC_UNIT_LABEL"):
        Settings.from_env()


def test_readme_documents_every_variable() -> None:
    """The README's configuration table lists every variable the code reads."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [name for name, _, _ in SETTINGS_DOC if f"`{name}`" not in readme]
    assert missing == []
