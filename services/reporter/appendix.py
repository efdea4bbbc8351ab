"""The statistical appendix (phụ lục thống kê) of one unit and period: an object, pure, no I/O.

`make_appendix` lays a template's tables over a figures reply and keeps what the
renderers need typed: the `Period`, the generation `Instant`, the `Template`, the
document's lines (`DocumentInfo`). `Appendix.to_json()` is the JSON of the contract
(`schema`, `unit`, `period`, `agency`, `figures`, `by_agency`, `by_field`, `rows`,
`anomalies`), then the extra keys: `complete`, `completeness`, `procedures`,
`generated_at`, `template`, `tables`, `document`, `values`, `watermark`, `check` and,
for a province asked with its communes, `communes`. `build_appendix` is that JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.reporter.checks import check_figures
from services.reporter.deployment import Deployment
from services.reporter.document import DocumentInfo, DocumentOptions, document_info
from services.reporter.labels import Labels
from services.reporter.tables import BuiltTable, Sources, build_tables, has_data
from services.reporter.templates import PROCEDURE_NAMES, Template
from services.reporter.units import UNIT_KINDS, UnknownUnit, unit_info
from shared.domain.events import Instant
from shared.domain.figures import COUNT_KEYS, FIGURE_KEYS, with_rates
from shared.domain.periods import Period
from shared.domain.timeutil import format_instant, local_day
from shared.ports import DEFAULT_AGENCY, FiguresReply
from shared.registry import UnitRegistry

SCHEMA = "tthc.appendix/1"
__all__ = [
    "SCHEMA",
    "UNIT_KINDS",
    "Appendix",
    "Presentation",
    "UnknownUnit",
    "build_appendix",
    "check_figures",
    "has_data",
    "make_appendix",
    "unit_info",
]


@dataclass(frozen=True, slots=True)
class Presentation:
    """How the document is dressed: the office's values, the document lines, optional tables."""

    office_values: Mapping[str, Any] = field(default_factory=dict)
    document: DocumentOptions = field(default_factory=DocumentOptions)
    deployment: Deployment = field(default_factory=Deployment)
    explain: bool = False  # print the optional tables (thuyết minh) too


@dataclass(frozen=True, slots=True)
class Appendix:
    unit: dict[str, str]
    period: Period
    agency: str
    figures: dict[str, Any]
    by_agency: dict[str, dict[str, Any]]
    by_field: dict[str, dict[str, Any]]
    procedures: dict[str, int]
    completeness: dict[str, Any]
    anomalies: dict[str, Any]
    watermark: dict[str, Any]
    generated_at: Instant
    template: Template
    tables: tuple[BuiltTable, ...]
    check: dict[str, Any]
    communes: tuple[dict[str, Any], ...]
    document: DocumentInfo
    office_values: dict[str, Any]
    explain: bool = False

    @property
    def complete(self) -> bool:
        return bool(self.completeness.get("complete", True))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every indicator row, table after table, as the JSON writes it."""
        return [line.as_dict() for table in self.tables for line in table.rows]

    def printed_tables(self) -> list[BuiltTable]:
        """The tables a document shows: optional ones only when asked, empty ones skipped
        where the template says so."""
        return [
            t
            for t in self.tables
            if (self.explain or not t.spec.optional) and not (t.spec.omit_empty and t.is_empty)
        ]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "unit": dict(self.unit),
            "period": self.period.as_dict(),
            "agency": self.agency,
            "figures": dict(self.figures),
            "by_agency": {k: dict(v) for k, v in self.by_agency.items()},
            "by_field": {k: dict(v) for k, v in self.by_field.items()},
            "rows": self.rows,
            "anomalies": dict(self.anomalies),
            "complete": self.complete,
            "completeness": dict(self.completeness),
            "procedures": dict(self.procedures),
            "generated_at": format_instant(self.generated_at),
            "template": {"name": self.template.name, "title": list(self.template.title)},
            "tables": [t.as_dict() for t in self.tables],
            "document": self.document.as_dict(),
            "values": dict(self.office_values),
            "watermark": dict(self.watermark),
            "check": self.check,
        }
        if self.communes:
            out["communes"] = [dict(c) for c in self.communes]
        return out


def _every_key(figures: Mapping[str, Any]) -> dict[str, Any]:
    return with_rates({k: int(figures.get(k) or 0) for k in COUNT_KEYS})


def _commune_list(reply: FiguresReply, registry: UnitRegistry | None) -> tuple[dict, ...]:
    out = []
    for code in sorted(reply.communes):
        raw = reply.communes[code]
        figs = raw.get("figures", raw) if isinstance(raw.get("figures"), dict) else raw
        commune = registry.commune(code) if registry else None
        out.append(
            {
                "code": code,
                "name": commune.name if commune else "",
                "figures": {key: figs.get(key) for key in FIGURE_KEYS},
            }
        )
    return tuple(out)


def make_appendix(
    unit: Mapping[str, str],
    period: Period,
    reply: FiguresReply,
    template: Template,
    generated_at: Instant,
    registry: UnitRegistry | None = None,
    agency: str = DEFAULT_AGENCY,
    presentation: Presentation | None = None,
) -> Appendix:
    """The appendix of a unit for a period, agency and layout."""
    look = presentation or Presentation()
    figures = {key: reply.figures.get(key) for key in FIGURE_KEYS}
    by_agency = {k: _every_key(v) for k, v in sorted((reply.by_agency or {}).items())}
    by_field = {k: _every_key(v) for k, v in sorted((reply.by_field or {}).items())}
    procedures = dict(reply.procedures or {})
    communes = _commune_list(reply, registry)
    office = dict(look.office_values)
    values: dict[str, Any] = {**office, **figures}
    for name, key in PROCEDURE_NAMES.items():
        values[name] = procedures.get(key) if procedures else None
    sources = Sources(
        unit_kind=unit["kind"],
        agency=agency,
        values=values,
        by_agency=by_agency,
        by_field=by_field,
        communes=communes,
        labels=Labels(look.deployment.labels),
    )
    return Appendix(
        unit=dict(unit),
        period=period,
        agency=agency,
        figures=figures,
        by_agency=by_agency,
        by_field=by_field,
        procedures=procedures,
        completeness=dict(reply.completeness or {"complete": True}),
        anomalies=dict(reply.anomalies or {}),
        watermark=dict(reply.watermark or {}),
        generated_at=generated_at,
        template=template,
        tables=build_tables(template, sources),
        check=check_figures(figures, reply.communes or None, by_field or None),
        communes=communes,
        document=document_info(
            unit, period, local_day(generated_at), look.document, look.deployment
        ),
        office_values=office,
        explain=look.explain,
    )


def build_appendix(
    unit: Mapping[str, str],
    period: Period,
    reply: FiguresReply,
    template: Template,
    generated_at: Instant,
    registry: UnitRegistry | None = None,
    agency: str = DEFAULT_AGENCY,
    presentation: Presentation | None = None,
) -> dict[str, Any]:
    """The appendix's JSON (what `tthc appendix --format json` prints)."""
    return make_appendix(
        unit, period, reply, template, generated_at, registry, agency, presentation
    ).to_json()
