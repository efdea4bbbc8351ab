"""Realistic one-stop desk traffic: a pure, lazy, deterministic generator of case events.

Nothing here does I/O or reads the clock: communes, dates, `now` and the public holidays
come in as arguments. The same configuration (seed included) always gives the same
messages, in the same order, whatever `now` cuts off: each case's story is drawn from a
random stream seeded by `(seed, commune, day, case number)`, so a later `now` only adds
events at the tail and never changes the earlier ones.

How a day at a desk looks (magnitudes from communes' CCHC reports: about 1,100 to 3,200
dossiers a year per commune, 97-100% resolved early or on time, a handful late, each
late one with an apology letter "in principle"):

- Dossiers are received (tiếp nhận) in office hours: 07:30-11:30 and 13:30-17:00 Monday
  to Friday, with a morning peak; some on Saturday mornings; none at night, on Sundays
  or on public holidays.
- Channel mix: direct ~36%, postal (BCCI) ~3%, online partial ~34%, online full ~27%.
- Field mix with processing times in working days: chứng thực same day or the next, hộ tịch 1-3,
  đất đai 10-30, xây dựng 7-15, bảo trợ xã hội 5-15, người có công 5-20, other 1-7. The
  appointment (ngày hẹn trả) is 17:00 of the last working day (weekends and holidays
  skipped).
- Stories: supplement requests (more in land and construction), pauses, mostly early
  results, some on the due day, a few late (with an apology letter and a new appointment
  most of the time, sometimes without), the desk software's `overdue` notice now and
  then, returns and withdrawals.

"Unruly" mode adds what real networks and desk software do: the same event re-sent
(duplicates, same `event_id`), events published out of order, and optionally invalid
messages (for demonstrating rejection; those are the only messages that may carry a
future timestamp).

Memory stays small: days are generated one after the other, and only the pending events
of open cases are held (a heap ordered by time), so it scales to millions of events.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from services.simulator.office import (
    add_working_days,
    is_working_day,
    local_text,
    office_time_after,
    poisson,
)
from services.simulator.profile import (
    CHANNEL_MIX,
    DEFAULT_SEED,
    FIELD_MIX,
    HOUR_WEIGHT,
    INVALID_KINDS,
    PROCEDURES,
    SATURDAY_HOURS,
    WEEKDAY_WEIGHT,
    Rates,
    SimConfig,
    SimMessage,
)
from services.simulator.stories import case_story
from shared.domain.timeutil import LOCAL_TZ


def day_random(cfg: SimConfig, commune: str, day: date) -> random.Random:
    """The random stream of one commune's day: its receipts, then its cases' stories."""
    return random.Random(f"{cfg.seed}:{commune}:{day.isoformat()}")



def receipts_of_day(cfg: SimConfig, commune: str, day: date, rng: random.Random) -> list[datetime]:
    """Receipt instants of one commune's desk on one day, sorted."""
    if day in cfg.holidays:
        return []
    weight = WEEKDAY_WEIGHT[day.weekday()]
    if weight <= 0:
        return []
    count = poisson(rng, cfg.cases_per_day * weight)
    hours = SATURDAY_HOURS if day.weekday() == 5 else tuple(HOUR_WEIGHT)
    hour_weights = [HOUR_WEIGHT[h] for h in hours]
    out = []
    for hour in rng.choices(hours, weights=hour_weights, k=count):
        lo = 30 if hour in (7, 13) else 0
        hi = 30 if hour == 11 else 60
        out.append(
            datetime.combine(day, time(hour), LOCAL_TZ)
            + timedelta(minutes=rng.randrange(lo, hi), seconds=rng.randrange(60))
        )
    out.sort()
    return out


# ---------------------------------------------------------------- the stream


def valid_events(cfg: SimConfig) -> Iterator[dict]:
    """Every valid event of the simulation, once each, in `(occurred_at, event_id)` order."""
    cut = min(
        datetime.combine(cfg.end + timedelta(days=1), time(0), LOCAL_TZ),
        cfg.now.astimezone(LOCAL_TZ),
    )
    heap: list[tuple[datetime, str, dict]] = []
    day = cfg.start
    while day <= cfg.end:
        day_start = datetime.combine(day, time(0), LOCAL_TZ)
        if day_start >= cut:
            break
        while heap and heap[0][0] < day_start:
            yield heapq.heappop(heap)[2]
        for commune in cfg.communes:
            rng = day_random(cfg, commune, day)
            for number, received in enumerate(receipts_of_day(cfg, commune, day, rng), 1):
                for t, payload in case_story(cfg, commune, day, number, received, rng):
                    if t < cut:
                        heapq.heappush(heap, (t, payload["event_id"], payload))
        day += timedelta(days=1)
    while heap:
        yield heapq.heappop(heap)[2]


def _subject(payload: dict) -> str:
    return f"tthc.events.{payload['commune_code']}.{payload['event_type']}"


def invalid_message(
    kind: str, n: int, template: dict[str, Any], cfg: SimConfig, rng: random.Random
) -> SimMessage:
    """A deliberately broken message of one kind, built from a valid event's shape."""
    msg_id = f"sim{cfg.seed}-invalid-{n:06d}"
    payload = dict(template)
    payload["event_id"] = msg_id
    payload["case_id"] = f"{template['case_id']}-x{n}"
    subject = _subject(payload)
    raw: bytes | None = None
    if kind == "invalid_json":
        raw = b'{"event_id": "' + msg_id.encode() + b'", "event_type": "received", '
        payload = None  # type: ignore[assignment]
    elif kind == "missing_field":
        del payload[rng.choice(("case_id", "occurred_at", "commune_code"))]
    elif kind == "bad_type":
        payload["case_id"] = 12345
    elif kind == "unknown_event_type":
        payload["event_type"] = "approved"
        subject = _subject(payload)
    elif kind == "unknown_commune":
        payload["commune_code"] = "99999"
        subject = _subject(payload)
    elif kind == "subject_mismatch":
        other = "resolved" if payload["event_type"] != "resolved" else "received"
        subject = f"tthc.events.{payload['commune_code']}.{other}"
    elif kind == "bad_timestamp":
        payload["occurred_at"] = payload["occurred_at"][:19]  # no offset
    elif kind == "future_timestamp":
        payload["occurred_at"] = local_text(cfg.now + timedelta(days=1))
    else:  # pragma: no cover - guarded by INVALID_KINDS
        raise ValueError(kind)
    return SimMessage(subject, payload, msg_id, kind=f"invalid:{kind}", raw=raw)


def generate(cfg: SimConfig) -> Iterator[SimMessage]:
    """The messages to publish: every valid event, plus (unruly mode) duplicates, late
    (reordered) events and invalid messages."""
    rng = random.Random(f"{cfg.seed}:unruly")
    delayed: list[tuple[int, int, SimMessage]] = []  # (release index, tiebreak, message)
    index = 0  # messages emitted so far
    tiebreak = 0
    invalid_n = 0

    def release() -> Iterator[SimMessage]:
        nonlocal index
        while delayed and delayed[0][0] <= index:
            index += 1
            yield heapq.heappop(delayed)[2]

    for payload in valid_events(cfg):
        msg = SimMessage(_subject(payload), payload, payload["event_id"])
        if cfg.reorder and rng.random() < cfg.reorder:
            tiebreak += 1
            late = SimMessage(msg.subject, payload, msg.msg_id, reordered=True)
            heapq.heappush(delayed, (index + rng.randint(1, 50), tiebreak, late))
        else:
            index += 1
            yield msg
        if cfg.duplicates and rng.random() < cfg.duplicates:
            tiebreak += 1
            dup = SimMessage(msg.subject, payload, msg.msg_id, kind="duplicate")
            heapq.heappush(delayed, (index + rng.randint(0, 20), tiebreak, dup))
        if cfg.invalid and rng.random() < cfg.invalid:
            invalid_n += 1
            kind = INVALID_KINDS[(invalid_n - 1) % len(INVALID_KINDS)]
            index += 1
            yield invalid_message(kind, invalid_n, payload, cfg, rng)
        yield from release()
    while delayed:
        index += 1
        yield heapq.heappop(delayed)[2]


def take(messages: Iterable[SimMessage], limit: int | None) -> Iterator[SimMessage]:
    """At most `limit` messages (all when None)."""
    if limit is None:
        yield from messages
        return
    for i, msg in enumerate(messages):
        if i >= limit:
            return
        yield msg


__all__ = [
    "CHANNEL_MIX",
    "DEFAULT_SEED",
    "FIELD_MIX",
    "PROCEDURES",
    "WEEKDAY_WEIGHT",
    "Rates",
    "SimConfig",
    "SimMessage",
    "add_working_days",
    "case_story",
    "generate",
    "invalid_message",
    "is_working_day",
    "office_time_after",
    "receipts_of_day",
    "take",
    "valid_events",
]
