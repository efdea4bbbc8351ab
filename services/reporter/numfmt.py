"""Vietnamese formatting of numbers, dates and periods (pure helpers, no I/O).

Vietnamese writes a dot between thousands and a comma before decimals: 1.594 hồ sơ,
96,46%. Rates keep at most two decimals with trailing zeros dropped (100%, 97,6%,
96,46%), as the seed reports write them. A missing value (a rate with nothing to
divide by) is shown as "-".
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from shared.domain.events import Instant
from shared.domain.periods import Period
from shared.domain.timeutil import from_instant

MISSING = "-"
PERCENT_UNITS = frozenset({"%", "tỷ lệ", "tỷ lệ %"})

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def group_thousands(digits: str) -> str:
    """'1594' -> '1.594' (digits only, no sign)."""
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ".".join(parts)


def format_number(value: int | float | Decimal | None, decimals: int = 2) -> str:
    """A number the Vietnamese way: 1.594; 1.234,5; -12; None -> '-'."""
    if value is None:
        return MISSING
    if type(value) is int:  # counts, most of an appendix: no Decimal needed (same text)
        return f"{value:,}".replace(",", ".")
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    text = f"{abs(number):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    out = sign + group_thousands(whole)
    return f"{out},{frac}" if frac else out


def format_percent(value: int | float | Decimal | None) -> str:
    """A rate in percent: 96.46 -> '96,46%', 100 -> '100%', None -> '-'."""
    if value is None:
        return MISSING
    return format_number(value, 2) + "%"


def format_value(value: int | float | None, unit: str) -> str:
    """The display text of a row's value for its unit of measure."""
    if unit.strip().lower() in PERCENT_UNITS:
        return format_percent(value)
    return format_number(value)


def format_date(day: date) -> str:
    """15/12/2023."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def format_instant_vn(instant: Instant) -> str:
    """'10:15 ngày 20/03/2024' in local business time (UTC+7)."""
    dt = from_instant(instant)
    return f"{dt.hour:02d}:{dt.minute:02d} ngày {format_date(dt.date())}"


def period_name(period: Period) -> str:
    """The period in words: 'Quý I năm 2024', 'Tháng 3 năm 2024', '6 tháng đầu năm 2024'."""
    label = period.label
    if period.kind == "range":
        return f"Từ ngày {format_date(period.start)} đến ngày {format_date(period.end)}"
    year = label[:4]
    if period.kind == "month":
        return f"Tháng {int(label[6:8])} năm {year}"
    if period.kind == "quarter":
        return f"Quý {_ROMAN[int(label[6])]} năm {year}"
    if period.kind == "half":
        return f"6 tháng {'đầu' if label.endswith('H1') else 'cuối'} năm {year}"
    if period.kind == "nine_months":
        return f"9 tháng đầu năm {year}"
    return f"Năm {year}"


def period_line(period: Period) -> str:
    """'Kỳ báo cáo: Quý I năm 2024 (2024-Q1), từ ngày 15/12/2023 đến ngày 14/03/2024'."""
    dates = f"từ ngày {format_date(period.start)} đến ngày {format_date(period.end)}"
    if period.kind == "range":
        return f"Kỳ báo cáo: {dates}"
    return f"Kỳ báo cáo: {period_name(period)} ({period.label}), {dates}"


def period_words(period: Period) -> str:
    """'Quý I năm 2024 (từ ngày 15/12/2023 đến ngày 14/03/2024)': no label, as reports write."""
    dates = f"từ ngày {format_date(period.start)} đến ngày {format_date(period.end)}"
    if period.kind == "range":
        return dates[:1].upper() + dates[1:]
    return f"{period_name(period)} ({dates})"


def day_month_year(year: int, month: int, day: int | None) -> str:
    """'ngày 06 tháng 02 năm 2024', 'ngày 20 tháng 3 năm 2024' (Decree 30/2020/NĐ-CP: a zero
    before days under 10 and months 1 and 2); day None leaves room to write it by hand."""
    day_text = f"{day:02d}" if day is not None else "\u00a0" * 6
    month_text = f"{month:02d}" if month < 3 else str(month)
    return f"ngày {day_text} tháng {month_text} năm {year}"


def calendar_note(calendar: str) -> str:
    """How the period was cut, in words."""
    if calendar == "decree09":
        return (
            "mốc chốt số liệu theo Nghị định số 09/2019/NĐ-CP (từ ngày 15 tháng trước đến ngày 14)"
        )
    return "theo tháng dương lịch"
