"""Builders for the aggregator's tests: event payloads as intake hands them on, batches."""

from __future__ import annotations

from typing import Any

import orjson

from services.aggregator.store import BatchItem
from shared.domain.timeutil import parse_rfc3339

COMMUNE = "00004"  # Phường Ba Đình, Hà Nội (province 01) in the 2025 registry
COMMUNE_B = "00008"  # Phường Ngọc Hà, Hà Nội
PROVINCE = "01"


def local(text: str) -> str:
    """`YYYY-MM-DDTHH:MM` local business time as RFC 3339 with +07:00."""
    return text + ":00+07:00" if len(text) == 16 else text


def us(text: str) -> int:
    """µs since the epoch of a local `YYYY-MM-DDTHH:MM` (or full RFC 3339) text."""
    return parse_rfc3339(local(text))


def payload(
    event_id: str,
    event_type: str,
    at: str,
    case_id: str = "C1",
    commune_code: str = COMMUNE,
    **extra: Any,
) -> dict[str, Any]:
    """An event payload as published (instants as local text); `received` gets defaults."""
    body: dict[str, Any] = {
        "event_id": event_id,
        "event_type": event_type,
        "case_id": case_id,
        "commune_code": commune_code,
        "occurred_at": local(at),
    }
    if event_type == "received":
        body.setdefault("channel", extra.pop("channel", "direct"))
        body["due_at"] = local(extra.pop("due_at", "2025-03-10T17:00"))
    for key, value in extra.items():
        body[key] = local(value) if key in ("due_at", "new_due_at") else value
    return body


def items(payloads: list[dict[str, Any]], first_seq: int = 1) -> list[BatchItem]:
    """Batch items with consecutive TTHC_EVENTS sequence numbers."""
    from shared.domain.validation import event_from_payload

    return [
        BatchItem(event_from_payload(p), seq=first_seq + i, published_ns=None)
        for i, p in enumerate(payloads)
    ]


def batch_message(payloads: list[dict[str, Any]], first_seq: int, ts_ns: int) -> bytes:
    """The body intake publishes on `tthc.accepted.batch`."""
    return orjson.dumps(
        {
            "seq": [first_seq + i for i in range(len(payloads))],
            "ts": [ts_ns] * len(payloads),
            "events": payloads,
        }
    )


def story() -> list[dict[str, Any]]:
    """A small hand-built story in commune 00004 around March 2025 (decree09 M03 = 15 Feb..14 Mar).

    - C1: received 20 Feb (direct, due 10 Mar), resolved 5 Mar: early.
    - C2: received 1 Feb (postal, due 20 Feb), still open: carried over, overdue since 20 Feb.
    - C3: received 25 Feb (online_full, due 1 Mar), resolved 3 Mar: late; an apology 2 Mar.
    - C4: received 26 Feb (online_partial, due 12 Mar), waiting for a supplement since 27 Feb.
    - C5: received 10 Feb, returned 16 Feb.
    - C6: an orphan: resolved 1 Mar, never received.
    - C7: received 1 Mar (direct, dat_dai, due 14 Mar 17:00), resolved 14 Mar 10:00: on time.
    """
    return [
        payload("e1", "received", "2025-02-20T09:00", "C1", due_at="2025-03-10T17:00"),
        payload("e2", "resolved", "2025-03-05T10:00", "C1"),
        payload(
            "e3", "received", "2025-02-01T09:00", "C2", channel="postal", due_at="2025-02-20T17:00"
        ),
        payload(
            "e4",
            "received",
            "2025-02-25T09:00",
            "C3",
            channel="online_full",
            due_at="2025-03-01T17:00",
        ),
        payload("e5", "apology_sent", "2025-03-02T09:00", "C3"),
        payload("e6", "resolved", "2025-03-03T09:00", "C3"),
        payload(
            "e7",
            "received",
            "2025-02-26T09:00",
            "C4",
            channel="online_partial",
            due_at="2025-03-12T17:00",
        ),
        payload("e8", "supplement_requested", "2025-02-27T09:00", "C4"),
        payload("e9", "received", "2025-02-10T09:00", "C5"),
        payload("e10", "returned", "2025-02-16T09:00", "C5"),
        payload("e11", "resolved", "2025-03-01T09:00", "C6"),
        payload(
            "e12", "received", "2025-03-01T09:00", "C7", field="dat_dai", due_at="2025-03-14T17:00"
        ),
        payload("e13", "resolved", "2025-03-14T10:00", "C7"),
    ]
