"""Intake's batch logic without NATS: validate, drop duplicates, build the hand-off.

`plan_batch` turns the messages of one batch into a `BatchPlan`: the accepted events
as `HandoffEvent`s (the hand-off codec of `shared.handoff`: parsed fields, content
digest, the raw bytes), the rejected messages (with reason and detail) and the count
of duplicates. `handoff_messages` builds the `tthc.accepted.batch` messages of the plan
and `rejected_message` the dead-letter message of one rejection. The service does the I/O.

A duplicate is an event id seen in the batch or recently, with the same bytes. The same
id with *other* bytes is not dropped here: it is handed off, and the aggregator tells a
re-serialised duplicate from a conflict, keeps a conflict and reports it (the first
stored still wins for the figures).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shared import handoff
from shared.domain.timeutil import format_instant
from shared.domain.validation import Accepted, CommuneLookup, validate
from shared.handoff import HandoffEvent
from shared.subjects import rejected_subject

HANDOFF_SUBJECT = handoff.SUBJECT


@dataclass(slots=True)
class Incoming:
    """One message taken from TTHC_EVENTS (what the service reads off a NATS message)."""

    subject: str
    data: bytes
    headers: dict[str, str] | None
    seq: int  # TTHC_EVENTS stream sequence
    ts_ns: int  # JetStream stored timestamp, ns since the epoch
    token: Any = None  # the service's handle for acknowledging it


@dataclass(slots=True)
class RejectedItem:
    message: Incoming
    reason: str
    detail: str


@dataclass(slots=True)
class BatchPlan:
    accepted: list[HandoffEvent] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)
    duplicates: int = 0

    @property
    def accepted_ids(self) -> list[str]:
        return [e.event_id for e in self.accepted]


class RecentIds:
    """A bounded memory of recently handed-off event ids and their content digests
    (oldest forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._ids: dict[str, int] = {}

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, event_id: str) -> int | None:
        return self._ids.get(event_id)

    def add_all(self, events: Iterable[HandoffEvent]) -> None:
        ids = self._ids
        for event in events:
            ids.pop(event.event_id, None)
            ids[event.event_id] = event.digest
        excess = len(ids) - self.capacity
        if excess > 0:
            for key in list(_take(ids, excess)):
                del ids[key]


def _take(ids: dict[str, int], n: int) -> Iterable[str]:
    it = iter(ids)
    for _ in range(n):
        yield next(it)


def plan_batch(
    messages: Sequence[Incoming],
    *,
    registry: CommuneLookup,
    recent: RecentIds,
    max_skew_us: int,
    max_payload_bytes: int,
) -> BatchPlan:
    """Validate each message; keep the first of each event id and content not recently
    handed off."""
    plan = BatchPlan()
    in_batch: dict[str, int] = {}
    for msg in sorted(messages, key=_seq_of):
        result = validate(
            msg.subject,
            msg.data,
            registry=registry,
            received_at=msg.ts_ns // 1000,
            max_skew_us=max_skew_us,
            max_payload_bytes=max_payload_bytes,
        )
        if type(result) is Accepted:
            event_id = result.payload["event_id"]
            digest = handoff.content_digest(msg.data)
            seen = in_batch.get(event_id)
            if seen is None:
                seen = recent.get(event_id)
            if seen == digest:
                plan.duplicates += 1
                continue
            in_batch[event_id] = digest
            plan.accepted.append(
                handoff.from_accepted(
                    result.payload, result.instants, msg.seq, msg.ts_ns, msg.data, digest
                )
            )
        else:
            plan.rejected.append(RejectedItem(msg, result.reason, result.detail))  # type: ignore[union-attr]
    return plan


def _seq_of(msg: Incoming) -> int:
    return msg.seq


def handoff_messages(
    accepted: Sequence[HandoffEvent], max_bytes: int = handoff.MAX_MESSAGE_BYTES
) -> list[tuple[bytes, dict[str, str]]]:
    """The `tthc.accepted.batch` messages (body, headers) of the accepted events, split by size."""
    return [
        (handoff.encode(part), handoff.headers_of(part))
        for part in handoff.split(accepted, max_bytes)
    ]


def _encoded_size(body: bytes, headers: dict[str, str]) -> int:
    """Bytes a message takes against the server's max_payload (NATS/1.0 headers + body)."""
    return len(body) + 12 + sum(len(k) + len(v.encode()) + 4 for k, v in headers.items())


def rejected_message(
    item: RejectedItem, rejected_at_us: int, max_message_bytes: int | None = None
) -> tuple[str, bytes, dict[str, str]]:
    """Subject, body (the original bytes) and headers of one dead-letter message.

    A dead letter must fit the server's message limit, or it could never be stored and
    the batch would be retried forever. Only a message within a few hundred bytes of
    that limit can overflow: its original headers are then left out (marked
    `Tthc-Original-Headers-Omitted`), and if even that does not fit, the body is cut
    to fit and marked `Tthc-Truncated-From: <original size>`; the whole original stays
    in TTHC_EVENTS at `Tthc-Original-Seq`.
    """
    msg = item.message
    original_headers = json.dumps(msg.headers or {}, ensure_ascii=True, separators=(",", ":"))
    headers = {
        "Nats-Msg-Id": f"rejected-{msg.seq}",
        "Tthc-Reason": item.reason,
        "Tthc-Detail": _header_safe(item.detail),
        "Tthc-Original-Subject": _header_safe(msg.subject),
        "Tthc-Original-Seq": str(msg.seq),
        "Tthc-Original-Headers": original_headers,
        "Tthc-Rejected-At": format_instant(rejected_at_us),
    }
    if headers["Tthc-Original-Subject"] != msg.subject:
        headers["Tthc-Original-Subject"] = quote(msg.subject, safe=_SUBJECT_SAFE)
        headers["Tthc-Original-Subject-Encoding"] = "percent"
    body = msg.data
    if max_message_bytes is not None and _encoded_size(body, headers) > max_message_bytes:
        del headers["Tthc-Original-Headers"]
        headers["Tthc-Original-Headers-Omitted"] = "true"
        room = max_message_bytes - _encoded_size(b"", headers) - 64
        if len(body) > room:
            headers["Tthc-Truncated-From"] = str(len(body))
            body = body[: max(room, 0)]
    return rejected_subject(item.reason, msg.subject), body, headers


# Header values are printable ASCII: anything else in a subject is percent-encoded (and
# marked), so a dead letter can always be read back and replayed to its exact subject.
_SUBJECT_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


def _header_safe(text: str) -> str:
    """Printable ASCII kept, line breaks made spaces; any other character (controls,
    non-ASCII) written as a `\\x..` / `\\u....` escape."""
    text = text.replace("\r", " ").replace("\n", " ")
    return _NOT_PRINTABLE_ASCII.sub(lambda m: m.group().encode("unicode_escape").decode(), text)
