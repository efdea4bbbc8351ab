"""Traffic shaped like seed 002 gives, from one call each, the commune's and the province's
Phụ lục 01b, Biểu mẫu 3 and Biểu 06 with exactly the seed's own figures, and the other
agencies' block (tests/kits/seed002.py builds the traffic; the fake source folds it per agency)."""

from __future__ import annotations

import asyncio
import io

import pytest
from docx import Document
from openpyxl import load_workbook

from services.reporter.appendix import make_appendix, unit_info
from services.reporter.render import render
from services.reporter.templates import load_template
from shared.domain.periods import parse_period
from shared.ports import FiguresRequest
from tests.kits import seed002 as seedkit
from tests.kits.reporter import FakeFiguresSource

SEED = seedkit.EXPECTED


def appendix(kind: str, code: str, template: str, agency: str = "ubnd"):
    reg = seedkit.seed_registry()
    source = FakeFiguresSource(reg, seedkit.province_events())
    period = parse_period(seedkit.PERIOD)
    now = seedkit.now_instant()
    request = FiguresRequest(
        kind, code, period.start_instant, period.end_instant, now, kind == "province", agency
    )
    reply = asyncio.run(source.figures(request))
    return make_appendix(
        unit_info(reg, kind, code), period, reply, load_template(template), now, reg, agency
    )


@pytest.fixture(scope="module")
def commune():
    return {name: appendix("commune", seedkit.COMMUNE, name) for name in FORMS}


FORMS = ("phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp")


def rows(a):
    return {(r["table"], r["stt"]): r for r in a.rows}


def grid(a, table_id):
    table = next(t for t in a.tables if t.spec.id == table_id)
    heads = [" / ".join((*c.group, c.heading)) for c in table.spec.columns]
    return {line.name: dict(zip(heads, line.values, strict=True)) for line in table.lines}


def test_the_figures_are_the_people_s_committee_s_own(commune):
    """3.225 received, 3.147 online, 78 direct; 3.143 early + 75 on time = 3.218; 7 open."""
    f = commune["phu-luc-01b"].figures
    ubnd = SEED["ubnd"]
    assert f["received_total"] == ubnd["received_total"]
    assert f["received_online_partial"] + f["received_online_full"] == ubnd["online"]
    assert f["received_direct"] + f["received_postal"] == ubnd["offline"]
    assert (f["resolved_early"], f["resolved_on_time"], f["resolved_late"]) == (3143, 75, 0)
    assert f["resolved_total"] == 3218 and f["open_at_end"] == 7 and f["carried_over"] == 0
    data = commune["phu-luc-01b"].to_json()
    assert data["agency"] == "ubnd"
    assert set(data["by_agency"]) == {"ubnd", "cong_an", "quan_su"}
    assert data["by_agency"]["cong_an"]["received_total"] == 322
    assert data["by_agency"]["quan_su"]["resolved_early"] == 273


def test_phu_luc_01b_shows_the_seed(commune):
    """3.3.1 = 3.225 with its channels; 3.3.2 = 3.218 resolved on time or early."""
    r = rows(commune["phu-luc-01b"])
    assert r[("muc-3", "3.3.1")]["display"] == "3.225"
    assert r[("muc-3", "3.3.2")]["display"] == "3.218"
    assert r[("muc-3", "3.5")]["display"] == "0"
    assert r[("muc-3", "3.1.3")]["display"] == ""  # office-supplied, not supplied: empty


def test_bieu_mau_3_and_its_e_government_rows_show_the_seed(commune):
    """3.3.1. 3.218 resolved (the seed's 3.225 there contradicts its 7 open); 6.7.1. 3.225,
    6.7.2. 3.147 online; 6.4.3. 16 and 6.5.3. 7 procedures with online dossiers."""
    r = rows(commune["bieu-mau-3"])
    assert r[("bieu-mau-3", "3.3.1.")]["value"] == 3218
    assert r[("bieu-mau-3", "3.3.2.")]["value"] == 3218
    assert r[("bieu-mau-3", "3.3.")]["display"] == "100%"
    assert r[("bieu-mau-7", "6.7.1.")]["value"] == 3225
    assert r[("bieu-mau-7", "6.7.2.")]["value"] == 3147
    assert r[("bieu-mau-7", "6.7.")]["display"] == "97,58%"
    assert r[("bieu-mau-7", "6.4.3.")]["value"] == SEED["procedures_online_partial"]
    assert r[("bieu-mau-7", "6.5.3.")]["value"] == SEED["procedures_online_full"]


def test_the_by_field_table_is_the_seed_s(commune):
    """Hộ tịch 501/458/43, Chứng thực 2.645/2.645/0, NCC 26/0/26, BTXH 53/44/9, Cộng 3.225."""
    table = grid(commune["bieu-mau-3"], "theo-linh-vuc")
    names = {
        "ho_tich": "Lĩnh vực Hộ tịch",
        "chung_thuc": "Lĩnh vực Chứng thực",
        "nguoi_co_cong": "Lĩnh vực Người có công",
        "bao_tro_xa_hoi": "Lĩnh vực Bảo trợ xã hội",
    }
    for slug, (total, online, direct) in SEED["fields"].items():
        assert list(table[names[slug]].values()) == [total, online, direct]
    assert list(table["Cộng"].values()) == [3225, 3147, 78]
    assert list(table) == [*names.values(), "Cộng"]


def test_bieu_06_by_field_with_its_total(commune):
    """Biểu 06: one row per field, received / resolved / in progress columns, a total row."""
    table = grid(commune["bieu-06-vpcp"], "theo-linh-vuc")
    total = table["Tổng cộng"]
    assert total["Số hồ sơ nhận giải quyết / Tổng số"] == 3225
    assert total["Số hồ sơ nhận giải quyết / Trong đó / Số mới tiếp nhận / Trực tuyến"] == 3147
    assert total["Kết quả giải quyết / Số hồ sơ đã giải quyết / Trả trước hạn"] == 3143
    assert total["Kết quả giải quyết / Số hồ sơ đã giải quyết / Trả đúng hạn"] == 75
    assert total["Kết quả giải quyết / Số hồ sơ đang giải quyết / Tổng số"] == 7
    assert table["Lĩnh vực Chứng thực"]["Số hồ sơ nhận giải quyết / Tổng số"] == 2645


@pytest.mark.parametrize("form", FORMS)
def test_every_form_has_the_other_agencies_block(commune, form):
    """Công an xã 322 (all online, all on time), BCH Quân sự xã 273 (all direct, all early)."""
    table = next(t for t in commune[form].tables if t.spec.kind == "agencies")
    lines = {line.name: line for line in table.lines}
    assert set(lines) == {"Công an xã", "Ban Chỉ huy Quân sự xã"}
    heads = [" / ".join((*c.group, c.heading)) for c in table.spec.columns]
    police = dict(zip(heads, lines["Công an xã"].values, strict=True))
    military = dict(zip(heads, lines["Ban Chỉ huy Quân sự xã"].values, strict=True))
    assert 322 in police.values() and 273 in military.values()
    assert police[next(h for h in heads if h.lower().endswith("đúng hạn"))] == 322
    assert military[next(h for h in heads if h.lower().endswith("trước hạn"))] == 273


def test_agency_all_adds_everyone_and_one_agency_alone(commune):
    """--agency all sums the three agencies; --agency cong_an gives the police's own."""
    everyone = appendix("commune", seedkit.COMMUNE, "phu-luc-01b", "all")
    assert everyone.figures["received_total"] == 3225 + 322 + 273
    police = appendix("commune", seedkit.COMMUNE, "phu-luc-01b", "cong_an")
    assert police.figures["received_total"] == 322
    assert police.to_json()["agency"] == "cong_an"


def test_the_province_adds_its_communes_and_counts_the_empty_one():
    """The province: both communes summed, per-commune rows, one commune without data."""
    a = appendix("province", seedkit.PROVINCE, "bieu-06-vpcp")
    by_commune = grid(a, "theo-xa")
    assert list(by_commune) == ["Xã Chi Lăng Nam", "Xã Chi Lăng Bắc", "Tổng cộng"]
    assert by_commune["Xã Chi Lăng Nam"]["Số hồ sơ nhận giải quyết / Tổng số"] == 3225
    assert by_commune["Tổng cộng"]["Số hồ sơ nhận giải quyết / Tổng số"] == 3225 + 17
    table = next(t for t in a.tables if t.spec.id == "theo-xa")
    assert table.footer.startswith("Có 1 xã, phường không phát sinh")
    fields = grid(a, "theo-linh-vuc")
    assert fields["Lĩnh vực Hộ tịch"]["Số hồ sơ nhận giải quyết / Tổng số"] == 501 + 12
    assert a.check["ok"]


@pytest.mark.parametrize("form", FORMS)
def test_documents_carry_the_figures_and_sign(commune, form):
    """The XLSX and DOCX of each form carry 3.225 and end with the signature block."""
    doc = Document(io.BytesIO(render(commune[form], "docx")))
    texts = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "3.225" in texts and "322" in texts and "273" in texts
    signature = [p.text for p in doc.tables[-1].cell(0, 1).paragraphs if p.text]
    assert signature[:2] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]
    place = [p.text for p in doc.tables[0].cell(0, 1).paragraphs]
    assert any(p.startswith("Chi Lăng Nam, ngày ") for p in place)
    wb = load_workbook(io.BytesIO(render(commune[form], "xlsx")))
    values = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert 3225 in values and 322 in values and 273 in values
