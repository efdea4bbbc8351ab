"""The document's lines: issuer, number, place and date, 'kèm theo', unit, period, signature."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporter.deployment import Deployment
from services.reporter.document import DocDate, DocumentError, DocumentOptions, document_info
from shared.domain.periods import parse_period

COMMUNE = {
    "kind": "commune",
    "code": "16096",
    "name": "Xã Hoằng Hợp",
    "province_code": "38",
    "province_name": "Tỉnh Thanh Hóa",
}
PROVINCE = {
    "kind": "province",
    "code": "38",
    "name": "Thanh Hóa",
    "province_code": "38",
    "province_name": "Thanh Hóa",
}


def test_commune_lines_name_the_commune_without_codes():
    """The place is the commune's own name; the date is the generation day, Decree 30 style."""
    info = document_info(COMMUNE, parse_period("2023-9M"), date(2023, 11, 6))
    assert info.issuer == ("UỶ BAN NHÂN DÂN", "XÃ HOẰNG HỢP")
    assert info.place_date == "Hoằng Hợp, ngày 06 tháng 11 năm 2023"
    assert info.number_line.startswith("Số: ") and info.number_line.endswith("/BC-UBND")
    assert info.attached_line.startswith("(Kèm theo Báo cáo số ")
    assert info.attached_line.endswith("ngày 06 tháng 11 năm 2023 của UBND xã Hoằng Hợp)")
    assert info.unit_line == "Đơn vị báo cáo: UBND xã Hoằng Hợp, Tỉnh Thanh Hóa"
    assert info.period_line.startswith("Kỳ báo cáo: 9 tháng đầu năm 2023 (từ ngày 15/12/2022")
    for line in (info.place_date, info.unit_line, info.period_line, info.attached_line):
        assert "16096" not in line and "2023-9M" not in line


def test_province_lines():
    """A province: TỈNH THANH HÓA, 'Thanh Hóa, ngày ...', UBND tỉnh Thanh Hóa."""
    info = document_info(PROVINCE, parse_period("2024"), date(2024, 12, 20))
    assert info.issuer[1] == "TỈNH THANH HÓA"
    assert info.place_date == "Thanh Hóa, ngày 20 tháng 12 năm 2024"
    assert "của UBND tỉnh Thanh Hóa)" in info.attached_line


def test_options_and_deployment_set_the_lines():
    """--date (a blank day allowed), --report-number, the deployment's place and names."""
    options = DocumentOptions(DocDate.parse("2023-12"), "215/BC-UBND")
    deployment = Deployment(units={"16096": {"place": "Hoằng Hóa", "signer_name": "Lê Văn A"}})
    info = document_info(COMMUNE, parse_period("2023"), date(2023, 12, 20), options, deployment)
    assert info.place_date.startswith("Hoằng Hóa, ngày ") and info.place_date.endswith(
        " tháng 12 năm 2023"
    )
    assert info.number_line == "Số: 215/BC-UBND"
    assert info.signature.signer_name == "Lê Văn A"


@pytest.mark.parametrize("text", ["15/12/2023", "2023-13-01", "2023-02-30", "yesterday"])
def test_bad_dates_are_refused(text):
    """--date takes YYYY-MM-DD or YYYY-MM."""
    with pytest.raises(DocumentError, match="--date"):
        DocDate.parse(text)
