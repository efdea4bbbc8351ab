"""Builders for the reporter's tests: a small unit registry, a fake FiguresSource and
the appendix builder `kit_appendix`.

The fake answers figures requests with the domain's own breakdown over case summaries
folded from hand-made events, the way the aggregator does, without any database:
contract 1.1 included (the requested agency's figures, `by_agency`, `by_field`,
`procedures`). tests/kits/seed002.py builds traffic with agencies, fields and
procedures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.domain.case import CaseSummary, fold_case
from shared.domain.events import CaseEvent, Instant
from shared.domain.figures import compute_breakdown, procedure_counts, sum_breakdowns
from shared.domain.timeutil import format_instant, parse_rfc3339
from shared.ports import ALL_AGENCIES, FiguresReply, FiguresRequest
from shared.registry import Commune, Province, UnitRegistry

PROVINCE = "38"
PROVINCE_B = "40"
COMMUNE = "16096"  # Xã Hoằng Hợp
COMMUNE_B = "16099"
COMMUNE_C = "17000"  # in province B

REGISTRY_DATA = {
    "provinces": [
        {
            "code": PROVINCE,
            "name": "Tỉnh Thanh Hóa",
            "communes": [
                {"code": COMMUNE, "name": "Xã Hoằng Hợp"},
                {"code": COMMUNE_B, "name": "Xã Hoằng Thanh"},
            ],
        },
        {
            "code": PROVINCE_B,
            "name": "Nghệ An",
            "communes": [{"code": COMMUNE_C, "name": "Xã Diễn Châu"}],
        },
    ]
}


def registry() -> UnitRegistry:
    provinces, communes = [], []
    for p in REGISTRY_DATA["provinces"]:
        provinces.append(Province(p["code"], p["name"]))
        for c in p["communes"]:
            communes.append(Commune(c["code"], c["name"], p["code"]))
    return UnitRegistry(provinces, communes, source="test")


def write_registry(path: Path) -> Path:
    path.write_text(json.dumps(REGISTRY_DATA, ensure_ascii=False), encoding="utf-8")
    return path


def t(text: str) -> Instant:
    """A local `YYYY-MM-DDTHH:MM` as an instant."""
    return parse_rfc3339(text + ":00+07:00" if len(text) == 16 else text)


def ev(
    event_id: str,
    event_type: str,
    at: str,
    case_id: str = "C1",
    commune: str = COMMUNE,
    channel: str | None = None,
    due: str | None = None,
    field: str | None = None,
) -> CaseEvent:
    if event_type == "received":
        channel = channel or "direct"
        due = due or at
    return CaseEvent(
        event_id=event_id,
        event_type=event_type,
        case_id=case_id,
        commune_code=commune,
        occurred_at=t(at),
        channel=channel,
        due_at=t(due) if due else None,
        field=field,
    )


def received(
    case_id: str,
    at: str,
    due: str,
    commune: str = COMMUNE,
    channel: str = "direct",
    field: str | None = None,
) -> CaseEvent:
    return ev(f"{commune}-{case_id}-r", "received", at, case_id, commune, channel, due, field)


def resolved(case_id: str, at: str, commune: str = COMMUNE) -> CaseEvent:
    return ev(f"{commune}-{case_id}-x", "resolved", at, case_id, commune)


def apology(case_id: str, at: str, commune: str = COMMUNE) -> CaseEvent:
    return ev(f"{commune}-{case_id}-a-{at}", "apology_sent", at, case_id, commune)


class FakeFiguresSource:
    """A FiguresSource over in-memory events (add more with `add`), counting its requests.

    It answers as the aggregator does, through the domain: `compute_breakdown` per
    commune (figures of the requested agency, `by_agency`, `by_field`), summed for a
    province, and `procedure_counts` over the unit's cases of that agency."""

    def __init__(self, reg: UnitRegistry, events: Iterable[CaseEvent] = ()) -> None:
        self.registry = reg
        self.events: list[CaseEvent] = []
        self.requests: list[FiguresRequest] = []
        self.closed = False
        self.fail = False
        self.completeness: dict[str, Any] | None = None
        self.add(events)

    def add(self, events: Iterable[CaseEvent]) -> None:
        self.events.extend(events)

    def _cases(self) -> dict[str, list[CaseSummary]]:
        grouped: dict[tuple[str, str], list[CaseEvent]] = defaultdict(list)
        for event in self.events:
            grouped[(event.commune_code, event.case_id)].append(event)
        by_commune: dict[str, list[CaseSummary]] = defaultdict(list)
        for (commune, _), events in grouped.items():
            by_commune[commune].append(fold_case(events))
        return by_commune

    async def figures(self, request: FiguresRequest) -> FiguresReply:
        self.requests.append(request)
        if self.fail:
            raise TimeoutError("aggregator did not answer")
        cases = self._cases()
        if request.unit_kind == "commune":
            codes: tuple[str, ...] = (request.unit_code,)
        else:
            codes = self.registry.communes_of(request.unit_code)
        window = (request.start, request.end, request.now)
        parts = {c: compute_breakdown(cases.get(c, []), *window, request.agency) for c in codes}
        unit = parts[request.unit_code] if request.unit_kind == "commune" else None
        unit = unit or sum_breakdowns(parts.values())
        chosen = [
            case
            for c in codes
            for case in cases.get(c, [])
            if request.agency in (ALL_AGENCIES, case.agency)
        ]
        last = max((e.occurred_at for e in self.events), default=None)
        watermark: dict[str, Any] = {
            "events_stream_seq": len(self.events),
            "accepted_events": len(self.events),
            "last_event_at": format_instant(last) if last is not None else None,
        }
        extra = {"completeness": self.completeness} if self.completeness else {}
        communes = {c: part.figures for c, part in parts.items()}
        return FiguresReply(
            figures=unit.figures,
            anomalies={"counts": {}, "total": 0, "cases": [], "truncated": False},
            watermark=watermark,
            communes=communes if request.with_communes and request.unit_kind == "province" else {},
            by_agency=unit.by_agency,
            by_field=unit.by_field,
            procedures=procedure_counts(chosen, *window),
            **extra,
        )

    def close(self) -> None:
        self.closed = True


def sample_events() -> list[CaseEvent]:
    """A commune's quarter (decree09 2024-Q1 = 15/12/2023..14/03/2024) with every kind of case."""
    c, b = COMMUNE, COMMUNE_B
    return [
        # carried over from before the period, resolved on time inside it
        received("A0", "2023-12-01T09:00", "2023-12-20T17:00", c),
        resolved("A0", "2023-12-20T10:00", c),
        # received in the period by every channel
        received("A1", "2024-01-02T09:00", "2024-01-10T17:00", c, "direct", "dat_dai"),
        resolved("A1", "2024-01-05T10:00", c),  # early, land
        received("A2", "2024-01-03T09:00", "2024-01-10T17:00", c, "postal"),
        resolved("A2", "2024-01-10T16:00", c),  # on time
        received("A3", "2024-01-04T09:00", "2024-01-08T17:00", c, "online_partial"),
        apology("A3", "2024-01-09T08:00", c),
        resolved("A3", "2024-01-12T10:00", c),  # late, apologized
        received("A4", "2024-01-05T09:00", "2024-01-08T17:00", c, "online_full"),
        resolved("A4", "2024-01-12T10:00", c),  # late, no apology
        received("A5", "2024-03-01T09:00", "2024-03-30T17:00", c, "online_full", "xay_dung"),
        received("A6", "2024-02-01T09:00", "2024-02-10T17:00", c, "direct"),  # open overdue
        ev(f"{c}-A7-r", "received", "2024-02-02T09:00", "A7", c, "direct", "2024-02-20T17:00"),
        ev(f"{c}-A7-w", "withdrawn", "2024-02-03T09:00", "A7", c),
        ev(f"{c}-A8-r", "received", "2024-02-02T09:00", "A8", c, "direct", "2024-02-20T17:00"),
        ev(f"{c}-A8-t", "returned", "2024-02-04T09:00", "A8", c),
        ev(f"{c}-A9-r", "received", "2024-03-02T09:00", "A9", c, "postal", "2024-03-20T17:00"),
        ev(f"{c}-A9-s", "supplement_requested", "2024-03-03T09:00", "A9", c),
        # another commune of the same province
        received("B1", "2024-01-02T09:00", "2024-01-10T17:00", b, "online_full"),
        resolved("B1", "2024-01-03T10:00", b),
    ]


KIT_NOW = t("2024-03-20T10:15")
# 1.585 more dossiers received directly and still in time at the end: 1.594 received.
BIG = {
    "received_total": 1585,
    "received_direct": 1585,
    "open_at_end": 1585,
    "open_in_time_at_end": 1585,
}


def kit_appendix(
    kind: str = "unit",
    code: str = COMMUNE,
    label: str = "2024-Q1",
    template: str = "phu-luc-01b",
    events: Iterable[CaseEvent] | None = None,
    reg: UnitRegistry | None = None,
    now: Instant = KIT_NOW,
    agency: str = "ubnd",
    presentation: Any = None,
    bump: dict[str, int] | None = None,
    completeness: dict[str, Any] | None = None,
):
    """The Appendix object of a unit over the sample events (or given ones).

    `kind` "unit" means commune; `bump` adds to counts of the reply (and of its
    `unspecified` field and `ubnd` agency) before the appendix is made: a big number
    to see the thousands dot, kept consistent when the bumps are."""
    import asyncio

    from services.reporter.appendix import make_appendix, unit_info
    from services.reporter.templates import load_template
    from shared.domain.periods import parse_period

    kind = "commune" if kind == "unit" else kind
    reg = reg or registry()
    source = FakeFiguresSource(reg, sample_events() if events is None else events)
    source.completeness = completeness
    period = parse_period(label)
    request = FiguresRequest(
        kind, code, period.start_instant, period.end_instant, now, kind == "province", agency
    )
    reply = asyncio.run(source.figures(request))
    for key, delta in (bump or {}).items():
        for figures in (reply.figures, reply.by_field.get("unspecified"), reply.by_agency.get("ubnd")):
            if figures is not None:
                figures[key] = int(figures.get(key) or 0) + delta
    return make_appendix(
        unit_info(reg, kind, code),
        period,
        reply,
        load_template(template),
        now,
        reg,
        agency,
        presentation,
    )
