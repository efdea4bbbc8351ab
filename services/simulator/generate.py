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
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from shared.domain.timeutil import LOCAL_TZ

DEFAULT_SEED = 1

# Shares are relative weights; they need not sum to 1.
CHANNEL_MIX: dict[str, float] = {
    "direct": 0.36,
    "postal": 0.03,
    "online_partial": 0.34,
    "online_full": 0.27,
}

# field -> (share, min working days, max working days, supplement prob, pause prob)
FIELD_MIX: dict[str, tuple[float, int, int, float, float]] = {
    "chung_thuc": (0.45, 0, 1, 0.005, 0.0),
    "ho_tich": (0.28, 1, 3, 0.04, 0.005),
    "dat_dai": (0.06, 10, 30, 0.15, 0.05),
    "xay_dung": (0.02, 7, 15, 0.15, 0.03),
    "bao_tro_xa_hoi": (0.08, 5, 15, 0.06, 0.01),
    "nguoi_co_cong": (0.03, 5, 20, 0.05, 0.01),
    "other": (0.08, 1, 7, 0.03, 0.005),
}

# Illustrative procedure codes (mã TTHC) per field, in the national database's style.
PROCEDURES: dict[str, tuple[str, ...]] = {
    "chung_thuc": ("2.000815", "2.000843", "2.000884", "2.000913"),
    "ho_tich": ("1.001193", "1.000894", "1.000656", "1.004873", "2.000635"),
    "dat_dai": ("1.003003", "1.004227", "2.000889"),
    "xay_dung": ("1.009994", "1.010002"),
    "bao_tro_xa_hoi": ("1.001776", "2.000286", "1.001758"),
    "nguoi_co_cong": ("1.010805", "1.010822"),
    "other": ("1.003596", "2.001254", "1.000775"),
}

# Receipt weights by weekday (Monday = 0) and by hour of the day.
WEEKDAY_WEIGHT = (1.25, 1.05, 1.0, 1.0, 0.9, 0.3, 0.0)
HOUR_WEIGHT: dict[int, float] = {
    7: 0.6,  # from 07:30
    8: 1.6,
    9: 1.7,
    10: 1.3,
    11: 0.5,  # until 11:30
    13: 0.6,  # from 13:30
    14: 1.3,
    15: 1.2,
    16: 0.7,
}
SATURDAY_HOURS = (7, 8, 9, 10, 11)
# Office periods in minutes after midnight (for work done after receipt).
OFFICE = ((7 * 60 + 30, 11 * 60 + 30), (13 * 60 + 30, 17 * 60))
DUE_TIME = time(17, 0)
STAFF_PER_COMMUNE = 5

INVALID_KINDS = (
    "invalid_json",
    "missing_field",
    "bad_type",
    "unknown_event_type",
    "unknown_commune",
    "subject_mismatch",
    "bad_timestamp",
    "future_timestamp",
)


@dataclass(frozen=True, slots=True)
class Rates:
    """Probabilities of the story branches (per case unless said otherwise)."""

    withdrawn: float = 0.008
    returned: float = 0.015
    late: float = 0.012  # of resolved cases
    on_time: float = 0.2  # of resolved cases that are not late (the rest are early)
    apology_when_late: float = 0.75
    overdue_notice_when_late: float = 0.4
    stuck: float = 0.001  # open far beyond the due date (overdue at the end of the run)
    supplement_never_returned: float = 0.08  # of supplement requests
    supplement_new_due: float = 0.5  # of supplements handed in: a new appointment given
    supplement_scale: float = 1.0  # multiplies the per-field supplement probabilities
    pause_scale: float = 1.0  # multiplies the per-field pause probabilities


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. `start`..`end` are local dates, both inclusive.

    Only events with `occurred_at` before both `(end + 1 day) 00:00` local and `now`
    are produced: cases still running then stay open.
    """

    communes: tuple[str, ...]
    start: date
    end: date
    now: datetime
    seed: int = DEFAULT_SEED
    cases_per_day: float = 8.0  # per commune, on an ordinary weekday
    holidays: frozenset[date] = frozenset()
    rates: Rates = field(default_factory=Rates)
    duplicates: float = 0.0  # share of events re-sent once more, a little later
    reorder: float = 0.0  # share of events published late, after some later events
    invalid: float = 0.0  # share of extra invalid messages
    provinces: dict[str, str] = field(default_factory=dict)  # commune -> province code

    def __post_init__(self) -> None:
        if not self.communes:
            raise ValueError("at least one commune is needed")
        if self.end < self.start:
            raise ValueError("the end date is before the start date")
        if self.now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        for name in ("duplicates", "reorder", "invalid"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.cases_per_day < 0:
            raise ValueError("cases_per_day must not be negative")


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message to publish.

    `kind`: `event` (a valid event, first sending), `duplicate` (the same event again),
    or `invalid:<reason>` (a deliberately broken message; `payload` may then be None and
    `raw` holds the bytes). `reordered` marks an event published after later ones.
    """

    subject: str
    payload: dict[str, Any] | None
    msg_id: str | None
    kind: str = "event"
    raw: bytes | None = None
    reordered: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.kind.startswith("invalid:")


# ---------------------------------------------------------------- calendar helpers


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


@lru_cache(maxsize=65536)
def add_working_days(day: date, n: int, holidays: frozenset[date]) -> date:
    """The `n`-th working day after `day` (n = 0: `day` itself, or the next working day)."""
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            n -= 1
    return day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def office_time_after(
    t: datetime, rng: random.Random, holidays: frozenset[date], spread_days: int = 0
) -> datetime:
    """A random office-hours instant after `t`: on `t`'s working day if time remains,
    `spread_days` working days later at most, never before `t`."""
    day = t.date()
    offset = rng.randint(0, spread_days) if spread_days > 0 else 0
    target = add_working_days(day, offset, holidays) if offset else day
    for _ in range(400):
        if is_working_day(target, holidays):
            # seconds after midnight at which the work may happen
            lo = t.hour * 3600 + t.minute * 60 + t.second + 300 if target == day else 0
            slots = [(max(a * 60, lo), b * 60) for a, b in OFFICE if max(a * 60, lo) < b * 60]
            if slots:
                total = sum(b - a for a, b in slots)
                pick = rng.randrange(total)
                for a, b in slots:
                    if pick < b - a:
                        return _midnight(target) + timedelta(seconds=a + pick)
                    pick -= b - a
        target += timedelta(days=1)
    raise RuntimeError("no office time found")  # pragma: no cover - 400 days of holidays


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:  # normal approximation, fine for counts this large
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _cumulative(weights: dict[str, float]) -> tuple[list[str], list[float]]:
    keys, cum, total = list(weights), [], 0.0
    for key in keys:
        total += weights[key]
        cum.append(total)
    return keys, cum


_FIELDS = _cumulative({k: v[0] for k, v in FIELD_MIX.items()})
_CHANNELS = _cumulative(CHANNEL_MIX)


def _pick(rng: random.Random, table: tuple[list[str], list[float]]) -> str:
    return rng.choices(table[0], cum_weights=table[1])[0]


def _fmt(t: datetime) -> str:
    if t.tzinfo is not LOCAL_TZ or t.microsecond:
        t = t.astimezone(LOCAL_TZ).replace(microsecond=0)
    return t.isoformat()


def _due(day: date, days: int, received: datetime, holidays: frozenset[date]) -> datetime:
    """The appointment: 17:00 of the `days`-th working day; same-day work received late in
    the afternoon is promised for the next working morning."""
    if days == 0 and received.time() >= time(16, 0):
        return datetime.combine(add_working_days(day, 1, holidays), time(10, 0), LOCAL_TZ)
    return datetime.combine(add_working_days(day, days, holidays), DUE_TIME, LOCAL_TZ)


# ---------------------------------------------------------------- one case's story


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
            "occurred_at": _fmt(t),
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
    field_name = _pick(rng, _FIELDS)
    _, dmin, dmax, p_supp, p_pause = FIELD_MIX[field_name]
    channel = _pick(rng, _CHANNELS)
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
    due = _due(day, days, received, hol)
    case.add(received, "received", channel=channel, due_at=_fmt(due))
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
            due = _due(back.date(), days, back, hol)
            case.add(back, "supplement_received", due_at=_fmt(due))
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
            case.add(apology, "apology_sent", new_due_at=_fmt(new_due))
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


# ---------------------------------------------------------------- receipts of a day


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
    count = _poisson(rng, cfg.cases_per_day * weight)
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
        payload["occurred_at"] = _fmt(cfg.now + timedelta(days=1))
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
