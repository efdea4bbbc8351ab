"""Generated file names never escape their base directory."""

from __future__ import annotations

import pytest

from services.reporter.paths import inside, safe_part


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("2024-Q1", "2024-Q1"),
        ("2024-01-01..2024-01-31", "2024-01-01_2024-01-31"),
        ("../../etc/passwd", "etc_passwd"),
        ("..", "_"),
        ("", "_"),
        ("a/b\\c\x00d", "a_b_c_d"),
        ("Xã Hoằng Hợp", "X_Ho_ng_H_p"),
    ],
)
def test_safe_part(text, safe):
    """Only letters, digits, '-' and '_' survive; nothing is empty or a dot-dot."""
    assert safe_part(text) == safe


def test_inside_stays_inside(tmp_path):
    """Whatever the parts hold, the path resolves below the base."""
    for parts in (("..", "..", "x"), ("/etc", "passwd"), ("commune", "../../../tmp")):
        path = inside(tmp_path, *parts)
        assert tmp_path.resolve() in path.parents


def test_inside_refuses_a_symlink_escape(tmp_path):
    """A symlinked directory pointing outside is caught by resolving."""
    outside = tmp_path / "outside"
    outside.mkdir()
    base = tmp_path / "base"
    base.mkdir()
    (base / "link").symlink_to(outside)
    with pytest.raises(ValueError):
        inside(base, "link", "file")
