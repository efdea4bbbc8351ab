"""Vietnamese formatting of numbers, dates and periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.reporter.numfmt import (
    day_month_year,
    format_date,
    format_instant_vn,
    format_number,
    format_percent,
    format_value,
    period_line,
    period_name,
    period_words,
)
from shared.domain.periods import parse_period
from shared.domain.timeutil import parse_rfc3339


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1594, "1.594"),
        (1_234_567, "1.234.567"),
        (-1594, "-1.594"),
        (1234.5, "1.234,5"),
        (3.14159, "3,14"),
        (None, "-"),
    ],
)
def test_format_number(value, text):
    """Dots between thousands, a comma before decimals, '-' for a missing value."""
    assert format_number(value) == text


def test_whole_numbers_read_as_their_decimal_form():
    """The fast path for counts writes what the Decimal path writes for the same value."""
    import random

    rng = random.Random(7)
    values = [0, 1, -1, 999, 1000, -1000, 10**12] + [
        rng.randrange(-(10 ** rng.randint(1, 13)), 10 ** rng.randint(1, 13)) for _ in range(500)
    ]
    for value in values:
        assert format_number(value) == format_number(float(value)) == format_number(Decimal(value))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (96.46, "96,46%"),
        (100.0, "100%"),
        (97.6, "97,6%"),
        (0, "0%"),
        (33.333, "33,33%"),
        (None, "-"),
    ],
)
def test_format_percent(value, text):
    """Rates keep at most two decimals, trailing zeros dropped, a comma as decimal sign."""
    assert format_percent(value) == text


def test_format_value_by_unit():
    """The unit of measure decides between a count and a percentage."""
    assert format_value(1594, "Hồ sơ") == "1.594"
    assert format_value(96.46, "%") == "96,46%"
    assert format_value(12, "Thư") == "12"


def test_dates_and_instants():
    """Dates as dd/mm/yyyy; instants in local time (UTC+7)."""
    assert format_date(date(2023, 12, 15)) == "15/12/2023"
    assert format_instant_vn(parse_rfc3339("2024-03-20T03:15:00Z")) == "10:15 ngày 20/03/2024"


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("2024-M03", "Tháng 3 năm 2024"),
        ("2024-Q1", "Quý I năm 2024"),
        ("2024-Q4", "Quý IV năm 2024"),
        ("2024-H1", "6 tháng đầu năm 2024"),
        ("2024-H2", "6 tháng cuối năm 2024"),
        ("2024-9M", "9 tháng đầu năm 2024"),  # as the reports write it (issue 13)
        ("2024", "Năm 2024"),
        ("2024-01-05..2024-02-01", "Từ ngày 05/01/2024 đến ngày 01/02/2024"),
    ],
)
def test_period_name(label, name):
    """Each period kind in Vietnamese words."""
    assert period_name(parse_period(label)) == name


def test_period_words_as_documents_write_them():
    """Documents name the period in words with its dates, never its label."""
    assert period_words(parse_period("2024-Q1")) == (
        "Quý I năm 2024 (từ ngày 15/12/2023 đến ngày 14/03/2024)"
    )
    assert period_words(parse_period("2023-9M")).startswith("9 tháng đầu năm 2023 (")
    assert "2024-Q1" not in period_words(parse_period("2024-Q1"))


@pytest.mark.parametrize(
    ("ymd", "text"),
    [
        ((2024, 3, 20), "ngày 20 tháng 3 năm 2024"),
        ((2023, 11, 6), "ngày 06 tháng 11 năm 2023"),
        ((2024, 2, 1), "ngày 01 tháng 02 năm 2024"),
        ((2024, 1, 15), "ngày 15 tháng 01 năm 2024"),
    ],
)
def test_dates_are_zero_padded_as_decree_30_says(ymd, text):
    """Days under 10 and months 1 and 2 get a leading zero; other months do not."""
    assert day_month_year(*ymd) == text


def test_a_blank_day_leaves_room_to_write_it():
    """Without a day, the line keeps room for the signer's hand."""
    text = day_month_year(2023, 12, None)
    assert text.startswith("ngày ") and text.endswith(" tháng 12 năm 2023")
    assert not any(ch.isdigit() for ch in text[5:-18])


def test_period_line_has_the_dates():
    """The period line names the period, its label and its first and last day."""
    line = period_line(parse_period("2024-Q1"))
    assert line == "Kỳ báo cáo: Quý I năm 2024 (2024-Q1), từ ngày 15/12/2023 đến ngày 14/03/2024"
