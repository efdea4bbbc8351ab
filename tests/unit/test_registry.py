"""The unit registry: 2025 package data by default, a deployment file on request."""

import json
from pathlib import Path

import pytest

from shared.registry import RegistryError, UnitRegistry, load_registry


def test_package_registry_has_34_provinces_and_3321_communes() -> None:
    """The default registry is the 2025 one, with 5-digit zero-padded commune codes."""
    reg = load_registry()
    assert len(reg.provinces) == 34
    assert len(reg.communes) == 3321
    assert reg.commune("00070").province_code == "01"  # Phường Hoàn Kiếm, Hà Nội
    assert "16000" in reg and reg.province_of("16000") == "38"
    assert sum(len(reg.communes_of(p)) for p in reg.provinces) == 3321


def test_deployment_file(tmp_path: Path) -> None:
    """A deployment's own file replaces the package's registry."""
    f = tmp_path / "reg.json"
    f.write_text(
        json.dumps(
            {
                "provinces": [
                    {
                        "code": "38",
                        "name": "Tỉnh Thanh Hóa",
                        "communes": [{"code": "16096", "name": "Xã Hoằng Hợp"}],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    reg = UnitRegistry.from_file(f)
    assert "16096" in reg and reg.communes_of("38") == ("16096",)


def test_bad_file_says_what_to_fix(tmp_path: Path) -> None:
    """A commune code that is not 5 digits is refused with its value."""
    f = tmp_path / "reg.json"
    f.write_text(json.dumps({"provinces": [{"code": "38", "communes": [{"code": "1609"}]}]}))
    with pytest.raises(RegistryError, match="'1609'"):
        UnitRegistry.from_file(f)
