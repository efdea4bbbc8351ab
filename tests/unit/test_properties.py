"""Property-based tests of the domain core: figures are a pure function of the event set.

Random case stories (several cases in two communes, every event type, instants on a
coarse grid so ties and period boundaries are frequent, random due dates, events before
the received, orphans) are folded and their figures computed for many periods in both
calendars.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.case import CaseSummary, fold_case
from shared.domain.events import CHANNELS, CaseEvent, EventType
from shared.domain.figures import (
    COUNT_KEYS,
    Figures,
    balance_holds,
    compute_figures,
    empty_counts,
    sum_figures,
    with_rates,
)
from shared.domain.periods import Period, parse_period
from shared.domain.timeutil import local_midnight
from tests.kits.domain import HOUR, MINUTE

T0 = local_midnight(date(2023, 12, 1))  # stories run from 1 Dec 2023 for about 130 days
STEP = 6 * HOUR  # a coarse grid: ties and local midnights are frequent
SLOTS = 130 * 4
FAR_FUTURE = local_midnight(date(2100, 1, 1))
JITTER = [0, 0, 0, 0, 1, -1, MINUTE]

PERIODS: list[Period] = [
    parse_period(label, calendar)
    for calendar in ("decree09", "calendar")
    for label in (
        [f"2024-M{m:02d}" for m in range(1, 6)]
        + ["2024-Q1", "2024-Q2", "2024-H1", "2024-9M", "2024", "2023-M12"]
    )
] + [parse_period("2024-02-29..2024-03-14"), parse_period("2023-11-30..2024-12-31")]

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instants(draw: st.DrawFn) -> int:
    return T0 + draw(st.integers(0, SLOTS)) * STEP + draw(st.sampled_from(JITTER))


# Local midnights starting the months of both calendars (the 1st and the 15th).
BOUNDARIES = sorted(
    local_midnight(date(y, m, day))
    for y, m in [(2023, 11), (2023, 12)] + [(2024, m) for m in range(1, 7)]
    for day in (1, 15)
)
EVENT_TYPES = [t.value for t in EventType]  # "received" first: codes shrink towards it
PREFIXES = ["", "a", "b", "Z", "e-"]
FIELDS = [None, "dat_dai", "xay_dung", "ho_tich", None]


class Digits:
    """Decode one drawn integer into several small choices (one draw per event is fast)."""

    def __init__(self, code: int) -> None:
        self.code = code

    def take(self, n: int) -> int:
        self.code, digit = divmod(self.code, n)
        return digit


def make_event(
    n: int, case_id: str, commune: str, field: str | None, code: int, cursor: int | None
) -> CaseEvent:
    """An event from a drawn code; with a cursor, it happens a few hours or days after it."""
    d = Digits(code)
    event_type = EVENT_TYPES[d.take(len(EVENT_TYPES))]
    occurred_at = T0 + d.take(SLOTS + 1) * STEP + JITTER[d.take(len(JITTER))]
    prefix = PREFIXES[d.take(len(PREFIXES))]
    channel = CHANNELS[d.take(len(CHANNELS))]
    due = T0 + d.take(SLOTS + 1) * STEP + JITTER[d.take(len(JITTER))]
    has_due = d.take(2) == 0
    has_field = d.take(2) == 0
    if cursor is not None:  # a story told in order: small steps, dues a few days ahead
        occurred_at = cursor + d.take(13) * STEP + JITTER[d.take(len(JITTER))]
        due = occurred_at + d.take(41) * STEP - 2 * STEP + JITTER[d.take(len(JITTER))]
    if d.take(4) == 0:  # 1 in 4: on (or 1 µs around) the next period boundary
        occurred_at = next((b for b in BOUNDARIES if b >= occurred_at), occurred_at)
        occurred_at += JITTER[d.take(len(JITTER))]
    return CaseEvent(
        event_id=f"{prefix}{n}",
        event_type=event_type,
        case_id=case_id,
        commune_code=commune,
        occurred_at=occurred_at,
        channel=channel if event_type == "received" else None,
        due_at=due
        if event_type == "received"
        or (event_type in ("supplement_received", "resumed") and has_due)
        else None,
        new_due_at=due if event_type == "apology_sent" else None,
        field=field if has_field else None,
    )


CODE = st.integers(0, 2**60)
NOT_RECEIVED = [t for t in EVENT_TYPES if t != "received"]


@st.composite
def stories(draw: st.DrawFn) -> list[CaseEvent]:
    """Events of 1..6 cases, all event types, incl. orphans, second receiveds, events
    before the received or after the end; half the cases are told roughly in order."""
    events: list[CaseEvent] = []
    n = 0
    for c in range(draw(st.integers(1, 6))):
        d = Digits(draw(st.integers(0, 9999)))
        commune = ["16096", "16099"][d.take(2)]
        field = FIELDS[d.take(len(FIELDS))]
        in_order = d.take(2) == 0
        codes = draw(st.lists(CODE, max_size=8))
        if d.take(10) > 0:  # 9 cases in 10 have a received
            codes.insert(0, draw(CODE) // len(EVENT_TYPES) * len(EVENT_TYPES))
        cursor = T0 + d.take(SLOTS // 2) * STEP if in_order else None
        for code in codes:
            n += 1
            event = make_event(n, f"C{c}", commune, field, code, cursor)
            if cursor is not None:
                cursor = event.occurred_at
            events.append(event)
    return events


def fold_all(events: Iterable[CaseEvent]) -> list[CaseSummary]:
    """Group by (commune, case) and fold each case."""
    groups: dict[tuple[str, str], list[CaseEvent]] = defaultdict(list)
    for e in events:
        groups[e.case_key].append(e)
    return [fold_case(g) for g in groups.values()]


def all_figures(events: Iterable[CaseEvent], now: int = FAR_FUTURE) -> list[Figures]:
    """The figures of every test period, asked at `now`."""
    cases = fold_all(events)
    return [compute_figures(cases, p.start_instant, p.end_instant, now) for p in PERIODS]


nows = st.one_of(st.just(FAR_FUTURE), instants())


# --- figures are a function of the set of events ----------------------------------------


@SETTINGS
@given(stories(), st.randoms(use_true_random=False), nows)
def test_figures_do_not_change_under_any_permutation(
    events: list[CaseEvent], rnd, now: int
) -> None:
    """Any arrival order gives the same figures for every period."""
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert all_figures(shuffled, now) == all_figures(events, now)


@SETTINGS
@given(stories(), st.data())
def test_figures_do_not_change_under_duplicate_deliveries(events: list[CaseEvent], data) -> None:
    """Each event delivered any number of times, anywhere, gives the same figures."""
    if not events:
        return
    copies = data.draw(st.lists(st.sampled_from(events), max_size=3 * len(events)))
    delivered = data.draw(st.permutations(events + copies))
    assert all_figures(delivered) == all_figures(events)


@SETTINGS
@given(stories(), st.data())
def test_figures_do_not_change_under_crash_and_replay(events: list[CaseEvent], data) -> None:
    """Fold a first part, crash, then replay from an earlier point: the union folds like all.

    The stored part and the replayed part overlap (redelivery after the crash); summaries
    of the partial fold are discarded and the union is folded again from the stored events.
    """
    k = data.draw(st.integers(0, len(events)))
    j = data.draw(st.integers(0, k))
    stored = events[:k]
    fold_all(stored)  # the state before the crash
    replayed = events[j:]
    assert all_figures(stored + replayed) == all_figures(events)
    # Two independent halves merged at case level also give the same figures.
    first, second = events[: len(events) // 2], events[len(events) // 2 :]
    assert all_figures(second + first) == all_figures(events)


@FAST
@given(stories(), nows)
def test_figures_are_additive_over_cases(events: list[CaseEvent], now: int) -> None:
    """The figures of all cases are the sums of each case's figures (what running counters add)."""
    cases = fold_all(events)
    for p in PERIODS[:6]:
        whole = compute_figures(cases, p.start_instant, p.end_instant, now)
        parts = [compute_figures([c], p.start_instant, p.end_instant, now) for c in cases]
        assert sum_figures(parts) == whole


@FAST
@given(stories(), instants())
def test_events_at_or_after_now_do_not_change_figures_asked_now(
    events: list[CaseEvent], now: int
) -> None:
    """Figures asked at `now` depend only on events that occurred before `now`."""
    known = [e for e in events if e.occurred_at < now]
    assert all_figures(events, now) == all_figures(known, now)


@FAST
@given(stories())
def test_later_events_do_not_change_a_past_period(events: list[CaseEvent]) -> None:
    """A period's figures do not move when events after its end are added."""
    cases_all = fold_all(events)
    for p in PERIODS:
        before = fold_all([e for e in events if e.occurred_at < p.end_instant])
        end = p.end_instant
        assert compute_figures(before, p.start_instant, end, FAR_FUTURE) == compute_figures(
            cases_all, p.start_instant, end, FAR_FUTURE
        ), p.label


# --- the invariants of the figures ------------------------------------------------------


def check_invariants(f: Figures) -> None:
    def n(key: str) -> int:
        value = f[key]
        assert isinstance(value, int) and value >= 0, key
        return value

    assert balance_holds(f)
    assert n("carried_over") + n("received_total") == (
        n("resolved_total") + n("returned") + n("withdrawn") + n("open_at_end")
    )
    assert sum(n(f"received_{c}") for c in CHANNELS) == n("received_total")
    assert n("resolved_early") + n("resolved_on_time") + n("resolved_late") == n("resolved_total")
    assert sum(n(f"resolved_in_time_{c}") for c in CHANNELS) == n("resolved_early") + n(
        "resolved_on_time"
    )
    assert n("resolved_in_time_land") + n("resolved_in_time_construction") <= n(
        "resolved_early"
    ) + n("resolved_on_time")
    assert n("open_in_time_at_end") + n("open_overdue_at_end") == n("open_at_end")
    assert n("awaiting_supplement_at_end") + n("paused_at_end") <= n("open_at_end")
    assert n("apologized_cases") <= n("apologies_sent")
    assert n("resolved_late_without_apology") <= n("resolved_late")
    assert n("open_overdue_without_apology_at_end") <= n("open_overdue_at_end")
    assert f == with_rates({k: f[k] for k in COUNT_KEYS})  # rates follow the counts


@SETTINGS
@given(stories(), nows)
def test_invariants_hold_for_every_period_in_both_calendars(
    events: list[CaseEvent], now: int
) -> None:
    """Balance, channel sums, lateness sums and the open split hold in every period."""
    for f in all_figures(events, now):
        check_invariants(f)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[date, date, date]:
    """Three local days a <= b < c around the stories."""
    first = date(2023, 11, 25)
    a = first + timedelta(days=draw(st.integers(0, 140)))
    b = a + timedelta(days=draw(st.integers(0, 60)))
    c = b + timedelta(days=draw(st.integers(1, 60)))
    return a, b, c


@SETTINGS
@given(stories(), ranges(), nows)
def test_random_ranges_balance_and_chain(
    events: list[CaseEvent], days: tuple[date, date, date], now: int
) -> None:
    """[a, b] then [b+1, c]: each balances, the first's open_at_end is the second's carried_over,
    and the flows of [a, c] are the sums of the two."""
    a, b, c = days
    cases = fold_all(events)
    p1 = parse_period(f"{a}..{b}")
    p2 = parse_period(f"{b + timedelta(days=1)}..{c}")
    whole = parse_period(f"{a}..{c}")
    f1, f2, fw = (
        compute_figures(cases, p.start_instant, p.end_instant, FAR_FUTURE) for p in (p1, p2, whole)
    )
    for f in (f1, f2, fw):
        check_invariants(f)
    assert f1["open_at_end"] == f2["carried_over"]
    assert fw["carried_over"] == f1["carried_over"]
    flows = (
        "received_total",
        "resolved_total",
        "resolved_late",
        "returned",
        "withdrawn",
        "became_overdue",
        "apologies_sent",
    )
    for key in flows:
        assert fw[key] == f1[key] + f2[key], key
    for key in (
        "open_at_end",
        "open_overdue_at_end",
        "awaiting_supplement_at_end",
        "paused_at_end",
    ):
        assert fw[key] == f2[key], key
    # Asked at a random `now`, the running figures still balance.
    for p in (p1, p2, whole):
        check_invariants(compute_figures(cases, p.start_instant, p.end_instant, now))


@SETTINGS
@given(stories(), st.sampled_from(["decree09", "calendar"]))
def test_consecutive_labelled_periods_chain(events: list[CaseEvent], calendar: str) -> None:
    """open_at_end of each month / quarter / half is carried_over of the next one."""
    cases = fold_all(events)
    chains = [
        ["2023-M12"] + [f"2024-M{m:02d}" for m in range(1, 7)],
        ["2024-Q1", "2024-Q2", "2024-Q3"],
        ["2024-H1", "2024-H2", "2025-H1"],
        ["2024", "2025"],
    ]
    for chain in chains:
        figs = []
        for label in chain:
            p = parse_period(label, calendar)
            figs.append(compute_figures(cases, p.start_instant, p.end_instant, FAR_FUTURE))
        for prev, nxt in itertools.pairwise(figs):
            assert prev["open_at_end"] == nxt["carried_over"], chain
    # And the months of Q1 add up to the quarter.
    q1 = parse_period("2024-Q1", calendar)
    fq = compute_figures(cases, q1.start_instant, q1.end_instant, FAR_FUTURE)
    months = [parse_period(f"2024-M{m:02d}", calendar) for m in (1, 2, 3)]
    fm = [compute_figures(cases, p.start_instant, p.end_instant, FAR_FUTURE) for p in months]
    assert fq["carried_over"] == fm[0]["carried_over"]
    for key in ("received_total", "resolved_total", "became_overdue", "apologies_sent"):
        assert fq[key] == sum(f[key] for f in fm), key


# --- the fold itself --------------------------------------------------------------------


@SETTINGS
@given(stories())
def test_case_summaries_are_consistent(events: list[CaseEvent]) -> None:
    """Each summary is internally consistent with the rules of a case's story."""
    for s in fold_all(events):
        if s.is_orphan:
            assert [a.kind for a in s.anomalies] == ["orphan"]
            assert s.overdue_at is None and s.ended_at is None and s.apologies == ()
            continue
        assert s.channel in CHANNELS
        assert s.overdue_at is None or s.overdue_at >= s.received_at
        if s.ended_at is not None:
            assert s.ended_at >= s.received_at
            assert s.overdue_at is None or s.overdue_at <= s.ended_at
            assert all(a <= s.ended_at for a in s.apologies)
            assert (s.lateness is not None) == (s.end_kind == "resolved")
            if s.end_kind == "resolved":
                assert (s.lateness == "late") == (s.overdue_at is not None)
        else:
            assert s.lateness is None
        previous_end = s.received_at
        for i, w in enumerate(s.waits):
            assert previous_end <= w.start
            if w.end is None:
                assert i == len(s.waits) - 1 and s.ended_at is None
            else:
                assert w.start <= w.end
                previous_end = w.end
        if s.ended_at is None and not (s.waits and s.waits[-1].end is None):
            assert s.overdue_at is not None  # an open, running case always has an overdue instant
        assert all(a >= s.received_at for a in s.apologies)


@FAST
@given(stories())
def test_empty_period_of_no_events_is_zero(events: list[CaseEvent]) -> None:
    """Cases only give zeros for a period long before any of them."""
    p = parse_period("2020-M01", "calendar")
    f = compute_figures(fold_all(events), p.start_instant, p.end_instant, FAR_FUTURE)
    assert {k: f[k] for k in COUNT_KEYS} == empty_counts()
