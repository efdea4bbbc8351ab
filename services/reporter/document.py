"""What makes the appendix a document ready to sign: header, place and date, number, signature.

Everything here is text for people: no unit codes, no period labels, no stream
positions (those stay in the JSON and the files' properties). Decree 30/2020/NĐ-CP
decides the forms: the place is the unit's own name, the date zero-pads days under 10
and months 1 and 2, the signature block reads `TM. ỦY BAN NHÂN DÂN` / `CHỦ TỊCH`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from services.reporter.deployment import Deployment
from services.reporter.numfmt import day_month_year, period_words
from services.reporter.units import committee_name, full_name, issuer_lines, place_name
from shared.domain.periods import Period

_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
BLANK_NUMBER = "\u00a0" * 8


class DocumentError(ValueError):
    """A document option that cannot be used (bad --date)."""


@dataclass(frozen=True, slots=True)
class DocDate:
    """The document's date; `day` None leaves the day blank for the signer to write."""

    year: int
    month: int
    day: int | None = None

    @classmethod
    def of(cls, day: date) -> DocDate:
        return cls(day.year, day.month, day.day)

    @classmethod
    def parse(cls, text: str) -> DocDate:
        """'2023-12-15', or '2023-12' for a blank day."""
        m = _DATE.match(text.strip())
        if m is None:
            raise DocumentError(
                f"--date {text!r}: use YYYY-MM-DD, or YYYY-MM to leave the day blank"
            )
        year, month = int(m[1]), int(m[2])
        day = int(m[3]) if m[3] else None
        try:
            date(year, month, day or 1)
        except ValueError as exc:
            raise DocumentError(f"--date {text!r}: {exc}") from exc
        return cls(year, month, day)

    def words(self) -> str:
        return day_month_year(self.year, self.month, self.day)


@dataclass(frozen=True, slots=True)
class Signature:
    preparer_title: str
    preparer_name: str
    on_behalf: str
    signer_title: str
    signer_name: str


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """The lines around the tables, as printed."""

    issuer: tuple[str, str]
    number_line: str
    place_date: str
    attached_line: str
    unit_line: str
    period_line: str
    signature: Signature

    def as_dict(self) -> dict[str, object]:
        return {
            "issuer": list(self.issuer),
            "number_line": self.number_line,
            "place_date": self.place_date,
            "attached_line": self.attached_line,
            "unit_line": self.unit_line,
            "period_line": self.period_line,
            "signature": {
                "preparer_title": self.signature.preparer_title,
                "preparer_name": self.signature.preparer_name,
                "on_behalf": self.signature.on_behalf,
                "signer_title": self.signature.signer_title,
                "signer_name": self.signature.signer_name,
            },
        }


@dataclass(frozen=True, slots=True)
class DocumentOptions:
    """What the command line may set: the date, the report's number and date."""

    date: DocDate | None = None
    report_number: str | None = None
    report_date: DocDate | None = None


def _number(text: str) -> str:
    """'15/BC-UBND' stays; '/BC-UBND' gets room before the slash for a hand-written number."""
    text = text.strip()
    return BLANK_NUMBER + text if text.startswith("/") else text


def document_info(
    unit: Mapping[str, str],
    period: Period,
    generated_day: date,
    options: DocumentOptions | None = None,
    deployment: Deployment | None = None,
) -> DocumentInfo:
    """The header, place-and-date, number, 'kèm theo' and signature lines of one unit."""
    options = options or DocumentOptions()
    settings = (deployment or Deployment()).for_unit(unit["code"])
    when = options.date or DocDate.of(generated_day)
    number = _number(options.report_number or settings["report_number"])
    report_date = options.report_date or when
    place = settings["place"] or place_name(unit)
    return DocumentInfo(
        issuer=issuer_lines(unit),
        number_line=f"Số: {number}",
        place_date=f"{place}, {when.words()}" if place else when.words().capitalize(),
        attached_line=(
            f"(Kèm theo Báo cáo số {number} {report_date.words()} của {committee_name(unit)})"
        ),
        unit_line=f"Đơn vị báo cáo: {_reporting_unit(unit)}",
        period_line=f"Kỳ báo cáo: {period_words(period)}",
        signature=Signature(
            preparer_title=settings["preparer_title"],
            preparer_name=settings["preparer_name"],
            on_behalf=settings["on_behalf"],
            signer_title=settings["signer_title"],
            signer_name=settings["signer_name"],
        ),
    )


def _reporting_unit(unit: Mapping[str, str]) -> str:
    if unit["kind"] == "province":
        return f"{committee_name(unit)} (tổng hợp số liệu các xã, phường)"
    province = unit.get("province_name") or ""
    return f"{committee_name(unit)}, {full_name({'kind': 'province', 'name': province})}".rstrip(
        ", "
    )
