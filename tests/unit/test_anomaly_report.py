"""anomaly_report / sum_anomaly_reports: anomalies of a period, counted and listed."""

from __future__ import annotations

from shared.domain.case import fold_case
from shared.domain.figures import REPORT_KINDS, anomaly_report, sum_anomaly_reports
from tests.kits.domain import ev, t

START, END = t("2025-02-15T00:00"), t("2025-03-15T00:00")


def test_every_kind_present_even_when_zero() -> None:
    """Counts name every anomaly kind, 0 included, and the list is empty with no anomaly."""
    case = fold_case([ev("r", "received", "2025-02-20T09:00", due_at="2025-03-01T17:00")])
    report = anomaly_report([case], START, END)
    assert report["counts"] == dict.fromkeys(REPORT_KINDS, 0)
    assert report["cases"] == [] and report["total"] == 0 and report["truncated"] is False


def test_counts_only_anomalies_inside_the_period() -> None:
    """A second `received` inside the period counts; one after the end does not."""
    case = fold_case(
        [
            ev("r1", "received", "2025-02-20T09:00", due_at="2025-03-01T17:00"),
            ev("r2", "received", "2025-02-21T09:00", due_at="2025-03-01T17:00"),
            ev("r3", "received", "2025-03-20T09:00", due_at="2025-03-01T17:00"),
        ]
    )
    report = anomaly_report([case], START, END)
    assert report["counts"]["second_received"] == 1
    assert report["cases"] == [
        {
            "case_id": "C1",
            "commune_code": case.commune_code,
            "kind": "second_received",
            "event_id": "r2",
            "occurred_at": "2025-02-21T09:00:00+07:00",
        }
    ]


def test_orphan_counts_when_its_events_span_meets_the_period() -> None:
    """An orphan whose events began before the period and go on inside it counts once."""
    orphan = fold_case(
        [ev("a", "paused", "2025-02-01T09:00"), ev("b", "resumed", "2025-02-20T09:00")]
    )
    assert anomaly_report([orphan], START, END)["counts"]["orphan"] == 1
    before = fold_case([ev("c", "paused", "2025-02-01T09:00", case_id="C2")])
    assert anomaly_report([before], START, END)["counts"]["orphan"] == 0


def test_list_is_capped_and_ordered() -> None:
    """The list keeps the oldest `limit` anomalies and says it was truncated."""
    cases = [
        fold_case([ev(f"x{i}", "resolved", f"2025-03-{1 + i:02d}T09:00", case_id=f"C{i}")])
        for i in range(5)
    ]
    report = anomaly_report(list(reversed(cases)), START, END, limit=2)
    assert report["total"] == 5 and report["truncated"] is True
    assert [a["event_id"] for a in report["cases"]] == ["x0", "x1"]


def test_sum_of_reports_adds_counts_and_merges_lists() -> None:
    """A province's report sums its communes' counts and merges their lists in time order."""
    a = anomaly_report(
        [fold_case([ev("x2", "resolved", "2025-03-02T09:00", commune_code="00004")])], START, END
    )
    b = anomaly_report(
        [fold_case([ev("x1", "resolved", "2025-03-01T09:00", commune_code="00008")])], START, END
    )
    total = sum_anomaly_reports([a, b])
    assert total["counts"]["orphan"] == 2 and total["total"] == 2
    assert [x["event_id"] for x in total["cases"]] == ["x1", "x2"]
