"""The command line an operator meets: `--version`, help on every option, argument checks,
and one line (never a traceback, never a password) for a database or NATS that fails."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import pytest

from services.cli import build_parser, main
from shared.natsserver import free_port
from shared.opsmetrics import package_version
from shared.settings import Settings
from tests.conftest import make_settings


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exits (--version, --help, bad options)
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No NATS (a free port), data under tmp_path, no metrics port, console logs."""
    for name in ("TTHC_DATABASE_URL", "TTHC_REGISTRY_FILE", "TTHC_DEPLOYMENT_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TTHC_NATS_URL", f"nats://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TTHC_METRICS_PORT", "0")
    monkeypatch.setenv("TTHC_LOG_FORMAT", "json")
    return tmp_path


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"tthc {package_version()}"
    assert package_version() != "unknown"  # installed: the same as tthc_build_info


def options_without_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += options_without_help(sub, f"{path} {name}")
        elif action.help is None:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_command_has_help() -> None:
    """`snapshots show|diff|make` included: no option is left without a help text."""
    assert options_without_help(build_parser(), "tthc") == []


def test_snapshots_list_refuses_a_bad_period_and_an_unknown_unit(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["snapshots", "list", "--period", "2026-Q9"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("tthc: error: malformed period '2026-Q9'") and err.count("\n") == 1
    code, _, err = run(["snapshots", "list", "--commune", "99999"], capsys)
    assert code == 2 and "unknown commune '99999'" in err
    code, out, _ = run(["snapshots", "list", "--period", "2026-Q3"], capsys)
    assert code == 0 and out.strip() == "no snapshots"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "TTHC_DATABASE_URL is not a database URL"),
        ("mysql://tthc:s3cret@db/tthc", "TTHC_DATABASE_URL: 'mysql' is not supported"),
        ("postgresql+psycopg2://tthc:s3cret@db/tthc", "TTHC_DATABASE_URL: 'postgresql+psycopg2' is"),
    ],
)
def test_a_bad_database_url_is_one_line_naming_the_variable(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, says: str
) -> None:
    monkeypatch.setenv("TTHC_DATABASE_URL", url)
    for argv in (["verify"], ["status"], ["appendix", "--commune", "16000", "--period", "2026-Q3"]):
        code, out, err = run(argv, capsys)
        assert code == 2 and out == "", argv
        assert err.startswith(f"tthc: error: {says}") and err.count("\n") == 1, err
        assert "s3cret" not in err and "Traceback" not in err


def test_an_unreachable_database_is_one_line_without_the_password(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+psycopg://tthc:s3cret@127.0.0.1:{free_port()}/tthc"
    monkeypatch.setenv("TTHC_DATABASE_URL", url)
    for argv in (["verify"], ["appendix", "--commune", "16000", "--period", "2026-Q3"]):
        code, _, err = run(argv, capsys)
        assert code == 1, argv
        last = err.strip().splitlines()[-1]
        assert last.startswith("tthc: error: cannot connect to the database at ")
        assert "tthc:***@127.0.0.1" in last and "TTHC_DATABASE_URL" in last
        assert "s3cret" not in err and "Traceback" not in err


def test_settings_refuse_an_unknown_database_without_printing_it() -> None:
    with pytest.raises(ValueError, match="TTHC_DATABASE_URL") as info:
        Settings.from_env(database_url="oracle://u:s3cret@h/db")
    assert "s3cret" not in str(info.value)
    Settings.from_env(database_url="postgresql://u@h/db")  # psycopg: SQLAlchemy's default
    Settings.from_env(database_url="sqlite:///x.sqlite3")


def test_verify_progress_says_how_far_and_never_repeats_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.aggregator.cli import _progress
    from services.aggregator.storage.apply import apply_batch
    from services.aggregator.verify import VerifyReport
    from shared.registry import load_registry
    from tests.kits.aggregator import items, migrated, story

    settings = make_settings(tmp_path, "nats://127.0.0.1:1")
    engine = migrated(settings.database_url)
    apply_batch(engine, items(story()), load_registry().province_of)
    progress = _progress("verify", quiet=False, engine=engine)
    engine.dispose()
    assert progress is not None
    capsys.readouterr()
    for events, cases in ((0, 0), (0, 0), (5, 3), (5, 3), (5, 3), (13, 7), (13, 7)):
        progress(VerifyReport(cases=cases, events=events, seconds=1.0))
    assert capsys.readouterr().err.splitlines() == [
        "verify: 0 of 13 events (0%), 0 of 7 cases (0%), drift 0 (0 events/s)",
        "verify: 5 of 13 events (38%), 3 of 7 cases (42%), drift 0 (5 events/s)",
        "verify: 13 of 13 events (100%), 7 of 7 cases (100%), drift 0 (13 events/s)",
    ]


def test_snapshot_notifications_never_wait_for_an_unreachable_nats(tmp_path: Path) -> None:
    """`tthc snapshots make` announces best effort: NATS away costs seconds, not a hang."""
    from services.reporter.notify import publish_notifications

    settings = make_settings(tmp_path, f"nats://127.0.0.1:{free_port()}")
    record = {
        "unit": {"kind": "commune", "code": "16000", "name": "x"},
        "period": {"label": "2026-Q3"},
        "revision": 1,
        "hash": "sha256:0",
        "path": "snapshots/x",
    }
    began = time.monotonic()
    asyncio.run(asyncio.wait_for(publish_notifications(settings, [record]), timeout=30))
    assert time.monotonic() - began < 10


def test_backup_gives_up_on_a_postgresql_that_never_answers(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tthc backup` to a server that accepts connections and never answers stops after
    PGCONNECT_TIMEOUT (10 s unless set) with one line, instead of waiting for ever."""
    import shutil
    import socket

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed (Debian: postgresql-client)")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever speaks
    port = silent.getsockname()[1]
    monkeypatch.setenv("TTHC_DATABASE_URL", f"postgresql+psycopg://tthc:s3cret@127.0.0.1:{port}/x")
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)  # the default: 10 s
    began = time.monotonic()
    try:
        code, _, err = run(["backup", str(env / "out.dump")], capsys)
    finally:
        silent.close()
    assert time.monotonic() - began < 20
    assert code == 2 and err.startswith("tthc: error: pg_dump: ") and err.count("\n") == 1
    assert "s3cret" not in err


def test_commands_give_up_on_a_postgresql_that_never_answers(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tthc verify` and `tthc appendix` on a PostgreSQL that accepts and never speaks
    stop after the engine's connect timeout (10 s) with one line, not for ever."""
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    monkeypatch.setenv("TTHC_DATABASE_URL", f"postgresql+psycopg://tthc:s3cret@127.0.0.1:{port}/x")
    try:
        for argv in (["verify"], ["appendix", "--commune", "16000", "--period", "2026-Q3"]):
            began = time.monotonic()
            code, _, err = run(argv, capsys)
            assert time.monotonic() - began < 30, argv
            last = err.strip().splitlines()[-1]
            assert code == 1 and last.startswith("tthc: error: cannot connect to the database")
            assert "s3cret" not in err and "Traceback" not in err
    finally:
        silent.close()
