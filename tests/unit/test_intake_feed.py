"""The rejection feed's request parsing and what it tells a desk of one dead letter
(services/intake/feed.py); the feed under the production NATS configuration is in
tests/integration/test_desk_rejections.py."""

from __future__ import annotations

import pytest

from services.intake.feed import MAX_LIMIT, BadRequest, describe, parse_request
from services.intake.rejected import RejectedEntry


def test_requests() -> None:
    assert parse_request("tthc.rejections.16096", b"") == ("16096", 0, MAX_LIMIT)
    assert parse_request("tthc.rejections.16096", b" {} ") == ("16096", 0, MAX_LIMIT)
    assert parse_request("tthc.rejections.16096", b'{"after_seq": 7, "limit": 3}') == (
        "16096",
        7,
        3,
    )
    for subject in ("tthc.rejections.1609", "tthc.rejections.16096.x", "tthc.rejections.*"):
        with pytest.raises(BadRequest, match="subject"):
            parse_request(subject, b"")
    for body in (b"null", b'{"after_seq": 1.0}', b'{"limit": 0}', b'{"limit": "5"}'):
        with pytest.raises(BadRequest):
            parse_request("tthc.rejections.16096", body)


def entry(data: bytes, headers: dict[str, str]) -> RejectedEntry:
    return RejectedEntry(
        seq=9,
        reason="bad_type",
        detail="field must be a string",
        original_subject="tthc.events.16096.received",
        original_seq=41,
        original_headers=headers,
        rejected_at="2025-07-01T08:00:01+07:00",
        data=data,
    )


def test_a_dead_letter_is_told_by_its_codes_and_the_ids_the_desk_sent() -> None:
    body = b'{"event_id": "e1", "event_type": "received", "case_id": 7, "name": "Nguyen Van A"}'
    told = describe(entry(body, {"nats-msg-id": "e1"}))
    assert told == {
        "seq": 9,
        "reason": "bad_type",
        "detail": "field must be a string",
        "rejected_at": "2025-07-01T08:00:01+07:00",
        "subject": "tthc.events.16096.received",
        "original_seq": 41,
        "msg_id": "e1",
        "event_id": "e1",
        "event_type": "received",
        "case_id": None,  # not a string: not an id the desk sent
        "size": len(body),
    }
    raw = describe(entry(b"\xff{not json", {}))
    assert raw["event_id"] is None and raw["msg_id"] is None and raw["size"] == 10
    long = describe(entry(b'{"event_id": "' + b"x" * 500 + b'"}', {"Nats-Msg-Id": "y" * 500}))
    assert len(long["event_id"]) == 128 and len(long["msg_id"]) == 128
