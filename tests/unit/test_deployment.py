"""The deployment file: signature blocks and names per unit, with defaults."""

from __future__ import annotations

import json

import pytest

from services.reporter.deployment import DeploymentError, load_deployment


def test_no_file_gives_the_builtin_defaults():
    """Without a file: Người lập biểu, TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH, a blank number."""
    unit = load_deployment(None).for_unit("16096")
    assert unit["preparer_title"] == "NGƯỜI LẬP BIỂU"
    assert (unit["on_behalf"], unit["signer_title"]) == ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    assert unit["report_number"] == "/BC-UBND" and unit["signer_name"] == ""


def test_unit_settings_win_over_defaults(tmp_path):
    """A unit's own keys win over the file's defaults, which win over the built-in ones."""
    path = tmp_path / "d.json"
    path.write_text(
        json.dumps(
            {
                "schema": "tthc.deployment/1",
                "defaults": {"signer_title": "KT. CHỦ TỊCH"},
                "units": {"16096": {"signer_name": "Lê Văn Phượng", "place": "Hoằng Hợp"}},
                "labels": {"agencies": {"thue": "Đội Thuế liên xã"}},
            }
        ),
        encoding="utf-8",
    )
    deployment = load_deployment(path)
    assert deployment.for_unit("16096")["signer_name"] == "Lê Văn Phượng"
    assert deployment.for_unit("16096")["signer_title"] == "KT. CHỦ TỊCH"
    assert deployment.for_unit("16099")["signer_name"] == ""
    assert deployment.labels["agencies"]["thue"] == "Đội Thuế liên xã"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"schema": "x"}, "expected"),
        ({"units": {"1": {"signer": "x"}}}, r"unknown key\(s\) signer"),
        ({"units": {"1": {"signer_name": 3}}}, "values must be text"),
        ({"labels": {"people": {}}}, "'labels'"),
    ],
)
def test_bad_files_are_named(tmp_path, data, fragment):
    """Each mistake is one line naming the file."""
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DeploymentError, match=fragment):
        load_deployment(path)
