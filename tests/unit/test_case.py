"""A case's story (appendix.md): the fold of one case's events into its summary."""

from __future__ import annotations

import itertools

import pytest

from shared.domain.case import ANOMALY_KINDS, AnomalyKind, CaseSummary, Wait, fold_case
from shared.domain.events import CaseEvent
from tests.kits.domain import DAY, HOUR, MINUTE, ev, t


def kinds(summary: CaseSummary) -> list[tuple[str, str]]:
    """The anomalies as (kind, event_id), in order."""
    return [(a.kind, a.event_id) for a in summary.anomalies]


def every_order(events: list[CaseEvent]) -> list[CaseSummary]:
    """The summary of every arrival order of the events."""
    return [fold_case(p) for p in itertools.permutations(events)]


# --- ordering ---------------------------------------------------------------------------


def test_events_apply_in_occurred_at_order_whatever_the_offset() -> None:
    """Instants compare as instants: 10:30+07:00 (03:30Z) is before 04:00Z written in UTC."""
    events = [
        ev("r", "received", "2024-03-01T09:00:00+07:00", due_at="2024-03-10T17:00"),
        # 03:30Z: the wait starts first although its text looks later than "04:00:00Z".
        ev("z-pause", "paused", "2024-03-01T10:30:00+07:00"),
        ev("a-resume", "resumed", "2024-03-01T04:00:00Z"),  # 11:00 local
    ]
    for s in every_order(events):
        assert s.anomalies == ()
        assert s.waits == (Wait("pause", t("2024-03-01T10:30"), t("2024-03-01T11:00")),)
        assert s.due_at == t("2024-03-10T17:30")


def test_mixed_negative_offsets_order_as_instants() -> None:
    """A -05:00 stamp that reads 'earlier' can be the later instant."""
    events = [
        ev("r", "received", "2024-03-01T08:00:00+07:00", due_at="2024-03-10T17:00"),
        ev("x", "resolved", "2024-02-29T21:00:00-05:00"),  # 02:00Z = 09:00 local
        ev("y", "paused", "2024-03-01T01:30:00Z"),  # 08:30 local: before the resolve
    ]
    s = fold_case(events)
    assert s.ended_at == t("2024-03-01T09:00")
    assert s.waits == (Wait("pause", t("2024-03-01T08:30"), t("2024-03-01T09:00")),)


def test_ties_are_broken_by_event_id_as_a_plain_string() -> None:
    """Same instant: 'B' < 'a' as plain strings, so the pause (B) applies before the resolve."""
    at = "2024-03-02T10:00"
    events = [
        ev("0", "received", "2024-03-01T08:00", due_at="2024-03-10T17:00"),
        ev("a", "resolved", at),
        ev("B", "paused", at),
    ]
    for s in every_order(events):
        assert s.end_kind == "resolved"
        assert s.waits == (Wait("pause", t(at), t(at)),)
        assert s.anomalies == ()
    # With the ids the other way round the pause comes after the end: an anomaly.
    swapped = [events[0], ev("B", "resolved", at), ev("a", "paused", at)]
    s = fold_case(swapped)
    assert kinds(s) == [("event_after_end", "a")]


def test_duplicates_by_event_id_count_once() -> None:
    """A redelivered event (same id) changes nothing."""
    r = ev("r", "received", "2024-03-01T08:00", due_at="2024-03-10T17:00")
    a = ev("a", "apology_sent", "2024-03-11T08:00")
    once = fold_case([r, a])
    assert fold_case([r, a, a, r, a]) == once
    assert once.apologies == (t("2024-03-11T08:00"),)
    assert once.event_count == 2


def test_a_case_needs_an_event() -> None:
    """Folding nothing is a programming error."""
    with pytest.raises(ValueError):
        fold_case([])


# --- opening ----------------------------------------------------------------------------


def test_received_fixes_channel_field_and_due() -> None:
    """The first received gives channel, field and due instant."""
    s = fold_case(
        [
            ev(
                "r",
                "received",
                "2024-03-01T08:00",
                channel="online_full",
                due_at="2024-03-05T17:00",
                field="dat_dai",
            )
        ]
    )
    assert (s.channel, s.field, s.due_at) == ("online_full", "dat_dai", t("2024-03-05T17:00"))
    assert s.received_at == t("2024-03-01T08:00")
    assert s.overdue_at == t("2024-03-05T17:00")  # will become overdue then, if nothing happens
    assert s.ended_at is None and s.end_kind is None and s.lateness is None
    assert not s.is_orphan


def test_field_falls_back_to_the_first_field_seen() -> None:
    """A received without a field takes the first field seen on any event of the case."""
    events = [
        ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
        ev("p", "paused", "2024-03-02T08:00", field="xay_dung"),
        ev("q", "resumed", "2024-03-03T08:00", field="dat_dai"),
    ]
    assert fold_case(events).field == "xay_dung"
    with_own = [ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00", field="ho_tich")]
    assert fold_case(with_own + events[1:]).field == "ho_tich"


def test_second_received_keeps_the_first_channel_and_due() -> None:
    """A second received is an anomaly and changes nothing."""
    s = fold_case(
        [
            ev("r1", "received", "2024-03-01T08:00", channel="postal", due_at="2024-03-05T17:00"),
            ev("r2", "received", "2024-03-02T08:00", channel="direct", due_at="2024-03-20T17:00"),
        ]
    )
    assert kinds(s) == [("second_received", "r2")]
    assert (s.channel, s.due_at, s.received_at) == (
        "postal",
        t("2024-03-05T17:00"),
        t("2024-03-01T08:00"),
    )


# --- waits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"), [("supplement_requested", "supplement_received"), ("paused", "resumed")]
)
def test_wait_moves_the_due_instant_by_exactly_the_time_waited(start: str, end: str) -> None:
    """The clock stops while waiting: due moves later by exactly the wait (to the µs)."""
    waited = 2 * DAY + 3 * HOUR + 17 * MINUTE + 123_457
    w0 = t("2024-03-02T09:00")
    events = [
        ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
        ev("w1", start, w0),
        ev("w2", end, w0 + waited),
    ]
    s = fold_case(events)
    assert s.due_at == t("2024-03-05T17:00") + waited
    assert s.overdue_at == s.due_at
    kind = "supplement" if start == "supplement_requested" else "pause"
    assert s.waits == (Wait(kind, w0, w0 + waited),)
    assert s.waiting_at(w0) is None  # not yet waiting at its start instant
    assert s.waiting_at(w0 + 1) == kind
    assert s.waiting_at(w0 + waited) == kind  # "just before" the resume
    assert s.waiting_at(w0 + waited + 1) is None


def test_several_waits_add_up() -> None:
    """Two waits move the due instant by their sum."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("a", "paused", "2024-03-02T08:00"),
            ev("b", "resumed", "2024-03-02T10:00"),
            ev("c", "supplement_requested", "2024-03-03T08:00"),
            ev("d", "supplement_received", "2024-03-04T08:00"),
        ]
    )
    assert s.due_at == t("2024-03-05T17:00") + 2 * HOUR + DAY


@pytest.mark.parametrize("end", ["supplement_received", "resumed"])
def test_explicit_due_at_on_restart_replaces_the_due(end: str) -> None:
    """supplement_received / resumed with due_at: the new appointment, not the shifted one."""
    start = "supplement_requested" if end == "supplement_received" else "paused"
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", start, "2024-03-02T08:00"),
            ev("w2", end, "2024-03-04T08:00", due_at="2024-03-06T11:00"),
        ]
    )
    assert s.due_at == t("2024-03-06T11:00")
    assert s.overdue_at == t("2024-03-06T11:00")


def test_explicit_due_already_passed_makes_it_overdue_at_the_restart() -> None:
    """A new due_at earlier than the resume: overdue the moment the clock restarts."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", "paused", "2024-03-02T08:00"),
            ev("w2", "resumed", "2024-03-04T08:00", due_at="2024-03-03T17:00"),
            ev("x", "resolved", "2024-03-04T09:00"),
        ]
    )
    assert s.overdue_at == t("2024-03-04T08:00")
    assert s.lateness == "late"


def test_no_overdue_while_waiting_even_past_the_due() -> None:
    """A case waiting across its due instant is not overdue; it stays in time while it waits."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", "supplement_requested", "2024-03-04T17:00"),  # 1 day before due
            ev("o", "apology_sent", "2024-03-20T08:00"),  # still waiting: not overdue
        ]
    )
    assert s.overdue_at is None
    assert s.waits == (Wait("supplement", t("2024-03-04T17:00"), None),)
    assert kinds(s) == [("apology_not_overdue", "o")]


def test_ended_while_waiting_closes_the_wait_and_stops_the_clock() -> None:
    """Resolved while waiting: the wait ends then; lateness uses the due moved by that wait."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", "paused", "2024-03-04T08:00"),
            ev("x", "resolved", "2024-03-07T08:00"),  # after the original due, but waited 3 days
        ]
    )
    assert s.waits == (Wait("pause", t("2024-03-04T08:00"), t("2024-03-07T08:00")),)
    assert s.overdue_at is None
    assert s.due_at == t("2024-03-08T17:00")
    assert s.lateness == "early"  # 7 Mar is before 8 Mar


# --- overdue ----------------------------------------------------------------------------


def test_overdue_found_from_the_due_date_without_any_overdue_event() -> None:
    """No `overdue` event at all: the case is overdue from its due instant."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("x", "resolved", "2024-03-06T08:00"),
        ]
    )
    assert s.overdue_at == t("2024-03-05T17:00")
    assert s.lateness == "late"


def test_open_case_overdue_from_due_after_its_last_event() -> None:
    """An open case with no event after its due is overdue at the due instant."""
    s = fold_case([ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00")])
    assert s.overdue_at == t("2024-03-05T17:00")


def test_overdue_event_makes_it_earlier() -> None:
    """An `overdue` notice before the due instant makes the case overdue at the notice."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("o", "overdue", "2024-03-04T08:00"),
            ev("x", "resolved", "2024-03-05T10:00"),  # before the due instant, but overdue
        ]
    )
    assert s.overdue_at == t("2024-03-04T08:00")
    assert s.lateness == "late"


def test_overdue_event_after_the_due_changes_nothing() -> None:
    """A late notice does not move the instant found from the due date (at most once)."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("o1", "overdue", "2024-03-06T08:00"),
            ev("o2", "overdue", "2024-03-07T08:00"),
        ]
    )
    assert s.overdue_at == t("2024-03-05T17:00")
    assert s.anomalies == ()


def test_overdue_at_most_once_even_after_a_wait() -> None:
    """Once overdue, a later wait and a new appointment do not make it overdue again or undo it."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("o", "overdue", "2024-03-05T17:00"),
            ev("w1", "paused", "2024-03-06T08:00"),
            ev("w2", "resumed", "2024-03-07T08:00", due_at="2024-03-20T17:00"),
            ev("o2", "overdue", "2024-03-21T08:00"),
        ]
    )
    assert s.overdue_at == t("2024-03-05T17:00")
    assert s.due_at == t("2024-03-20T17:00")


def test_overdue_event_while_waiting_counts() -> None:
    """The desk's overdue notice makes the case overdue even while it waits."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", "paused", "2024-03-02T08:00"),
            ev("o", "overdue", "2024-03-03T08:00"),
        ]
    )
    assert s.overdue_at == t("2024-03-03T08:00")


def test_waiting_at_the_due_instant_is_not_overdue() -> None:
    """Paused exactly at the due instant: not overdue then; the clock resumes with 0 left."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", "paused", "2024-03-05T17:00"),
            ev("w2", "resumed", "2024-03-06T08:00"),
        ]
    )
    assert s.due_at == t("2024-03-06T08:00")
    assert s.overdue_at == t("2024-03-06T08:00")


def test_due_before_received_is_overdue_from_the_received() -> None:
    """An appointment already past at reception: overdue from the reception instant."""
    s = fold_case([ev("r", "received", "2024-03-05T08:00", due_at="2024-03-01T17:00")])
    assert s.overdue_at == t("2024-03-05T08:00")


# --- lateness ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved_at", "lateness"),
    [
        ("2024-03-04T23:59:59+07:00", "early"),  # the local day before the due's day
        ("2024-03-04T16:59:59Z", "early"),  # same instant, written in UTC
        ("2024-03-04T17:00:00Z", "on_time"),  # 5 Mar 00:00 local: the due's day
        ("2024-03-05T00:00:00+07:00", "on_time"),
        ("2024-03-05T09:59:59Z", "on_time"),  # 16:59:59 local
        ("2024-03-05T10:00:00Z", "on_time"),  # exactly the due instant
        ("2024-03-05T10:00:00.000001Z", "late"),
        ("2024-03-05T18:00:00+07:00", "late"),
        ("2024-03-01T08:00:00+07:00", "early"),  # resolved at reception
    ],
)
def test_lateness_compares_local_days_and_the_due_instant(resolved_at: str, lateness: str) -> None:
    """Early before the due's local day, on time up to the due instant itself, late after."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("x", "resolved", resolved_at),
        ]
    )
    assert s.lateness == lateness
    assert s.end_kind == "resolved"
    assert s.ended_at == t(resolved_at)


def test_resolved_exactly_at_the_due_instant_is_on_time_and_never_overdue() -> None:
    """An event at exactly the due instant comes before the case turns overdue."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("x", "resolved", "2024-03-05T17:00"),
        ]
    )
    assert (s.lateness, s.overdue_at) == ("on_time", None)


def test_due_in_utc_near_midnight_gives_the_local_day() -> None:
    """Due 2024-03-04T17:00Z is 5 Mar local: resolving on 4 Mar local is early."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-04T17:00:00Z"),
            ev("x", "resolved", "2024-03-04T16:00:00Z"),  # 4 Mar 23:00 local
        ]
    )
    assert s.lateness == "early"


@pytest.mark.parametrize("kind", ["returned", "withdrawn"])
def test_returned_and_withdrawn_end_the_case_without_lateness(kind: str) -> None:
    """Returned / withdrawn end the case; lateness is only for resolved cases."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("x", kind, "2024-03-06T08:00"),
        ]
    )
    assert (s.end_kind, s.lateness, s.ended_at) == (kind, None, t("2024-03-06T08:00"))
    assert s.overdue_at == t("2024-03-05T17:00")  # it did become overdue before


# --- apologies --------------------------------------------------------------------------


def test_apologies_count_and_new_due_at_changes_nothing() -> None:
    """Apology letters are kept; new_due_at does not move the due nor undo lateness."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("a1", "apology_sent", "2024-03-06T08:00", new_due_at="2024-03-10T17:00"),
            ev("a2", "apology_sent", "2024-03-09T08:00", new_due_at="2024-03-12T17:00"),
            ev("x", "resolved", "2024-03-10T08:00"),
        ]
    )
    assert s.apologies == (t("2024-03-06T08:00"), t("2024-03-09T08:00"))
    assert s.due_at == t("2024-03-05T17:00")
    assert s.lateness == "late"
    assert s.anomalies == ()


def test_apology_for_a_case_not_overdue_is_an_anomaly_but_counts() -> None:
    """An apology before the case is overdue: anomaly, and the letter is still kept."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("a", "apology_sent", "2024-03-05T17:00"),  # at the due instant: not yet overdue
            ev("x", "resolved", "2024-03-05T18:00"),
        ]
    )
    assert kinds(s) == [("apology_not_overdue", "a")]
    assert s.apologies == (t("2024-03-05T17:00"),)
    assert s.lateness == "late"


def test_apology_after_the_end_is_not_kept() -> None:
    """An apology after the case ended is an event after end: not kept as a letter."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("x", "resolved", "2024-03-06T08:00"),
            ev("a", "apology_sent", "2024-03-07T08:00"),
        ]
    )
    assert s.apologies == ()
    assert kinds(s) == [("event_after_end", "a")]


# --- anomalies --------------------------------------------------------------------------


def test_every_event_after_the_end_is_an_anomaly_and_changes_nothing() -> None:
    """After resolved, every event type is an anomaly; the summary is as without them."""
    base = [
        ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
        ev("x", "resolved", "2024-03-04T08:00"),
    ]
    after = [
        ev(f"z{i}", kind, f"2024-03-{10 + i:02d}T08:00", due_at="2024-03-30T17:00")
        for i, kind in enumerate(
            [
                "received",
                "supplement_requested",
                "supplement_received",
                "paused",
                "resumed",
                "resolved",
                "returned",
                "withdrawn",
                "overdue",
                "apology_sent",
            ]
        )
    ]
    plain, noisy = fold_case(base), fold_case(base + after)
    assert kinds(noisy) == [("event_after_end", e.event_id) for e in after]
    for name in (
        "received_at",
        "channel",
        "due_at",
        "overdue_at",
        "ended_at",
        "end_kind",
        "lateness",
        "waits",
        "apologies",
    ):
        assert getattr(noisy, name) == getattr(plain, name), name
    assert plain.lateness == "early"


def test_events_ordered_before_received_are_anomalies() -> None:
    """Events before the received (incl. a tie broken by id) are anomalies and ignored."""
    s = fold_case(
        [
            ev("b", "paused", "2024-03-01T07:00"),
            ev("a", "overdue", "2024-03-01T08:00"),  # same instant, id 'a' < 'r'
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("s", "apology_sent", "2024-03-01T08:00"),  # same instant, id 's' > 'r': after
        ]
    )
    assert kinds(s) == [
        ("before_received", "b"),
        ("before_received", "a"),
        ("apology_not_overdue", "s"),
    ]
    assert s.waits == ()
    assert s.overdue_at == t("2024-03-05T17:00")
    assert s.apologies == (t("2024-03-01T08:00"),)


def test_an_end_before_received_does_not_end_the_case() -> None:
    """A resolved ordered before the received is an anomaly; the case stays open."""
    s = fold_case(
        [
            ev("x", "resolved", "2024-02-28T08:00"),
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
        ]
    )
    assert kinds(s) == [("before_received", "x")]
    assert s.ended_at is None


def test_orphan_has_no_received_and_is_counted_nowhere() -> None:
    """A case with no received is an orphan: one anomaly, nothing else known."""
    s = fold_case(
        [
            ev("x", "resolved", "2024-03-04T08:00", field="dat_dai"),
            ev("a", "apology_sent", "2024-03-03T08:00"),
        ]
    )
    assert s.is_orphan
    assert kinds(s) == [("orphan", "a")]
    assert (s.received_at, s.ended_at, s.overdue_at, s.lateness) == (None, None, None, None)
    assert s.apologies == ()
    assert not s.is_open_at(t("2024-03-05T00:00"))
    assert s.field == "dat_dai"
    assert s.event_count == 2


def test_orphan_that_later_gets_its_received_becomes_a_normal_case() -> None:
    """When the received arrives (late), the earlier-delivered events fold in normally."""
    later = [
        ev("p", "paused", "2024-03-02T08:00"),
        ev("q", "resumed", "2024-03-03T08:00"),
        ev("x", "resolved", "2024-03-06T08:00"),
    ]
    assert fold_case(later).is_orphan
    s = fold_case([*later, ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00")])
    assert not s.is_orphan
    assert s.anomalies == ()
    assert s.due_at == t("2024-03-06T17:00")
    assert s.lateness == "on_time"


@pytest.mark.parametrize(
    ("wait", "resume"),
    [
        (None, "resumed"),
        (None, "supplement_received"),
        ("paused", "supplement_received"),  # the other pairing
        ("supplement_requested", "resumed"),
    ],
)
def test_resume_without_matching_wait_is_an_anomaly_and_ignored(
    wait: str | None, resume: str
) -> None:
    """A resume without its own kind of wait is an anomaly; the wait (if any) goes on."""
    events = [ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00")]
    if wait:
        events.append(ev("w", wait, "2024-03-02T08:00"))
    events.append(ev("z", resume, "2024-03-03T08:00", due_at="2024-03-30T17:00"))
    s = fold_case(events)
    assert kinds(s) == [("resume_without_wait", "z")]
    if wait:
        kind = "pause" if wait == "paused" else "supplement"
        assert s.waits == (Wait(kind, t("2024-03-02T08:00"), None),)
        assert s.overdue_at is None
    else:
        assert s.waits == ()
        assert s.overdue_at == t("2024-03-05T17:00")
    assert s.due_at == t("2024-03-05T17:00")  # its due_at is ignored


@pytest.mark.parametrize(
    ("first", "second"),
    list(itertools.product(["paused", "supplement_requested"], repeat=2)),
)
def test_wait_while_waiting_is_an_anomaly_and_ignored(first: str, second: str) -> None:
    """A second wait while waiting is an anomaly; the first wait and its kind stand."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("w1", first, "2024-03-02T08:00"),
            ev("w2", second, "2024-03-03T08:00"),
            ev(
                "w3",
                "resumed" if first == "paused" else "supplement_received",
                "2024-03-04T08:00",
            ),
        ]
    )
    assert kinds(s) == [("wait_while_waiting", "w2")]
    kind = "pause" if first == "paused" else "supplement"
    assert s.waits == (Wait(kind, t("2024-03-02T08:00"), t("2024-03-04T08:00")),)
    assert s.due_at == t("2024-03-07T17:00")


def test_every_anomaly_kind_is_reachable() -> None:
    """Each kind of the contract has a name and shows up in some story."""
    assert (
        set(ANOMALY_KINDS)
        == {k.value for k in AnomalyKind}
        == {
            "second_received",
            "event_after_end",
            "before_received",
            "orphan",
            "resume_without_wait",
            "wait_while_waiting",
            "apology_not_overdue",
        }
    )
    story = [
        ev("a0", "resumed", "2024-03-01T07:00"),  # before received
        ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
        ev("r2", "received", "2024-03-01T09:00", due_at="2024-03-05T17:00"),
        ev("a1", "apology_sent", "2024-03-01T10:00"),
        ev("a2", "resumed", "2024-03-01T11:00"),
        ev("a3", "paused", "2024-03-01T12:00"),
        ev("a4", "supplement_requested", "2024-03-01T13:00"),
        ev("x", "withdrawn", "2024-03-01T14:00"),
        ev("a5", "resolved", "2024-03-01T15:00"),
    ]
    found = {a.kind for a in fold_case(story).anomalies}
    found |= {a.kind for a in fold_case([ev("o", "paused", "2024-03-01T07:00")]).anomalies}
    assert found == set(ANOMALY_KINDS)


def test_is_open_at_is_received_before_and_not_ended_before() -> None:
    """Open at t: received strictly before t, ended at or after t (or not at all)."""
    s = fold_case(
        [
            ev("r", "received", "2024-03-01T08:00", due_at="2024-03-05T17:00"),
            ev("x", "withdrawn", "2024-03-02T08:00"),
        ]
    )
    assert not s.is_open_at(t("2024-03-01T08:00"))
    assert s.is_open_at(t("2024-03-01T08:00") + 1)
    assert s.is_open_at(t("2024-03-02T08:00"))
    assert not s.is_open_at(t("2024-03-02T08:00") + 1)
