"""The appendix dict: the contract's keys, rows laid over figures, checks, province roll-up."""

from __future__ import annotations

import asyncio

import pytest

from services.reporter.appendix import (
    UnknownUnit,
    build_appendix,
    check_figures,
    has_data,
    unit_info,
)
from services.reporter.templates import load_template
from shared.domain.figures import FIGURE_KEYS
from shared.domain.periods import parse_period
from shared.ports import FiguresRequest
from tests.kits.reporter import (
    COMMUNE,
    COMMUNE_B,
    PROVINCE,
    FakeFiguresSource,
    kit_appendix,
    registry,
    sample_events,
    t,
)

NOW = t("2024-03-20T10:15")


def appendix_of(kind: str, code: str, label: str = "2024-Q1", template: str = "phu-luc-01b"):
    """The appendix's JSON (what `tthc appendix` prints) over the sample events."""
    return kit_appendix(kind, code, label, template).to_json()


def test_build_appendix_is_the_json_of_make_appendix():
    """`build_appendix` returns the same JSON as the object's `to_json()`."""
    reg = registry()
    source = FakeFiguresSource(reg, sample_events())
    period = parse_period("2024-Q1")
    reply = asyncio.run(
        source.figures(FiguresRequest("commune", COMMUNE, period.start_instant, period.end_instant, NOW))
    )
    unit = unit_info(reg, "commune", COMMUNE)
    built = build_appendix(unit, period, reply, load_template(None), NOW, reg)
    assert built == kit_appendix("commune", COMMUNE).to_json()


def test_contract_keys_exact():
    """schema, unit, period, figures (every key), rows, anomalies are there as the contract says."""
    a = appendix_of("commune", COMMUNE)
    assert a["schema"] == "tthc.appendix/1"
    assert {"schema", "unit", "period", "figures", "rows", "anomalies"} <= set(a)
    assert a["unit"] == {
        "kind": "commune",
        "code": COMMUNE,
        "name": "Xã Hoằng Hợp",
        "province_code": PROVINCE,
        "province_name": "Tỉnh Thanh Hóa",
    }
    assert a["period"] == {
        "label": "2024-Q1",
        "calendar": "decree09",
        "start": "2023-12-15",
        "end": "2024-03-14",
    }
    assert set(a["figures"]) == set(FIGURE_KEYS)
    assert a["generated_at"] == "2024-03-20T10:15:00+07:00"


def test_rows_carry_values_and_vietnamese_display():
    """Each row has stt, label, unit, key/formula, value, display and note."""
    a = appendix_of("commune", COMMUNE)
    rows = {r["stt"]: r for r in a["rows"] if r["stt"]}
    for row in a["rows"]:
        assert {"stt", "label", "unit", "key", "formula", "value", "display", "note"} <= set(row)
    assert rows["3.3.1"]["value"] == a["figures"]["received_total"] == 9
    assert rows["3.3.2"]["formula"] == "resolved_early + resolved_on_time"
    assert rows["3.3.2"]["value"] == 3
    assert rows["BS.1"]["value"] == 1  # carried over
    assert rows["BS.10"]["display"] == "33,33%"
    assert rows["3.3"]["value"] is None and rows["3.3"]["display"] == ""


def test_figures_of_the_sample():
    """The sample quarter counts what the hand-made events say."""
    f = appendix_of("commune", COMMUNE)["figures"]
    assert f["received_total"] == 9 and f["carried_over"] == 1
    assert (f["resolved_early"], f["resolved_on_time"], f["resolved_late"]) == (1, 2, 2)
    assert f["resolved_in_time_land"] == 1
    assert f["resolved_late_without_apology"] == 1
    assert f["open_overdue_at_end"] == 1 and f["awaiting_supplement_at_end"] == 1
    assert f["on_time_rate"] == 60.0


def test_province_rolls_up_its_communes():
    """A province's figures are its communes' sums, rates recomputed; the check says so."""
    a = appendix_of("province", PROVINCE)
    c1 = appendix_of("commune", COMMUNE)["figures"]
    c2 = appendix_of("commune", COMMUNE_B)["figures"]
    assert a["figures"]["received_total"] == c1["received_total"] + c2["received_total"]
    assert a["figures"]["on_time_rate"] == pytest.approx(100 * 4 / 6, abs=0.01)
    assert [c["code"] for c in a["communes"]] == [COMMUNE, COMMUNE_B]
    assert {i["name"]: i["ok"] for i in a["check"]["items"]}["communes_sum"] is True
    assert a["unit"]["kind"] == "province" and a["unit"]["province_code"] == PROVINCE


def test_check_passes_on_real_figures_and_names_what_fails():
    """A consistent appendix adds up; a broken one says which identity fails."""
    a = appendix_of("commune", COMMUNE)
    assert a["check"]["ok"] is True
    assert a["check"]["text"].startswith("Kiểm tra: số liệu khớp")
    broken = dict(a["figures"], received_direct=a["figures"]["received_direct"] + 1)
    check = check_figures(broken)
    assert check["ok"] is False
    failed = [i["name"] for i in check["items"] if not i["ok"]]
    assert failed == ["received_by_channel"]
    assert "KHÔNG KHỚP" in check["text"]
    unbalanced = dict(a["figures"], open_at_end=0)
    assert "balance" in [i["name"] for i in check_figures(unbalanced)["items"] if not i["ok"]]


def test_unknown_units():
    """Unknown commune and province codes are refused."""
    with pytest.raises(UnknownUnit, match="unknown commune '99999'"):
        unit_info(registry(), "commune", "99999")
    with pytest.raises(UnknownUnit, match="unknown province '99'"):
        unit_info(registry(), "province", "99")


def test_has_data():
    """A unit has data when any count is non-zero."""
    assert not has_data({"received_total": 0, "on_time_rate": None})
    assert has_data({"open_at_end": 2})


def test_bieu_mau_3_rates_match_the_figures():
    """Biểu mẫu 3's formula rates equal the figures' own rates."""
    a = appendix_of("commune", COMMUNE, template="bieu-mau-3")
    rows = {r["stt"]: r for r in a["rows"]}
    assert rows["3.3."]["value"] == a["figures"]["on_time_rate"]
    assert rows["6.7."]["value"] == a["figures"]["online_rate"]
    assert rows["6.7.2."]["value"] == 3
