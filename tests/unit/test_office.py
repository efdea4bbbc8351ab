"""Office-supplied values: the file, --value, precedence, and nothing invented."""

from __future__ import annotations

import json

import pytest

from services.reporter.office import (
    OfficeValuesError,
    load_values_file,
    parse_assignments,
    parse_value,
    values_for,
)


def test_values_parse_as_numbers_or_text():
    """'212' is a count, '96,5' a decimal, anything else stays text."""
    assert parse_value("212") == 212
    assert parse_value("96,5") == 96.5 and parse_value("96.5") == 96.5
    assert parse_value("Kết hợp") == "Kết hợp"
    assert parse_assignments(["tthc_dang_ap_dung=139", "ghi_chu=Có"]) == {
        "tthc_dang_ap_dung": 139,
        "ghi_chu": "Có",
    }
    with pytest.raises(OfficeValuesError, match="NAME=VALUE"):
        parse_assignments(["Bad Name=1"])


def test_period_entries_win_over_star_and_overrides_over_both(tmp_path):
    """`*` applies to every period, the period's own entry wins, --value wins over both."""
    path = tmp_path / "v.json"
    path.write_text(
        json.dumps(
            {
                "schema": "tthc.values/1",
                "values": [
                    {"unit": "16096", "period": "2023", "values": {"a": 2, "b": 2}},
                    {"unit": "16096", "period": "*", "values": {"a": 1, "c": 1}},
                    {"unit": "16099", "period": "*", "values": {"a": 9}},
                ],
            }
        ),
        encoding="utf-8",
    )
    entries = load_values_file(path)
    assert values_for(entries, "16096", "2023") == {"a": 2, "b": 2, "c": 1}
    assert values_for(entries, "16096", "2024") == {"a": 1, "c": 1}
    assert values_for(entries, "16096", "2023", {"b": 5}) == {"a": 2, "b": 5, "c": 1}
    assert values_for(entries, "17000", "2023") == {}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"schema": "other"}, "expected"),
        ({"values": {}}, "'values' must be a list"),
        ({"values": [{"period": "*"}]}, "needs 'unit'"),
        ({"values": [{"unit": "1", "values": {"Bad": 1}}]}, "bad value name"),
        ({"values": [{"unit": "1", "values": {"a": [1]}}]}, "a must be a number or text"),
    ],
)
def test_bad_files_are_named(tmp_path, data, fragment):
    """Each mistake in a values file is one line naming the file and the entry."""
    path = tmp_path / "v.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(OfficeValuesError, match=fragment) as info:
        load_values_file(path)
    assert str(path) in str(info.value)
