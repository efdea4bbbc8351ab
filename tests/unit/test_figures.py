"""The figures of a period (appendix.md): boundaries, every key, stocks, rates, sums."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pytest

from shared.domain.case import CaseSummary, fold_case
from shared.domain.events import CaseEvent
from shared.domain.figures import (
    COUNT_KEYS,
    FIGURE_KEYS,
    RATE_KEYS,
    REPORT_KINDS,
    anomaly_report,
    balance_holds,
    compute_figures,
    empty_counts,
    rate,
    sum_anomaly_reports,
    sum_figures,
    with_rates,
)
from shared.domain.periods import parse_period
from tests.kits.domain import ev, t

FAR_FUTURE = t("2100-01-01T00:00")


def cases_of(events: Iterable[CaseEvent]) -> list[CaseSummary]:
    """Group events by case and fold each case."""
    groups: dict[tuple[str, str], list[CaseEvent]] = defaultdict(list)
    for e in events:
        groups[e.case_key].append(e)
    return [fold_case(g) for g in groups.values()]


def figures(
    events: Iterable[CaseEvent], label: str, calendar: str = "decree09", now: int = FAR_FUTURE
) -> dict:
    """Figures of a labelled period over some events, asked at `now`."""
    p = parse_period(label, calendar)
    return compute_figures(cases_of(events), p.start_instant, p.end_instant, now)


def nonzero(figs: dict) -> dict:
    """Only the counts that are not 0 (rates left out)."""
    return {k: v for k, v in figs.items() if k in COUNT_KEYS and v}


def received(case: str, at: str, due: str, channel: str = "direct", **kw) -> CaseEvent:
    return ev(f"{case}-r", "received", at, case_id=case, due_at=due, channel=channel, **kw)


# --- boundaries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "in_q1", "in_q2"),
    [
        ("2024-03-14T23:59:59+07:00", 1, 0),
        ("2024-03-14T16:59:59.999999Z", 1, 0),
        ("2024-03-14T17:00:00Z", 0, 1),  # 15 Mar 00:00 local
        ("2024-03-15T00:00:00+07:00", 0, 1),
        ("2024-03-14T12:00:00-05:00", 0, 1),  # 17:00Z
        ("2023-12-14T17:00:00Z", 1, 0),  # 15 Dec 00:00 local: first instant of Q1
        ("2023-12-14T16:59:59Z", 0, 0),  # 14 Dec 23:59:59 local: the year before
    ],
)
def test_decree09_quarter_cut_off_at_local_midnight(at: str, in_q1: int, in_q2: int) -> None:
    """14 Mar 23:59 local is Q1, 15 Mar 00:00 local (17:00Z) is Q2 under Decree 09."""
    events = [received("A", at, "2024-06-30T17:00")]
    assert figures(events, "2024-Q1")["received_total"] == in_q1
    assert figures(events, "2024-Q2")["received_total"] == in_q2


@pytest.mark.parametrize(
    ("at", "month"),
    [
        ("2024-03-31T16:59:59Z", "2024-M03"),
        ("2024-03-31T17:00:00Z", "2024-M04"),
        ("2024-02-29T16:59:59Z", "2024-M02"),
        ("2024-02-29T17:00:00Z", "2024-M03"),
        ("2024-12-31T17:00:00Z", "2025-M01"),
    ],
)
def test_calendar_month_boundaries_with_utc_stamps(at: str, month: str) -> None:
    """Natural months turn at local midnight (17:00Z the day before)."""
    events = [received("A", at, "2025-06-30T17:00")]
    for label in ("2024-M02", "2024-M03", "2024-M04", "2025-M01"):
        expected = 1 if label == month else 0
        assert figures(events, label, "calendar")["received_total"] == expected, label


def test_resolved_at_the_period_end_instant_is_next_period() -> None:
    """A case resolved at 15 Mar 00:00 local is open at the end of Q1 and resolved in Q2."""
    events = [
        received("A", "2024-03-01T08:00", "2024-03-20T17:00"),
        ev("A-x", "resolved", "2024-03-14T17:00:00Z", case_id="A"),
    ]
    q1, q2 = figures(events, "2024-Q1"), figures(events, "2024-Q2")
    assert nonzero(q1) == {
        "received_total": 1,
        "received_direct": 1,
        "open_at_end": 1,
        "open_in_time_at_end": 1,
    }
    assert nonzero(q2) == {
        "carried_over": 1,
        "resolved_total": 1,
        "resolved_early": 1,
        "resolved_in_time_direct": 1,
    }


def test_due_at_the_period_end_instant_becomes_overdue_next_period() -> None:
    """Due exactly at 15 Mar 00:00 local: in time at the end of Q1, overdue in Q2."""
    events = [received("A", "2024-03-01T08:00", "2024-03-15T00:00")]
    q1, q2 = figures(events, "2024-Q1"), figures(events, "2024-Q2")
    assert (q1["open_in_time_at_end"], q1["open_overdue_at_end"], q1["became_overdue"]) == (1, 0, 0)
    assert (q2["open_in_time_at_end"], q2["open_overdue_at_end"], q2["became_overdue"]) == (0, 1, 1)
    assert q2["open_overdue_without_apology_at_end"] == 1


# --- every key, hand computed -----------------------------------------------------------


def march_story() -> list[CaseEvent]:
    """Sixteen cases around calendar March 2024 (see the expectations in the test)."""
    return [
        # A: carried over, overdue in Feb, apology in March, resolved late in March
        received("A", "2024-02-20T08:00", "2024-02-28T17:00"),
        ev("A-a", "apology_sent", "2024-03-05T08:00", case_id="A"),
        ev("A-x", "resolved", "2024-03-10T08:00", case_id="A"),
        # B: carried over, land, postal, resolved on its due day: on time
        received("B", "2024-02-25T08:00", "2024-03-04T17:00", "postal", field="dat_dai"),
        ev("B-x", "resolved", "2024-03-04T10:00", case_id="B"),
        # C: construction, online_partial, resolved early
        received("C", "2024-03-02T08:00", "2024-03-10T17:00", "online_partial", field="xay_dung"),
        ev("C-x", "resolved", "2024-03-08T08:00", case_id="C"),
        # D: online_full, overdue from its due date (no event), resolved late, no apology
        received("D", "2024-03-03T08:00", "2024-03-05T17:00", "online_full"),
        ev("D-x", "resolved", "2024-03-07T08:00", case_id="D"),
        # E: returned;  F: withdrawn
        received("E", "2024-03-04T08:00", "2024-03-20T17:00"),
        ev("E-x", "returned", "2024-03-06T08:00", case_id="E"),
        received("F", "2024-03-05T08:00", "2024-03-20T17:00", "online_full"),
        ev("F-x", "withdrawn", "2024-03-06T08:00", case_id="F"),
        # G: open, overdue from its due date, no apology
        received("G", "2024-03-06T08:00", "2024-03-15T17:00"),
        # H: open, made overdue by an overdue notice before its due, apologised
        received("H", "2024-03-07T08:00", "2024-03-12T17:00"),
        ev("H-o", "overdue", "2024-03-11T08:00", case_id="H"),
        ev("H-a", "apology_sent", "2024-03-12T08:00", case_id="H"),
        # I: postal, awaiting a supplement since before its due: in time
        received("I", "2024-03-08T08:00", "2024-03-25T17:00", "postal"),
        ev("I-s", "supplement_requested", "2024-03-20T08:00", case_id="I"),
        # J: paused at the end
        received("J", "2024-03-09T08:00", "2024-04-10T17:00"),
        ev("J-p", "paused", "2024-03-30T08:00", case_id="J"),
        # K: open in time
        received("K", "2024-03-10T08:00", "2024-04-20T17:00"),
        # L: ended before March;  M: received after March;  N: an orphan
        received("L", "2024-01-10T08:00", "2024-01-20T17:00"),
        ev("L-x", "withdrawn", "2024-02-01T08:00", case_id="L"),
        received("M", "2024-04-02T08:00", "2024-04-20T17:00"),
        ev("N-x", "resolved", "2024-03-10T08:00", case_id="N"),
        # O: carried over, open in time
        received("O", "2024-02-10T08:00", "2024-05-01T17:00"),
        # P: apology before overdue (anomaly, the letter counts), overdue 30 Mar, open
        received("P", "2024-03-11T08:00", "2024-03-30T17:00"),
        ev("P-a", "apology_sent", "2024-03-12T08:00", case_id="P"),
    ]


MARCH_EXPECTED = {
    "carried_over": 3,  # A B O
    "received_total": 10,  # C D E F G H I J K P
    "received_direct": 6,  # E G H J K P
    "received_postal": 1,  # I
    "received_online_partial": 1,  # C
    "received_online_full": 2,  # D F
    "resolved_total": 4,  # A B C D
    "resolved_early": 1,  # C
    "resolved_on_time": 1,  # B
    "resolved_late": 2,  # A D
    "resolved_in_time_direct": 0,
    "resolved_in_time_postal": 1,  # B
    "resolved_in_time_online_partial": 1,  # C
    "resolved_in_time_online_full": 0,
    "resolved_in_time_land": 1,  # B
    "resolved_in_time_construction": 1,  # C
    "returned": 1,  # E
    "withdrawn": 1,  # F
    "open_at_end": 7,  # G H I J K O P
    "open_in_time_at_end": 4,  # I J K O
    "open_overdue_at_end": 3,  # G H P
    "awaiting_supplement_at_end": 1,  # I
    "paused_at_end": 1,  # J
    "became_overdue": 4,  # D G H P (A was overdue in February)
    "apologies_sent": 3,  # A H P
    "apologized_cases": 3,
    "resolved_late_without_apology": 1,  # D
    "open_overdue_without_apology_at_end": 1,  # G
    "on_time_rate": 50.0,  # 2 / 4
    "online_rate": 30.0,  # 3 / 10
}


def test_every_figure_key_hand_computed() -> None:
    """Calendar March 2024 over sixteen hand-built cases gives the hand-computed figures."""
    figs = figures(march_story(), "2024-M03", "calendar")
    assert set(figs) == set(FIGURE_KEYS) == set(MARCH_EXPECTED)
    assert figs == MARCH_EXPECTED
    assert balance_holds(figs)


def test_next_period_carries_over_the_open_cases() -> None:
    """April carries over March's 7 open cases; its own flows are hand computed."""
    figs = figures(march_story(), "2024-M04", "calendar")
    assert figs["carried_over"] == MARCH_EXPECTED["open_at_end"]
    assert nonzero(figs) == {
        "carried_over": 7,  # G H I J K O P
        "received_total": 1,  # M
        "received_direct": 1,
        "open_at_end": 8,
        "open_in_time_at_end": 3,  # I J (waiting) O (due 1 May)
        "open_overdue_at_end": 5,  # G H P + K M (due 20 Apr)
        "became_overdue": 2,  # K M
        "open_overdue_without_apology_at_end": 3,  # G K M
        "awaiting_supplement_at_end": 1,  # I
        "paused_at_end": 1,  # J
    }
    assert figs["on_time_rate"] is None
    assert figs["online_rate"] == 0.0


def test_the_quarter_is_the_sum_of_flows_and_the_last_stocks() -> None:
    """Calendar Q1: flows of Jan..Mar, stocks at the end of March, carried from December."""
    events = march_story()
    q1 = figures(events, "2024-Q1", "calendar")
    months = [figures(events, f"2024-M0{m}", "calendar") for m in (1, 2, 3)]
    for key in ("received_total", "resolved_total", "withdrawn", "apologies_sent"):
        assert q1[key] == sum(m[key] for m in months), key
    for key in ("open_at_end", "open_overdue_at_end", "paused_at_end"):
        assert q1[key] == months[-1][key], key
    assert q1["carried_over"] == months[0]["carried_over"] == 0
    assert q1["received_total"] == 14  # A B L O + the ten of March
    assert q1["withdrawn"] == 2  # L F


def test_apology_before_the_period_makes_the_case_apologised_but_not_counted_again() -> None:
    """An apology letter in an earlier period avoids 'without apology', is counted there only."""
    events = [
        received("A", "2024-02-01T08:00", "2024-02-10T17:00"),
        ev("A-a", "apology_sent", "2024-02-20T08:00", case_id="A"),
        ev("A-x", "resolved", "2024-03-05T08:00", case_id="A"),
    ]
    feb, mar = figures(events, "2024-M02", "calendar"), figures(events, "2024-M03", "calendar")
    assert (feb["apologies_sent"], feb["apologized_cases"]) == (1, 1)
    assert feb["open_overdue_without_apology_at_end"] == 0
    assert (mar["apologies_sent"], mar["apologized_cases"]) == (0, 0)
    assert (mar["resolved_late"], mar["resolved_late_without_apology"]) == (1, 0)


def test_two_letters_for_one_case() -> None:
    """apologies_sent counts letters, apologized_cases distinct cases."""
    events = [
        received("A", "2024-03-01T08:00", "2024-03-05T17:00"),
        ev("A-a1", "apology_sent", "2024-03-06T08:00", case_id="A"),
        ev("A-a2", "apology_sent", "2024-03-09T08:00", case_id="A"),
    ]
    figs = figures(events, "2024-M03", "calendar")
    assert (figs["apologies_sent"], figs["apologized_cases"]) == (2, 1)


def test_orphan_counts_nowhere_until_its_received_arrives() -> None:
    """An orphan adds nothing; with its received it is an ordinary case."""
    later = [ev("A-x", "resolved", "2024-03-06T08:00", case_id="A")]
    assert nonzero(figures(later, "2024-M03", "calendar")) == {}
    full = [*later, received("A", "2024-03-01T08:00", "2024-03-05T17:00", "postal")]
    assert nonzero(figures(full, "2024-M03", "calendar")) == {
        "received_total": 1,
        "received_postal": 1,
        "resolved_total": 1,
        "resolved_late": 1,
        "became_overdue": 1,
        "resolved_late_without_apology": 1,
    }


def test_anomalies_change_no_figure() -> None:
    """Second received, events after the end, unmatched resumes add nothing to figures."""
    base = [
        received("A", "2024-03-01T08:00", "2024-03-05T17:00"),
        ev("A-x", "resolved", "2024-03-04T08:00", case_id="A"),
    ]
    noise = [
        ev("A-r2", "received", "2024-03-02T08:00", case_id="A", due_at="2024-03-30T17:00"),
        ev("A-z", "resumed", "2024-03-02T09:00", case_id="A"),
        ev("A-y", "withdrawn", "2024-03-10T08:00", case_id="A"),
        ev("A-w", "apology_sent", "2024-03-11T08:00", case_id="A"),
    ]
    assert figures(base + noise, "2024-M03", "calendar") == figures(base, "2024-M03", "calendar")


# --- at end = now for a running period -------------------------------------------------


def test_running_period_takes_stocks_now() -> None:
    """Asked at 20 Mar 10:00: a case due later today is not overdue yet; one due at 09:00 is."""
    events = [
        received("A", "2024-03-18T08:00", "2024-03-20T17:00"),
        received("B", "2024-03-18T08:00", "2024-03-20T09:00"),
        received("C", "2024-03-18T08:00", "2024-03-20T10:00"),  # exactly now: not yet
    ]
    now = t("2024-03-20T10:00")
    figs = figures(events, "2024-M03", "calendar", now=now)
    assert figs["open_at_end"] == 3
    assert figs["open_overdue_at_end"] == 1
    assert figs["open_in_time_at_end"] == 2
    assert figs["became_overdue"] == 1
    later = figures(events, "2024-M03", "calendar", now=t("2024-03-20T18:00"))
    assert (later["open_overdue_at_end"], later["became_overdue"]) == (3, 3)
    ended = figures(events, "2024-M03", "calendar", now=t("2024-04-05T00:00"))
    assert ended == later  # after the end, the period's figures no longer move


def test_running_period_counts_what_happened_until_now() -> None:
    """A case received exactly at `now` is not yet in the figures (flows up to, excluding, now)."""
    events = [received("A", "2024-03-20T10:00", "2024-03-25T17:00")]
    assert figures(events, "2024-M03", "calendar", now=t("2024-03-20T10:00"))["received_total"] == 0
    assert figures(events, "2024-M03", "calendar", now=t("2024-03-20T10:01"))["received_total"] == 1


def test_period_not_begun_yet_has_no_flows_and_stocks_now() -> None:
    """A future period: nothing received or resolved in it, open cases counted as of now."""
    events = [received("A", "2024-03-18T08:00", "2024-03-20T09:00")]
    figs = figures(events, "2024-M05", "calendar", now=t("2024-04-01T00:00"))
    assert nonzero(figs) == {
        "carried_over": 1,
        "open_at_end": 1,
        "open_overdue_at_end": 1,
        "open_overdue_without_apology_at_end": 1,
    }
    assert balance_holds(figs)


def test_waiting_across_the_end_with_a_passed_due_stays_in_time() -> None:
    """A supplement asked before the due and still awaited at the end: open in time, not overdue."""
    events = [
        received("A", "2024-03-01T08:00", "2024-03-05T17:00"),
        ev("A-s", "supplement_requested", "2024-03-04T08:00", case_id="A"),
        ev("A-t", "supplement_received", "2024-04-10T08:00", case_id="A"),
    ]
    mar, apr = figures(events, "2024-M03", "calendar"), figures(events, "2024-M04", "calendar")
    assert (mar["open_in_time_at_end"], mar["awaiting_supplement_at_end"]) == (1, 1)
    assert mar["became_overdue"] == 0
    # resumed 10 Apr 08:00 with 1 day 9 h left: overdue 11 Apr 17:00
    assert (
        apr["became_overdue"],
        apr["open_overdue_at_end"],
        apr["awaiting_supplement_at_end"],
    ) == (
        1,
        1,
        0,
    )


# --- rates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num", "den", "expected"),
    [
        (2, 4, 50.0),
        (2, 3, 66.67),
        (1, 3, 33.33),
        (1, 8, 12.5),
        (1, 800, 0.13),  # 0.125 rounds half up
        (3, 800, 0.38),  # 0.375
        (5, 1600, 0.31),  # 0.3125
        (19293, 20000, 96.47),  # 96.465: half up (banker's rounding and float round give 96.46)
        (1594, 1594, 100.0),
        (1593, 1594, 99.94),
        (0, 7, 0.0),
        (0, 0, None),
        (5, 0, None),
    ],
)
def test_rate_two_decimals_half_up_null_without_denominator(
    num: int, den: int, expected: float | None
) -> None:
    """100 * n / d rounded half up to 2 decimals; None when d == 0."""
    assert rate(num, den) == expected


def test_rates_follow_the_counts() -> None:
    """on_time_rate from early + on_time over resolved; online_rate over received."""
    counts = empty_counts() | {
        "resolved_total": 3,
        "resolved_early": 1,
        "resolved_on_time": 1,
        "resolved_late": 1,
        "received_total": 8,
        "received_online_partial": 1,
        "received_online_full": 0,
        "received_direct": 7,
    }
    figs = with_rates(counts)
    assert (figs["on_time_rate"], figs["online_rate"]) == (66.67, 12.5)
    empty = with_rates(empty_counts())
    assert (empty["on_time_rate"], empty["online_rate"]) == (None, None)
    assert set(RATE_KEYS) == {"on_time_rate", "online_rate"}


# --- province sums ----------------------------------------------------------------------


def test_province_sums_counts_and_recomputes_rates() -> None:
    """Counts add up; rates come from the sums, not from averaging the communes' rates."""
    a = with_rates(
        empty_counts()
        | {
            "resolved_total": 1,
            "resolved_on_time": 1,
            "received_total": 1,
            "received_online_full": 1,
        }
    )
    b = with_rates(
        empty_counts()
        | {
            "resolved_total": 3,
            "resolved_early": 1,
            "resolved_late": 2,
            "received_total": 3,
            "received_direct": 3,
        }
    )
    c = with_rates(empty_counts())  # a commune with nothing: rates None
    assert (a["on_time_rate"], b["on_time_rate"], c["on_time_rate"]) == (100.0, 33.33, None)
    province = sum_figures([a, b, c])
    assert province["resolved_total"] == 4
    assert province["received_total"] == 4
    assert province["on_time_rate"] == 50.0  # 2 / 4, not (100 + 33.33) / 2
    assert province["online_rate"] == 25.0
    assert set(province) == set(FIGURE_KEYS)


def test_province_of_real_communes_equals_figures_over_all_cases() -> None:
    """Summing per-commune figures equals the figures of all the communes' cases together."""
    events = march_story()
    other = [
        ev(
            e.event_id + "-2",
            e.event_type,
            e.occurred_at,
            case_id=e.case_id,
            commune_code="16099",
            channel=e.channel,
            due_at=e.due_at,
            field=e.field,
        )
        for e in events
        if e.case_id in {"C", "D", "G"}
    ]
    p = parse_period("2024-M03", "calendar")
    by_commune = [
        compute_figures(cases_of(evs), p.start_instant, p.end_instant, FAR_FUTURE)
        for evs in (events, other)
    ]
    together = compute_figures(cases_of(events + other), p.start_instant, p.end_instant, FAR_FUTURE)
    assert sum_figures(by_commune) == together
    assert together["received_total"] == 13
    assert together["on_time_rate"] == 50.0  # (2 + 1) / (4 + 2)


def test_sum_of_nothing_is_all_zero() -> None:
    """A province without figures: every count 0, rates None."""
    figs = sum_figures([])
    assert all(figs[k] == 0 for k in COUNT_KEYS)
    assert figs["on_time_rate"] is None and figs["online_rate"] is None


def test_balance_holds_detects_an_imbalance() -> None:
    """balance_holds is false when the balance is broken."""
    good = empty_counts() | {
        "carried_over": 2,
        "received_total": 3,
        "resolved_total": 1,
        "returned": 1,
        "withdrawn": 1,
        "open_at_end": 2,
    }
    assert balance_holds(good)
    assert not balance_holds(good | {"open_at_end": 3})


# --- anomalies of a period --------------------------------------------------------------


def test_anomaly_report_counts_every_kind_and_lists_ids_only() -> None:
    """Anomalies whose event is in the period count by kind (0 included), listed oldest first."""
    events = [
        received("A", "2024-03-01T08:00", "2024-03-05T17:00"),
        ev("A-r2", "received", "2024-03-02T08:00", case_id="A", due_at="2024-03-09T17:00"),
        ev("A-x", "resolved", "2024-03-03T08:00", case_id="A"),
        ev("A-late", "paused", "2024-04-02T08:00", case_id="A"),  # after end, in April
        ev("B-x", "resolved", "2024-02-20T08:00", case_id="B"),  # orphan Feb 20 .. Mar 10
        ev("B-y", "withdrawn", "2024-03-10T08:00", case_id="B"),
    ]
    p = parse_period("2024-M03", "calendar")
    report = anomaly_report(cases_of(events), p.start_instant, p.end_instant)
    assert report["counts"] == dict.fromkeys(REPORT_KINDS, 0) | {"second_received": 1, "orphan": 1}
    assert report["total"] == 2 and report["truncated"] is False
    assert report["cases"] == [
        {
            "case_id": "B",
            "commune_code": "16096",
            "kind": "orphan",
            "event_id": "B-x",
            "occurred_at": "2024-02-20T08:00:00+07:00",
        },
        {
            "case_id": "A",
            "commune_code": "16096",
            "kind": "second_received",
            "event_id": "A-r2",
            "occurred_at": "2024-03-02T08:00:00+07:00",
        },
    ]
    april = parse_period("2024-M04", "calendar")
    later = anomaly_report(cases_of(events), april.start_instant, april.end_instant)
    assert later["counts"]["event_after_end"] == 1 and later["total"] == 1


def test_anomaly_report_limit_and_province_merge() -> None:
    """The list is capped (truncated flag); a province sums counts and merges lists by time."""
    one = [ev(f"O{i}-x", "resolved", f"2024-03-{10 + i}T08:00", case_id=f"O{i}") for i in range(3)]
    other = [
        ev("Q-x", "resolved", "2024-03-11T09:00", case_id="Q", commune_code="16099"),
    ]
    p = parse_period("2024-M03", "calendar")
    a = anomaly_report(cases_of(one), p.start_instant, p.end_instant, limit=2)
    b = anomaly_report(cases_of(other), p.start_instant, p.end_instant, limit=2)
    assert (a["total"], len(a["cases"]), a["truncated"]) == (3, 2, True)
    merged = sum_anomaly_reports([a, b], limit=3)
    assert merged["counts"]["orphan"] == 4 and merged["total"] == 4
    assert [c["case_id"] for c in merged["cases"]] == ["O0", "O1", "Q"]
    assert merged["truncated"] is True
