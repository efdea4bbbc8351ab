"""The simulator's generator: contract-valid, realistic, deterministic, unruly on demand."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest

from services.simulator.cli import resolve_communes, vn_holidays
from services.simulator.generate import (
    INVALID_KINDS,
    SimConfig,
    generate,
    take,
    valid_events,
)
from services.simulator.publish import encode, write_jsonl
from shared.domain.case import fold_case
from shared.domain.events import COMMON_FIELDS, OPTIONAL_FIELDS, OWN_FIELDS
from shared.domain.timeutil import LOCAL_TZ, parse_rfc3339, to_instant
from shared.domain.validation import Accepted, Rejected, event_from_payload, validate
from shared.errors import UsageError
from shared.registry import load_registry

COMMUNES = ("16000", "14758", "14797")
NOW = datetime(2026, 3, 20, 10, 30, tzinfo=LOCAL_TZ)
HOLIDAYS = vn_holidays(date(2025, 1, 1), date(2026, 12, 31))


def config(**overrides) -> SimConfig:
    values = {
        "communes": COMMUNES,
        "start": date(2025, 12, 1),
        "end": date(2026, 3, 20),
        "now": NOW,
        "holidays": HOLIDAYS,
        "provinces": dict.fromkeys(COMMUNES, "38"),
    }
    values.update(overrides)
    return SimConfig(**values)


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return list(valid_events(config()))


@pytest.fixture(scope="module")
def cases(events):
    by_case: dict[tuple[str, str], list] = {}
    for payload in events:
        by_case.setdefault((payload["commune_code"], payload["case_id"]), []).append(
            event_from_payload(payload)
        )
    return [fold_case(evs) for evs in by_case.values()]


def check(subject: str, data: bytes):
    return validate(
        subject,
        data,
        registry=load_registry(),
        received_at=to_instant(NOW),
        max_skew_us=300_000_000,
        max_payload_bytes=65536,
    )


def test_every_valid_message_passes_the_contract_validation():
    """Each generated event, on its subject, is accepted by the intake's validate()."""
    messages = list(generate(config(duplicates=0.02, reorder=0.02)))
    assert len(messages) > 2000
    for msg in messages:
        result = check(msg.subject, encode(msg))
        assert isinstance(result, Accepted), (msg.subject, result)
        assert msg.msg_id == msg.payload["event_id"]


def test_invalid_messages_are_rejected_with_the_reason_they_were_built_for():
    """Every invalid kind is rejected by validate() with that very reason code."""
    messages = [m for m in generate(config(invalid=0.05)) if not m.is_valid]
    kinds = Counter(m.kind for m in messages)
    assert {f"invalid:{k}" for k in INVALID_KINDS} == set(kinds)
    for msg in messages:
        result = check(msg.subject, encode(msg))
        assert isinstance(result, Rejected)
        assert result.reason == msg.kind.removeprefix("invalid:")


def test_same_seed_same_messages_other_seed_other_ids():
    """Generation is deterministic for a seed; another seed gives other event and case ids."""
    a = [(m.subject, m.payload, m.kind) for m in generate(config(duplicates=0.01, reorder=0.01))]
    b = [(m.subject, m.payload, m.kind) for m in generate(config(duplicates=0.01, reorder=0.01))]
    assert a == b
    other = list(valid_events(config(seed=7)))
    ids = {p["event_id"] for _, p, _ in a}
    case_ids = {p["case_id"] for _, p, _ in a}
    assert ids.isdisjoint(p["event_id"] for p in other)
    assert case_ids.isdisjoint(p["case_id"] for p in other)


def test_a_later_now_only_adds_events():
    """Cutting at an earlier `now` gives exactly the events before it of a later cut."""
    early_now = NOW - timedelta(days=20)
    early = list(valid_events(config(now=early_now)))
    late = list(valid_events(config()))
    cut = to_instant(early_now)
    assert early == [p for p in late if parse_rfc3339(p["occurred_at"]) < cut]


def test_nothing_in_the_future_nor_outside_the_range():
    """No valid event lies after `now` or outside the date range, even with --to in the future."""
    events = list(valid_events(config(end=date(2026, 12, 31))))
    now = to_instant(NOW)
    start = to_instant(datetime.combine(date(2025, 12, 1), time(0), LOCAL_TZ))
    instants = [parse_rfc3339(p["occurred_at"]) for p in events]
    assert max(instants) <= now
    assert min(instants) >= start
    past = list(valid_events(config(end=date(2026, 1, 31))))
    limit = to_instant(datetime(2026, 2, 1, tzinfo=LOCAL_TZ))
    assert max(parse_rfc3339(p["occurred_at"]) for p in past) < limit


def test_events_come_in_time_order(events):
    """Without reordering, events come in (occurred_at, event_id) order."""
    keys = [(parse_rfc3339(p["occurred_at"]), p["event_id"]) for p in events]
    assert keys == sorted(keys)


def test_no_personal_data_fields(events):
    """Payloads carry only the contract's fields: no names, id numbers or addresses."""
    allowed = COMMON_FIELDS | OPTIONAL_FIELDS
    for payload in events:
        assert set(payload) <= allowed | OWN_FIELDS[payload["event_type"]], payload
        assert payload["actor"].startswith("cb-")
    assert all(p["occurred_at"].endswith("+07:00") for p in events)


def test_receipts_in_office_hours_on_working_days(events):
    """Dossiers arrive 07:30-17:00 Monday-Friday or Saturday morning, never on holidays."""
    received = [
        datetime.fromisoformat(p["occurred_at"]) for p in events if p["event_type"] == "received"
    ]
    assert received
    for t in received:
        assert t.weekday() != 6 and t.date() not in HOLIDAYS
        assert time(7, 30) <= t.time() < time(17, 0)
        assert not time(11, 30) <= t.time() < time(13, 30)
        if t.weekday() == 5:
            assert t.time() < time(11, 30)
    weekday_counts = Counter(t.weekday() for t in received)
    assert weekday_counts[5] < weekday_counts[0] / 2  # Saturday is a short morning


def test_due_dates_fall_on_working_days(events):
    """Appointments (due_at) avoid weekends and Vietnamese public holidays."""
    dues = [datetime.fromisoformat(p["due_at"]) for p in events if "due_at" in p]
    assert dues
    assert all(d.weekday() < 5 and d.date() not in HOLIDAYS for d in dues)


def test_stories_fold_without_anomalies(cases):
    """The generated stories are consistent: folding them finds no anomaly."""
    assert cases
    assert [a for c in cases for a in c.anomalies] == []


def test_realistic_shares(cases, events):
    """Channel and outcome mixes look like communes' reports: ~97-100% in time, a few late."""
    channels = Counter(c.channel for c in cases)
    total = sum(channels.values())
    assert set(channels) == {"direct", "postal", "online_partial", "online_full"}
    assert 0.25 < channels["direct"] / total < 0.47
    assert 0.005 < channels["postal"] / total < 0.07
    assert 0.45 < (channels["online_partial"] + channels["online_full"]) / total < 0.75
    lateness = Counter(c.lateness for c in cases if c.lateness)
    resolved = sum(lateness.values())
    assert resolved > 0.85 * total
    in_time = (lateness["early"] + lateness["on_time"]) / resolved
    assert 0.95 <= in_time < 1.0
    assert lateness["early"] > lateness["on_time"] > lateness["late"] > 0
    late = [c for c in cases if c.lateness == "late"]
    assert any(c.apologies for c in late) and any(not c.apologies for c in late)
    ends = Counter(c.end_kind for c in cases)
    assert ends["returned"] > 0 and ends["withdrawn"] > 0
    types = Counter(p["event_type"] for p in events)
    for kind in ("supplement_requested", "supplement_received", "paused", "resumed", "overdue"):
        assert types[kind] > 0, kind
    fields = Counter(c.field for c in cases)
    assert fields.most_common(1)[0][0] == "chung_thuc"
    assert fields["dat_dai"] > 0 and fields["xay_dung"] > 0


def test_duplicate_and_reorder_ratios():
    """About the asked share of events is re-sent, and about the asked share comes late."""
    messages = list(generate(config(duplicates=0.05, reorder=0.03)))
    kinds = Counter(m.kind for m in messages)
    originals = kinds["event"]
    assert 0.035 < kinds["duplicate"] / originals < 0.065
    reordered = [m for m in messages if m.reordered]
    assert 0.02 < len(reordered) / originals < 0.04
    seen: set[str] = set()
    for m in messages:
        if m.kind == "duplicate":
            assert m.msg_id in seen or any(r.msg_id == m.msg_id for r in reordered)
        seen.add(m.msg_id)
    # every valid event is there exactly once as an original
    assert originals == len(list(valid_events(config())))
    instants = [parse_rfc3339(m.payload["occurred_at"]) for m in messages if m.kind == "event"]
    assert instants != sorted(instants)


def test_take_limits_and_jsonl_writes_one_line_per_message():
    """`take` stops after N messages; JSON lines hold one message each."""
    out = io.BytesIO()
    stats = write_jsonl(take(generate(config(invalid=0.2)), 50), out)
    lines = out.getvalue().splitlines()
    assert stats.published == len(lines) == 50


def test_config_rejects_bad_values():
    """Shares outside 0..1, an empty commune list or a naive `now` are refused."""
    with pytest.raises(ValueError):
        config(duplicates=1.5)
    with pytest.raises(ValueError):
        config(communes=())
    with pytest.raises(ValueError):
        config(now=datetime(2026, 1, 1))


def test_resolve_communes_checks_the_registry():
    """Unknown communes and provinces are usage errors; a province gives all its communes."""
    registry = load_registry()
    assert resolve_communes(registry) == COMMUNES
    assert resolve_communes(registry, communes="16000, 16000,14758") == ("16000", "14758")
    assert len(resolve_communes(registry, province="38")) == len(registry.communes_of("38"))
    picked = resolve_communes(registry, random_n=5, seed=3)
    assert len(picked) == 5 and picked == resolve_communes(registry, random_n=5, seed=3)
    with pytest.raises(UsageError):
        resolve_communes(registry, communes="99999")
    with pytest.raises(UsageError):
        resolve_communes(registry, province="99")


def test_simulate_command_writes_jsonl(tmp_path, monkeypatch):
    """`tthc simulate --out FILE --events N` writes N lines; a bad commune exits 2."""
    from services.cli import main

    monkeypatch.setenv("TTHC_DATA_DIR", str(tmp_path))
    out = tmp_path / "sim.jsonl"
    assert main(["simulate", "--out", str(out), "--events", "40", "--seed", "5"]) == 0
    assert len(out.read_bytes().splitlines()) == 40
    assert main(["simulate", "--communes", "99999", "--out", str(out)]) == 2
    assert main(["simulate", "--from", "2026-13-01", "--out", str(out)]) == 2
