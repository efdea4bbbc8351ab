"""Templates: the shipped layouts load; bad files are refused with a clear message."""

from __future__ import annotations

import json

import pytest

from services.reporter.templates import (
    PROCEDURE_NAMES,
    TemplateError,
    builtin_names,
    load_template,
    parse_template,
)
from shared.domain.figures import FIGURE_KEYS


def good() -> dict:
    return {
        "name": "mine",
        "title": ["PHỤ LỤC"],
        "rows": [
            {"stt": "1", "label": "Tiếp nhận", "unit": "Hồ sơ", "key": "received_total"},
            {
                "stt": "",
                "label": "Trực tiếp",
                "unit": "Hồ sơ",
                "key": "received_direct",
                "style": "indent",
            },
            {
                "stt": "2",
                "label": "Tỷ lệ",
                "unit": "%",
                "formula": "rate(resolved_early, resolved_total)",
            },
        ],
    }


def test_builtin_templates_load():
    """phu-luc-01b, bieu-mau-3 and bieu-06-vpcp ship, load and only use known figure keys
    (or the procedure counts of contract 1.1)."""
    assert {"phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp"} <= set(builtin_names())
    for name in ("phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp"):
        template = load_template(name)
        assert template.name == name
        for row in template.rows:
            assert row.key is None or row.key in FIGURE_KEYS or row.key in PROCEDURE_NAMES
        for table in template.tables:
            for column in table.columns:
                assert column.key is None or column.key in FIGURE_KEYS


def test_phu_luc_01b_has_the_seed_rows_and_the_prose_rows():
    """Phụ lục 01b: 3.3.1-3.3.4 and 3.5 of the seed, plus carried over, in progress, waits, late without apology."""
    template = load_template("phu-luc-01b")
    keys = {row.key for row in template.rows}
    stts = {row.stt for row in template.rows}
    assert {"3.3", "3.3.1", "3.3.2", "3.3.3", "3.3.4", "3.5"} <= stts
    assert {
        "received_direct",
        "received_postal",
        "received_online_partial",
        "received_online_full",
        "resolved_in_time_direct",
        "resolved_in_time_postal",
        "resolved_in_time_land",
        "resolved_in_time_construction",
        "apologies_sent",
        "carried_over",
        "open_in_time_at_end",
        "open_overdue_at_end",
        "awaiting_supplement_at_end",
        "paused_at_end",
        "returned",
        "withdrawn",
        "resolved_late_without_apology",
        "open_overdue_without_apology_at_end",
    } <= keys


def test_bieu_mau_3_has_rates():
    """Biểu mẫu 3: item 3.3 on-time rate and item 6.7 online receipt rate as formulas."""
    rows = {row.stt: row for row in load_template("bieu-mau-3").rows}
    assert rows["3.3."].formula is not None and "rate(" in rows["3.3."].formula.text
    assert rows["6.7."].unit == "%"
    assert rows["6.7.1."].key == "received_total"


def test_template_from_a_path(tmp_path):
    """A province's own file loads by path."""
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(good(), ensure_ascii=False), encoding="utf-8")
    assert load_template(str(path)).name == "mine"


def _err(data) -> str:
    with pytest.raises(TemplateError) as info:
        parse_template(data, source="t.json")
    return str(info.value)


def _with_row(**changes) -> dict:
    data = good()
    data["rows"][0] = {**data["rows"][0], **changes}
    data["rows"][0] = {k: v for k, v in data["rows"][0].items() if v is not None}
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (_with_row(key="recieved_total"), "unknown figure key 'recieved_total'"),
        (_with_row(key=None, formula="received_total +"), "bad formula"),
        (_with_row(key=None, formula="eval(1)"), "unknown figure key 'eval'"),
        (_with_row(stt="2"), "duplicate STT '2'"),
        (_with_row(label=None), "missing 'label'"),
        (_with_row(label="  "), "missing 'label'"),
        (_with_row(stt=""), "missing 'stt'"),
        (_with_row(unit=None), "missing 'unit'"),
        (_with_row(key=None), "needs a 'key' or a 'formula'"),
        (_with_row(formula="received_total"), "not both"),
        (_with_row(style="blink"), "unknown style blink"),
        (_with_row(colour="red"), "unknown field(s) colour"),
        ({**good(), "rows": []}, "'rows' must be a non-empty list"),
        ({**good(), "title": []}, "'title'"),
        ({**good(), "name": "../evil"}, "'name'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_validation_errors(data, fragment):
    """Each kind of mistake is named, with the file and the row."""
    message = _err(data)
    assert fragment in message
    assert message.startswith("template t.json:")
    assert "\n" not in message


def test_row_numbers_in_messages():
    """The message points at the row (number and STT)."""
    assert "row 1 (STT 1)" in _err(_with_row(key="nope"))


def test_unknown_template_name_and_bad_json(tmp_path):
    """An unknown name lists the built-ins; broken JSON says where."""
    with pytest.raises(TemplateError, match=r"unknown template 'nope'.*phu-luc-01b"):
        load_template("nope")
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x",', encoding="utf-8")
    with pytest.raises(TemplateError, match="not valid JSON"):
        load_template(str(bad))
