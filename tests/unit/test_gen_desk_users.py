"""deploy/nats/gen_desk_users.py: one least-privilege user per commune, stable passwords."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.integration.test_nats_permissions import ACCOUNTS, load_generator

gen = load_generator()


def test_entry_allows_only_own_subjects_and_inbox() -> None:
    """A desk user publishes on tthc.events.<commune>.> and its rejections request
    tthc.rejections.<commune>, and reads only its inbox prefix."""
    entry = gen.user_entry("16096", "pw")
    assert 'user: desk-16096, password: "pw"' in entry
    assert '["tthc.events.16096.>", "tthc.rejections.16096"]' in entry
    assert '["_INBOX_16096.>"]' in entry
    for bad in ("1609", "160960", "16096\n", "１６０９６", "1609a"):
        with pytest.raises(ValueError, match="5 digits"):
            gen.user_entry(bad, "pw")


def test_block_replaces_only_between_markers() -> None:
    """Regenerating keeps the rest of accounts.conf and drops the old desk entries."""
    text = ACCOUNTS.read_text(encoding="utf-8")
    new = gen.replace_block(text, gen.users_block(["00004", "00070"], {"00004": "a", "00070": "b"}))
    assert "desk-00004" in new and "desk-00070" in new and "desk-16096" not in new
    assert new.count(gen.BEGIN) == 1 and "user: intake" in new
    with pytest.raises(ValueError, match="exactly one"):
        gen.replace_block("no markers here", "x")


def test_cli_rewrites_config_and_keeps_existing_passwords(tmp_path: Path) -> None:
    """A second run with one more commune keeps the first commune's password; CSV is 0600."""
    conf = tmp_path / "accounts.conf"
    conf.write_text(ACCOUNTS.read_text(encoding="utf-8"), encoding="utf-8")
    creds = tmp_path / "desks.csv"
    assert gen.main(["00004", "--config", str(conf), "--credentials", str(creds)]) == 0
    first = gen.read_credentials(creds)
    communes = tmp_path / "communes.txt"
    communes.write_text("00004\n00070  # Hoàn Kiếm\n", encoding="utf-8")
    assert (
        gen.main(
            ["--communes-file", str(communes), "--config", str(conf), "--credentials", str(creds)]
        )
        == 0
    )
    second = gen.read_credentials(creds)
    assert second["00004"] == first["00004"] and set(second) == {"00004", "00070"}
    assert f'password: "{second["00070"]}"' in conf.read_text(encoding="utf-8")
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600


def test_cli_rejects_bad_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """A code that is not 5 digits is a usage error (exit status 2)."""
    with pytest.raises(SystemExit) as exc:
        gen.main(["123"])
    assert exc.value.code == 2


def test_cli_refuses_codes_outside_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    """Five digits are not enough: 99999 is no commune of the registry (exit status 2)."""
    with pytest.raises(SystemExit) as exc:
        gen.main(["00004", "99999"])
    assert exc.value.code == 2
    assert "99999" in capsys.readouterr().err


def test_cli_never_writes_passwords_into_a_tracked_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The repository's accounts.conf (tracked by git) is refused, and so is any tracked
    copy; an untracked copy is written, with LF line endings in it and in the CSV."""
    import subprocess

    with pytest.raises(SystemExit) as exc:
        gen.main(["00004", "--config", str(ACCOUNTS)])
    assert exc.value.code == 2 and "tracked by git" in capsys.readouterr().err
    repo = tmp_path / "repo"
    repo.mkdir()
    conf = repo / "accounts.conf"
    conf.write_bytes(ACCOUNTS.read_bytes().replace(b"\n", b"\r\n"))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "accounts.conf"], check=True)
    with pytest.raises(SystemExit):
        gen.main(["00004", "--config", str(conf)])
    assert conf.read_bytes().count(b"\r\n") > 0  # untouched
    copy = tmp_path / "accounts.conf"
    copy.write_bytes(conf.read_bytes())
    creds = tmp_path / "desks.csv"
    assert gen.main(["00004", "--config", str(copy), "--credentials", str(creds)]) == 0
    assert b"\r" not in copy.read_bytes() and b"desk-00004" in copy.read_bytes()
    assert b"\r" not in creds.read_bytes()
