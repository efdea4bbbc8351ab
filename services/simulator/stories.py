"""One case's story, drawn from its own random stream (supplements, pauses, results,
lateness with apology letters, the desk software's `overdue` notice, returns, withdrawals).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from services.simulator.office import (
    CHANNEL_TABLE,
    FIELD_TABLE,
    add_working_days,
    appointment,
    is_working_day,
    local_text,
    office_time_after,
    pick,
)
from services.simulator.profile import (
    DEFAULT_SEED,
    DUE_TIME,
    FIELD_MIX,
    PROCEDURES,
    STAFF_PER_COMMUNE,
    SimConfig,
)
from shared.domain.timeutil import LOCAL_TZ


@dataclass(slots=True)
class _Case:
    commune: str
    case_id: str
    id_prefix: str
    field: str
    procedure: str
    actor: str
    events: list[tuple[datetime, dict[str, Any]]]

    def add(self, t: datetime, event_type: str, **own: Any) -> None:
        n = len(self.events) + 1
        payload: dict[str, Any] = {
            "event_id": f"{self.id_prefix}-{n:02d}",
            "event_type": event_type,
            "case_id": self.case_id,
            "commune_code": self.commune,
            "occurred_at": local_text(t),
            "procedure_code": self.procedure,
            "field": self.field,
            "agency": "ubnd",
            "actor": self.actor,
        }
        payload.update(own)
        self.events.append((t, payload))



def case_story(
    cfg: SimConfig,
    commune: str,
    day: date,
    number: int,
    received: datetime,
    rng: random.Random,
) -> list[tuple[datetime, dict[str, Any]]]:
    """Every event of one case (received at `received`), drawn from `rng`."""
    rates, hol = cfg.rates, cfg.holidays
    province = cfg.provinces.get(commune, "00")
    suffix = "" if cfg.seed == DEFAULT_SEED else f".{cfg.seed}"
    case_id = f"H{province}.{commune}-{day:%y%m%d}-{number:04d}{suffix}"
    field_name = pick(rng, FIELD_TABLE)
    _, dmin, dmax, p_supp, p_pause = FIELD_MIX[field_name]
    channel = pick(rng, CHANNEL_TABLE)
    staff = rng.randint(1, STAFF_PER_COMMUNE)
    case = _Case(
        commune=commune,
        case_id=case_id,
        id_prefix=f"sim{cfg.seed}-{commune}-{day:%y%m%d}-{number:04d}",
        field=field_name,
        procedure=rng.choice(PROCEDURES[field_name]),
        actor=f"cb-{staff:03d}",
        events=[],
    )
    days = rng.randint(dmin, dmax)
    due = appointment(day, days, received, hol)
    case.add(received, "received", channel=channel, due_at=local_text(due))
    t = received

    # A wait (supplement or pause) early in the processing.
    roll = rng.random()
    p_supp *= rates.supplement_scale
    p_pause *= rates.pause_scale
    if roll < p_supp + p_pause:
        kind = "supplement" if roll < p_supp else "pause"
        span = max(0, (due.date() - t.date()).days // 3)
        start = office_time_after(t, rng, hol, spread_days=min(span, 3))
        if start >= due:  # asked on the due day: still in time, the clock stops
            start = max(t + timedelta(minutes=10), due - timedelta(minutes=30))
        if kind == "supplement":
            case.add(start, "supplement_requested")
        else:
            case.add(start, "paused", reason=rng.choice(("xac_minh", "cho_y_kien", "khac")))
        if kind == "supplement" and rng.random() < rates.supplement_never_returned:
            if rng.random() < 0.5:  # gives up after a while
                case.add(office_time_after(start, rng, hol, spread_days=30), "withdrawn")
            return case.events
        back = office_time_after(start, rng, hol, spread_days=10)
        if back <= start:
            back = start + timedelta(hours=1)
        if kind == "supplement" and rng.random() < rates.supplement_new_due:
            due = appointment(back.date(), days, back, hol)
            case.add(back, "supplement_received", due_at=local_text(due))
        else:
            due = due + (back - start)
            case.add(back, "supplement_received" if kind == "supplement" else "resumed")
        t = back

    # How it ends.
    roll = rng.random()
    if roll < rates.withdrawn:
        case.add(office_time_after(t, rng, hol, spread_days=max(0, days // 2)), "withdrawn")
        return case.events
    if roll < rates.withdrawn + rates.returned:
        end = office_time_after(t, rng, hol, spread_days=max(0, days // 2))
        if end >= due:
            end = max(t + timedelta(minutes=1), due - timedelta(minutes=1))
        case.add(end, "returned", reason=rng.choice(("khong_du_dieu_kien", "sai_tham_quyen")))
        return case.events

    result_channel = {"direct": "direct", "postal": "postal"}.get(channel, "online")
    roll = rng.random()
    stuck = roll < rates.stuck
    late = stuck or roll < rates.stuck + rates.late
    if late:
        overdue_at = max(due, t)
        if rng.random() < rates.overdue_notice_when_late:
            case.add(overdue_at + timedelta(minutes=rng.randint(1, 90)), "overdue")
        extra = rng.randint(40, 120) if stuck else rng.randint(1, 8)
        resolve = office_time_after(
            datetime.combine(add_working_days(overdue_at.date(), extra, hol), time(7), LOCAL_TZ),
            rng,
            hol,
        )
        if rng.random() < rates.apology_when_late:
            apology = office_time_after(overdue_at, rng, hol, spread_days=1)
            new_due = datetime.combine(add_working_days(resolve.date(), 1, hol), DUE_TIME, LOCAL_TZ)
            if apology >= resolve:
                apology = resolve - timedelta(minutes=30)
            case.add(apology, "apology_sent", new_due_at=local_text(new_due))
        case.add(resolve, "resolved", result_channel=result_channel)
        return case.events

    due_day = due.date()
    on_time = due_day <= t.date() or rng.random() < rates.on_time
    if on_time:
        lo = max(t, datetime.combine(due_day, time(0), LOCAL_TZ))
        resolve = office_time_after(lo, rng, hol)
        if resolve >= due or resolve.date() != due_day:
            resolve = max(t + timedelta(minutes=1), due - timedelta(minutes=rng.randint(1, 60)))
    else:
        span = max(0, _working_days_between(t.date(), due_day, hol) - 1)
        resolve = office_time_after(t, rng, hol, spread_days=span)
        if resolve.date() >= due_day:
            resolve = max(t + timedelta(minutes=1), due - timedelta(minutes=rng.randint(1, 60)))
    case.add(resolve, "resolved", result_channel=result_channel)
    return case.events


@lru_cache(maxsize=65536)
def _working_days_between(a: date, b: date, holidays: frozenset[date]) -> int:
    """Working days after `a` up to and including `b`."""
    n, day = 0, a
    while day < b:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            n += 1
    return n
