"""`tthc demo`'s start-up decisions (services/demo/cli.py): no services started here."""

from __future__ import annotations

from services.cli import main
from services.demo import cli
from shared.natsserver import INSTALL_HINT, NatsServerNotFound


def test_no_server_and_no_binary_prints_the_install_hint(tmp_path, monkeypatch, capsys):
    """Without a reachable NATS and without a nats-server binary, the demo says what to install."""

    def missing() -> str:
        raise NatsServerNotFound(INSTALL_HINT)

    monkeypatch.setattr(cli, "is_reachable", lambda url, timeout=0.5: False)
    monkeypatch.setattr(cli, "find_nats_server", missing)
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TTHC_METRICS_PORT", "0")
    assert main(["demo", "--events", "10"]) == 1
    assert "apt-get install nats-server" in capsys.readouterr().err
