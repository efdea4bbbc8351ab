"""Intake's batch logic without NATS: dedup, hand-off body and split, dead-letter headers."""

from __future__ import annotations

import orjson

from services.intake.handler import (
    Incoming,
    RecentIds,
    RejectedItem,
    handoff_messages,
    plan_batch,
    rejected_message,
)
from services.intake.service import _ack_meta
from shared import handoff

TS = 1_756_692_000 * 10**9  # 2025-09-01T02:00:00Z in ns


def raw(i: int, **over: object) -> bytes:
    body = {
        "event_id": f"ev-{i}",
        "event_type": "resolved",
        "case_id": f"c{i}",
        "commune_code": "16000",
        "occurred_at": "2025-09-01T08:00:00+07:00",
    }
    body.update(over)
    return orjson.dumps(body)


def msg(seq: int, data: bytes, subject: str = "tthc.events.16000.resolved") -> Incoming:
    return Incoming(subject, data, {"Nats-Msg-Id": str(seq)}, seq, TS + seq)


def plan(messages, recent=None):
    return plan_batch(
        messages,
        registry={"16000"},
        recent=recent or RecentIds(10),
        max_skew_us=300_000_000,
        max_payload_bytes=65536,
    )


def test_plan_keeps_first_of_each_id_and_counts_duplicates() -> None:
    """Within a batch, the lowest sequence of an event id wins; the rest are duplicates."""
    recent = RecentIds(10)
    recent.add_all(plan([msg(1, raw(9))]).accepted)
    p = plan([msg(3, raw(1)), msg(2, raw(1)), msg(4, raw(9)), msg(5, b"nope")], recent)
    assert [e.seq for e in p.accepted] == [2]
    assert p.accepted_ids == ["ev-1"] and p.duplicates == 2
    assert [(r.reason, r.message.seq) for r in p.rejected] == [("invalid_json", 5)]


def test_same_id_other_content_is_handed_off_not_dropped() -> None:
    """An event id seen with other bytes (in the batch or recently) goes on to the
    aggregator, which tells a re-serialised duplicate from a conflict, keeps and reports
    the conflict; the same bytes re-sent are a duplicate here."""
    recent = RecentIds(10)
    recent.add_all(plan([msg(1, raw(9))]).accepted)
    resent = orjson.dumps(dict(reversed(list(orjson.loads(raw(9)).items()))))
    p = plan(
        [msg(2, raw(9)), msg(3, raw(9, case_id="other")), msg(4, raw(1)), msg(5, raw(1, actor="x")),
         msg(6, resent)],
        recent,
    )  # fmt: skip
    assert [(e.seq, e.event_id) for e in p.accepted] == [(3, "ev-9"), (4, "ev-1"), (5, "ev-1"), (6, "ev-9")]
    assert p.duplicates == 1


def test_received_at_is_the_stored_timestamp() -> None:
    """future_timestamp is judged against the message's stored time, not the clock now."""
    p = plan([msg(1, raw(1, occurred_at="2025-09-01T02:06:00Z"))])
    assert p.rejected[0].reason == "future_timestamp"


def accepted_events(seqs, **over: object) -> list:
    return plan([msg(i, raw(i, **over)) for i in seqs]).accepted


def test_handoff_body_is_the_documented_codec_and_splits_under_the_limit() -> None:
    """Bodies decode with the hand-off codec, parsed fields and raw bytes; big batches
    split with their own ids."""
    accepted = accepted_events(range(1, 101), pad="x" * 300)
    one = handoff_messages(accepted)
    assert len(one) == 1
    body, headers = one[0]
    decoded, unreadable = handoff.decode(body)
    assert not unreadable
    assert [e.seq for e in decoded] == list(range(1, 101)) and decoded[0].published_ns == TS + 1
    assert decoded[5].event_id == "ev-6" and decoded[5].payload == raw(6, pad="x" * 300)
    assert decoded[5].occurred_at == 1_756_688_400_000_000
    assert headers["Nats-Msg-Id"].startswith("intake-1-100-")
    assert headers["Tthc-Events-Seq-Max"] == "100"
    parts = handoff_messages(accepted, max_bytes=5000)
    assert len(parts) > 1 and all(len(b) <= 5000 for b, _ in parts)
    seqs = [e.seq for b, _ in parts for e in handoff.decode(b)[0]]
    assert seqs == list(range(1, 101))
    assert len({h["Nats-Msg-Id"] for _, h in parts}) == len(parts)


def test_msg_id_differs_when_content_between_same_ends_differs() -> None:
    """Two parts with the same first and last sequence but other content get other ids."""
    a = handoff_messages(accepted_events([1, 5]))[0][1]["Nats-Msg-Id"]
    b = handoff_messages(accepted_events([1, 3, 5]))[0][1]["Nats-Msg-Id"]
    assert a != b


def test_rejected_message_keeps_bytes_and_headers() -> None:
    """The dead letter carries the original bytes, reason and provenance headers."""
    m = Incoming("tthc.events.16000.x", b"\x00raw", {"A": "b"}, 42, TS)
    subject, body, headers = rejected_message(RejectedItem(m, "invalid_json", "not\nJSON"), 0)
    assert subject == "tthc.rejected.invalid_json.16000" and body == b"\x00raw"
    assert headers["Nats-Msg-Id"] == "rejected-42"
    assert headers["Tthc-Original-Seq"] == "42" and headers["Tthc-Detail"] == "not JSON"
    assert orjson.loads(headers["Tthc-Original-Headers"]) == {"A": "b"}
    assert headers["Tthc-Rejected-At"] == "1970-01-01T07:00:00+07:00"


def test_rejected_subject_names_the_commune_the_message_was_published_for() -> None:
    """tthc.rejected.<reason>.<commune of the subject>: `none` when it names no commune."""
    cases = {
        "tthc.events.16000.received": "tthc.rejected.bad_type.16000",
        "tthc.events.00004.a.b.c": "tthc.rejected.bad_type.00004",
        "tthc.events.16000": "tthc.rejected.bad_type.16000",
        "tthc.events.160.received": "tthc.rejected.bad_type.none",
        "tthc.events.１６０００.received": "tthc.rejected.bad_type.none",
        "tthc.events.16000x.received": "tthc.rejected.bad_type.none",
        "other.16000.received": "tthc.rejected.bad_type.none",
        "": "tthc.rejected.bad_type.none",
    }
    for original, expected in cases.items():
        m = Incoming(original, b"{}", None, 1, TS)
        assert rejected_message(RejectedItem(m, "bad_type", "x"), 0)[0] == expected


def test_recent_ids_forget_the_oldest() -> None:
    """The recent-id memory is bounded."""
    r = RecentIds(3)
    r.add_all(accepted_events([1, 2, 3, 4]))
    assert len(r) == 3 and "ev-1" not in r and "ev-4" in r


def test_ack_metadata_v1_and_v2() -> None:
    """Stream sequence and timestamp come from both ack subject formats."""
    assert _ack_meta("$JS.ACK.S.C.1.42.7.1700000000000000000.0") == (42, 1700000000000000000)
    assert _ack_meta("$JS.ACK.dom.hash.S.C.1.42.7.1700000000000000000.0.tok") == (
        42,
        1700000000000000000,
    )
    assert _ack_meta("_INBOX.x") is None


def test_dead_letter_near_the_message_limit_still_fits() -> None:
    """A dead letter that would overflow max_payload drops original headers, then cuts the body."""
    m = Incoming("tthc.events.16000.x", b"x" * 900, {"Big": "h" * 300}, 7, TS)
    item = RejectedItem(m, "payload_too_large", "too big")
    _, body, headers = rejected_message(item, 0, max_message_bytes=100_000)
    assert body == m.data and "Tthc-Original-Headers" in headers  # room: kept whole
    _, body, headers = rejected_message(item, 0, max_message_bytes=1_300)
    assert body == m.data and headers["Tthc-Original-Headers-Omitted"] == "true"
    assert "Tthc-Original-Headers" not in headers
    _, body, headers = rejected_message(item, 0, max_message_bytes=1_000)
    assert headers["Tthc-Truncated-From"] == "900" and body == m.data[: len(body)]
    size = len(body) + 12 + sum(len(k) + len(v) + 4 for k, v in headers.items())
    assert size <= 1_000 and headers["Tthc-Original-Seq"] == "7"
