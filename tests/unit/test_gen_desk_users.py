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
