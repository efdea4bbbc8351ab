"""Unit names as documents write them."""

from __future__ import annotations

from services.reporter.units import committee_name, issuer_lines, place_name, province_title


def test_names():
    """Place without 'Xã'/'Tỉnh'; 'UBND xã ...'; the issuing body in capitals."""
    commune = {"kind": "commune", "code": "1", "name": "Xã Chi Lăng Nam"}
    ward = {"kind": "commune", "code": "2", "name": "Phường Hạc Thành"}
    city = {"kind": "province", "code": "31", "name": "Thành phố Hải Phòng"}
    bare = {"kind": "province", "code": "40", "name": "Nghệ An"}
    assert place_name(commune) == "Chi Lăng Nam" and place_name(ward) == "Hạc Thành"
    assert place_name(city) == "Hải Phòng" and place_name(bare) == "Nghệ An"
    assert committee_name(commune) == "UBND xã Chi Lăng Nam"
    assert committee_name(city) == "UBND thành phố Hải Phòng"
    assert committee_name(bare) == "UBND tỉnh Nghệ An"
    assert issuer_lines(ward) == ("UỶ BAN NHÂN DÂN", "PHƯỜNG HẠC THÀNH")
    assert province_title("Nghệ An") == "Tỉnh Nghệ An"
