"""Intake's batch logic without NATS: validate, drop duplicates, build the hand-off.

`plan_batch` turns the messages of one batch into a `BatchPlan`: the accepted events
(stream sequence, publish time, raw bytes, event id), the rejected messages (with
reason and detail) and the count of duplicates. `handoff_messages` builds the
`tthc.accepted.batch` messages of the plan (docs/intake.md, "Hand-off format") and
`rejected_message` the dead-letter message of one rejection. The service does the I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.domain.timeutil import format_instant
from shared.domain.validation import Accepted, CommuneLookup, validate
from shared.subjects import REJECTED_PREFIX

HANDOFF_SUBJECT = "tthc.accepted.batch"
MAX_HANDOFF_BYTES = 900 * 1024  # each batch message stays under this
_PER_EVENT_OVERHEAD = 48  # two integers and three commas, generously


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
    accepted: list[tuple[int, int, bytes]] = field(default_factory=list)  # seq, ts_ns, raw
    accepted_ids: list[str] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)
    duplicates: int = 0


class RecentIds:
    """A bounded memory of recently handed-off event ids (oldest forgotten first)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._ids: dict[str, None] = {}

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add_all(self, event_ids: Iterable[str]) -> None:
        ids = self._ids
        for event_id in event_ids:
            ids.pop(event_id, None)
            ids[event_id] = None
        excess = len(ids) - self.capacity
        if excess > 0:
            for key in list(_take(ids, excess)):
                del ids[key]


def _take(ids: dict[str, None], n: int) -> Iterable[str]:
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
    """Validate each message; keep the first of each event id not recently handed off."""
    plan = BatchPlan()
    in_batch: set[str] = set()
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
            if event_id in in_batch or event_id in recent:
                plan.duplicates += 1
                continue
            in_batch.add(event_id)
            plan.accepted.append((msg.seq, msg.ts_ns, msg.data))
            plan.accepted_ids.append(event_id)
        else:
            plan.rejected.append(RejectedItem(msg, result.reason, result.detail))  # type: ignore[union-attr]
    return plan


def _seq_of(msg: Incoming) -> int:
    return msg.seq


def _handoff_body(part: Sequence[tuple[int, int, bytes]]) -> bytes:
    seqs = b",".join(str(s).encode() for s, _, _ in part)
    tss = b",".join(str(t).encode() for _, t, _ in part)
    events = b",".join(raw for _, _, raw in part)
    return b'{"seq":[' + seqs + b'],"ts":[' + tss + b'],"events":[' + events + b"]}"


def handoff_msg_id(seqs: Sequence[int]) -> str:
    """`intake-<first>-<last>-<crc32 of the sequence list>` (see docs/intake.md)."""
    crc = zlib.crc32(b",".join(str(s).encode() for s in seqs))
    return f"intake-{seqs[0]}-{seqs[-1]}-{crc:08x}"


def handoff_messages(
    accepted: Sequence[tuple[int, int, bytes]], max_bytes: int = MAX_HANDOFF_BYTES
) -> list[tuple[bytes, dict[str, str]]]:
    """The `tthc.accepted.batch` messages (body, headers) of the accepted events, split by size."""
    parts: list[list[tuple[int, int, bytes]]] = []
    current: list[tuple[int, int, bytes]] = []
    size = 64
    for item in accepted:
        item_size = len(item[2]) + _PER_EVENT_OVERHEAD
        if current and size + item_size > max_bytes:
            parts.append(current)
            current, size = [], 64
        current.append(item)
        size += item_size
    if current:
        parts.append(current)
    out: list[tuple[bytes, dict[str, str]]] = []
    for part in parts:
        seqs = [s for s, _, _ in part]
        headers = {"Nats-Msg-Id": handoff_msg_id(seqs), "Tthc-Events-Seq-Max": str(max(seqs))}
        out.append((_handoff_body(part), headers))
    return out


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
    original_headers = orjson.dumps(msg.headers or {}).decode()
    headers = {
        "Nats-Msg-Id": f"rejected-{msg.seq}",
        "Tthc-Reason": item.reason,
        "Tthc-Detail": _header_safe(item.detail),
        "Tthc-Original-Subject": _header_safe(msg.subject),
        "Tthc-Original-Seq": str(msg.seq),
        "Tthc-Original-Headers": _header_safe(original_headers),
        "Tthc-Rejected-At": format_instant(rejected_at_us),
    }
    body = msg.data
    if max_message_bytes is not None and _encoded_size(body, headers) > max_message_bytes:
        del headers["Tthc-Original-Headers"]
        headers["Tthc-Original-Headers-Omitted"] = "true"
        room = max_message_bytes - _encoded_size(b"", headers) - 64
        if len(body) > room:
            headers["Tthc-Truncated-From"] = str(len(body))
            body = body[: max(room, 0)]
    return REJECTED_PREFIX + item.reason, body, headers


def _header_safe(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")
