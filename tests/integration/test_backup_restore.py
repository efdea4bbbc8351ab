"""The backup and restore procedure of docs/operations.md, run as written, on SQLite and
PostgreSQL: `tthc backup` while the aggregator runs, more traffic, the restore, and the
aggregator catching up from the broker by itself."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from services.cli import main
from shared.settings import Settings
from tests.conftest import make_settings
from tests.integration.test_aggregator_service import (
    aggregator,
    local_figures,
    publish_batches,
    wait_caught_up,
)
from tests.kits.aggregator import many_cases, story

pytestmark = pytest.mark.nats


def restore(settings: Settings, backup: Path) -> None:
    """The restore step of docs/operations.md, with the aggregator stopped."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        database = Path(str(url.database))
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        shutil.copy(backup, database)
        return
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", libpq, str(backup)],
        check=True,
        capture_output=True,
    )


async def test_backup_then_restore_catches_up(
    nats_server, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup taken mid-run, restored after more traffic, ends with the exact figures."""
    settings = make_settings(tmp_path, nats_server.url, database_url=database_url)
    for key, value in (("TTHC_NATS_URL", nats_server.url), ("TTHC_DATABASE_URL", database_url),
                       ("TTHC_DATA_DIR", str(settings.data_dir)), ("TTHC_METRICS_PORT", "0")):
        monkeypatch.setenv(key, value)  # fmt: skip
    events = story() + many_cases(40)
    await publish_batches(settings, events[:30], size=5)
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
        backup = tmp_path / ("backup.sqlite3" if "sqlite" in database_url else "backup.dump")
        assert await asyncio.to_thread(main, ["backup", str(backup)]) == 0
        assert backup.stat().st_size > 0
        await publish_batches(settings, events[30:], size=5, first_seq=31)
        await wait_caught_up(settings)
    finally:
        await service.stop()
    before = local_figures(settings)
    assert before.watermark["accepted_events"] == len(events)
    restore(settings, backup)
    assert local_figures(settings).watermark["accepted_events"] == 30  # the backup's day
    service = aggregator(settings)
    await service.start()
    try:
        await wait_caught_up(settings)
    finally:
        await service.stop()
    after = local_figures(settings)
    assert after.figures == before.figures and after.anomalies == before.anomalies
    assert after.watermark["accepted_events"] == len(events)
    assert after.completeness["complete"] is True


def test_backup_refuses_what_it_cannot_do(tmp_path: Path, monkeypatch, capsys) -> None:
    """No database yet, an existing file, a missing folder: exit 2 with one line."""
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TTHC_METRICS_PORT", "0")
    assert main(["backup", str(tmp_path / "b.sqlite3")]) == 2
    assert "nothing to back up" in capsys.readouterr().err
    (tmp_path / "exists").write_text("x")
    assert main(["backup", str(tmp_path / "exists")]) == 2
    assert main(["backup", str(tmp_path / "no" / "such" / "b.sqlite3")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert any("exists already" in line for line in err)
    assert any("does not exist" in line for line in err)
