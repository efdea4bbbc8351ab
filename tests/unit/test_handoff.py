"""The hand-off codec (shared/handoff.py): parsed once by intake, read safely by the aggregator."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import orjson

from services.simulator.generate import SimConfig, generate, take
from shared import handoff
from shared.domain.validation import event_from_payload
from tests.kits.aggregator import COMMUNE, COMMUNE_B, event_of, payload


def simulated_payloads(n: int) -> list[dict]:
    cfg = SimConfig(
        communes=(COMMUNE, COMMUNE_B),
        start=date(2025, 1, 6),
        end=date(2025, 3, 28),
        now=datetime(2025, 4, 1, tzinfo=UTC),
        seed=11,
        cases_per_day=6,
    )
    return [m.payload for m in take(generate(cfg), n) if m.payload is not None]


def test_a_handed_off_event_is_the_event_of_its_payload() -> None:
    """Decoded hand-off entries give the same CaseEvent as the payload, field by field,
    and carry the desk's bytes unchanged."""
    payloads = simulated_payloads(600)
    payloads.append(payload("x1", "apology_sent", "2025-03-02T09:00", new_due_at="2025-03-09T17:00"))
    payloads.append(payload("x2", "received", "2025-03-02T09:00", due_at="2025-03-09T17:00:00.123-03:30"))
    payloads.append(payload("x3", "received", "2025-03-02T09:00", agency="cong_an", procedure_code="1.0"))
    assert any("new_due_at" in p for p in payloads)
    sent = [event_of(p, i + 1, 1000 + i) for i, p in enumerate(payloads)]
    decoded, unreadable = handoff.decode(handoff.encode(sent))
    assert unreadable == [] and decoded == sent
    for p, e in zip(payloads, decoded, strict=True):
        assert e.event() == event_from_payload(p)
        assert e.payload == orjson.dumps(p)
    assert decoded[-1].event().agency == "cong_an" and decoded[-1].procedure_code == "1.0"


def test_one_unreadable_entry_costs_no_other() -> None:
    """An entry that does not decode is reported alone, with its bytes; the rest are read."""
    good = [event_of(payload(f"g{i}", "received", "2025-03-01T08:00", f"C{i}"), i) for i in (1, 2)]
    entries = [msgspec.msgpack.encode(good[0]), msgspec.msgpack.encode([1, "two"]), msgspec.msgpack.encode(good[1])]
    body = msgspec.msgpack.encode({"v": handoff.VERSION, "events": [msgspec.Raw(e) for e in entries]})
    events, unreadable = handoff.decode(body)
    assert events == good
    assert [(u.index, u.data) for u in unreadable] == [(1, entries[1])]
    assert "Expected" in unreadable[0].error or "array" in unreadable[0].error


def test_an_unreadable_message_is_reported_whole() -> None:
    """Bytes that are no hand-off at all, or another version, are one `Unreadable` each."""
    for body in (b"not msgpack at all", msgspec.msgpack.encode({"v": 1, "events": []})):
        events, unreadable = handoff.decode(body)
        assert events == [] and len(unreadable) == 1
        assert unreadable[0].index is None and unreadable[0].data == body


def test_same_content_ignores_order_spacing_and_nulls_not_values() -> None:
    """Identical bytes have one digest; the same fields in another order, with other
    spacing or an optional null, are the same content; another value is not."""
    a = {"event_id": "e", "case_id": "c", "due_at": "2025-03-01T08:00:00Z"}
    raw = orjson.dumps(a)
    assert handoff.content_digest(raw) == handoff.content_digest(orjson.dumps(a))
    assert 0 <= handoff.content_digest(raw) < 2**63
    reordered = orjson.dumps(dict(reversed(list(a.items())))).replace(b",", b", ")
    assert handoff.content_digest(reordered) != handoff.content_digest(raw)
    assert handoff.same_content(raw, reordered)
    assert handoff.same_content(raw, orjson.dumps(dict(a, field=None)))
    assert not handoff.same_content(raw, orjson.dumps(dict(a, due_at="2025-03-02T08:00:00Z")))
    assert not handoff.same_content(raw, b"not json")


def test_a_payload_too_deep_to_write_again_has_a_digest() -> None:
    """orjson reads 1024 levels but writes 255: the digest is of the bytes, so such a
    payload never raises where a batch is planned."""
    import json

    deep: object = "x"
    for _ in range(400):
        deep = [deep]
    raw = json.dumps({"event_id": "e", "notes": deep}).encode()
    assert handoff.content_digest(raw) == handoff.content_digest(raw)
    assert handoff.content_digest(raw) != handoff.content_digest(raw + b" ")
    assert handoff.same_content(raw, raw)
