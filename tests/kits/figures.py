"""Random case stories for comparing fast figures paths with `compute_figures`."""

from __future__ import annotations

import random

from shared.domain.case import CaseSummary, fold_case
from shared.domain.events import CaseEvent

DAY = 86_400_000_000
HOUR = 3_600_000_000
T0 = 1_735_664_400_000_000  # 2025-01-01T00:00+07:00
CHANNELS = ("direct", "postal", "online_partial", "online_full")
FIELDS = ("dat_dai", "xay_dung", "ho_tich", None)
AGENCIES = (None, None, "cong_an", "quan_su")  # None: the People's Committee (ubnd)
PROCEDURES = ("1.001", "1.002", "2.003", None)
LATER = (
    "supplement_requested",
    "supplement_received",
    "paused",
    "resumed",
    "resolved",
    "resolved",
    "returned",
    "withdrawn",
    "overdue",
    "apology_sent",
    "received",
)


def _event(
    commune: str, case_id: str, suffix: str, kind: str, t: int, field: str, own: dict
) -> CaseEvent:
    """One generated event, id `<commune>-<case>-<suffix>` (channel, due_at, agency and
    procedure from `own`)."""
    return CaseEvent(
        event_id=f"{commune}-{case_id}-{suffix}",
        event_type=kind,
        case_id=case_id,
        commune_code=commune,
        occurred_at=t,
        channel=own.get("channel"),
        due_at=own.get("due_at"),
        field=field,
        agency=own.get("agency"),
        procedure_code=own.get("procedure_code"),
    )


def random_events(
    rng: random.Random, commune: str, case_id: str, origin: int = T0
) -> list[CaseEvent]:
    """One case: usually a `received`, then 0-5 random events within ~100 days of `origin`."""
    events = []
    n = 0

    def at() -> int:
        return origin + rng.randrange(0, 100 * DAY // HOUR) * HOUR

    def add(kind: str, t: int, **own: object) -> None:
        nonlocal n
        n += 1
        events.append(_event(commune, case_id, str(n), kind, t, rng.choice(FIELDS), own))

    received = at()
    if rng.random() < 0.9:
        add(
            "received",
            received,
            channel=rng.choice(CHANNELS),
            due_at=received + rng.randrange(0, 30 * DAY // HOUR) * HOUR,
            agency=rng.choice(AGENCIES),
            procedure_code=rng.choice(PROCEDURES),
        )
    plain = rng.random() < 0.5  # many cases are plain: received, maybe ended
    if plain:
        if rng.random() < 0.8:
            add(rng.choice(("resolved", "resolved", "returned", "withdrawn")), at())
        if not events:
            add("resolved", at())  # an orphan
        return events
    for _ in range(rng.randint(0, 5)):
        kind = rng.choice(LATER)
        own: dict[str, object] = {}
        if kind == "received":  # a second one: its agency changes nothing
            own = {"channel": rng.choice(CHANNELS), "due_at": at(), "agency": rng.choice(AGENCIES)}
        elif kind in ("supplement_received", "resumed") and rng.random() < 0.5:
            own = {"due_at": at()}
        add(kind, at(), **own)
    return events or [CaseEvent(f"{commune}-{case_id}-x", "resolved", case_id, commune, received)]


def pick_origin(rng: random.Random, origins: tuple[int, ...]) -> int:
    """One of `origins`; with only one, the random stream is left as it was."""
    return rng.choice(origins) if len(origins) > 1 else origins[0]


def random_cases(
    rng: random.Random,
    communes: tuple[str, ...],
    per_commune: int,
    origins: tuple[int, ...] = (T0,),
) -> list[tuple[CaseSummary, int]]:
    """Folded random cases of these communes, with each case's first event instant; each
    case's story starts at one of `origins`."""
    out = []
    for commune in communes:
        for i in range(rng.randint(per_commune // 2, per_commune)):
            events = random_events(rng, commune, f"C{i}", pick_origin(rng, origins))
            out.append((fold_case(events), min(e.occurred_at for e in events)))
    return out


def random_window(rng: random.Random, origin: int = T0) -> tuple[int, int, int]:
    """(start, end, now) around the stories of `origin`, sometimes a running period."""
    start = origin + rng.randrange(-10, 90) * DAY
    end = start + rng.randrange(1, 120) * DAY
    now = end + rng.randrange(-20, 60) * DAY
    return start, end, now


def orderly_events(rng: random.Random, commune: str, case_id: str) -> list[CaseEvent]:
    """One well-formed case (no anomaly): received, then waits, maybe a letter, maybe an end.

    Many of these have waits (supplements, pauses) and no letter and end: the cases a
    figures query may count by group like plain ones once they have ended.
    """
    t = T0 + rng.randrange(0, 60 * DAY // HOUR) * HOUR
    due = t + rng.randrange(1, 30 * DAY // HOUR) * HOUR
    n = 0
    events: list[CaseEvent] = []
    field = rng.choice(FIELDS)

    def add(kind: str, at: int, **own: object) -> None:
        nonlocal n
        n += 1
        events.append(_event(commune, case_id, f"o{n}", kind, at, field, own))

    add(
        "received",
        t,
        channel=rng.choice(CHANNELS),
        due_at=due,
        agency=rng.choice(AGENCIES),
        procedure_code=rng.choice(PROCEDURES),
    )
    for _ in range(rng.randint(0, 2)):
        t += rng.randrange(1, 10 * DAY // HOUR) * HOUR
        ask, back = rng.choice(
            (("supplement_requested", "supplement_received"), ("paused", "resumed"))
        )
        add(ask, t)
        if rng.random() < 0.2:
            return events  # still waiting
        t += rng.randrange(1, 10 * DAY // HOUR) * HOUR
        due += rng.randrange(0, 5 * DAY // HOUR) * HOUR
        add(back, t, due_at=due if rng.random() < 0.5 else None)
    if rng.random() < 0.15:
        t += rng.randrange(1, 5 * DAY // HOUR) * HOUR
        add("apology_sent", t)
    if rng.random() < 0.85:
        t += rng.randrange(1, 20 * DAY // HOUR) * HOUR
        add(rng.choice(("resolved", "resolved", "resolved", "returned", "withdrawn")), t)
    return events


def orderly_cases(
    rng: random.Random, communes: tuple[str, ...], per_commune: int
) -> list[tuple[CaseSummary, int]]:
    """Folded well-formed cases (`orderly_events`) of these communes, with first instants."""
    out = []
    for commune in communes:
        for i in range(rng.randint(per_commune // 2, per_commune)):
            events = orderly_events(rng, commune, f"W{i}")
            out.append((fold_case(events), min(e.occurred_at for e in events)))
    return out
