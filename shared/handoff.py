"""The hand-off of accepted events from intake to the aggregator: parsed once, read safely.

Intake validates each desk message and publishes the accepted events in batches on
`tthc.accepted.batch` (stream TTHC_ACCEPTED). A hand-off message is msgpack:

    {"v": 2, "events": [entry, ...]}

Each entry is an array of the fields the aggregator needs, already parsed by intake
(instants as µs since the epoch), then the event's bytes exactly as the desk published
them, which the aggregator stores whole (see `HandoffEvent`). Nothing is parsed twice:
the aggregator never decodes the payload.

Reading never lets one bad entry cost the others: `decode` reads the entries one by
one when the message as a whole does not decode, and reports what it could not read
(`Unreadable`) beside the events it could.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from shared.domain.events import CaseEvent

SUBJECT = "tthc.accepted.batch"
VERSION = 2
MAX_MESSAGE_BYTES = 900 * 1024  # each hand-off message stays under this
_ENTRY_OVERHEAD = 256  # bytes an entry takes besides its payload, generously


class HandoffEvent(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One accepted event as handed off."""

    seq: int  # TTHC_EVENTS stream sequence of the desk message
    published_ns: int  # JetStream's stored timestamp of it, ns since the epoch
    event_id: str
    event_type: str
    case_id: str
    commune_code: str
    occurred_at: int
    channel: str | None
    due_at: int | None
    new_due_at: int | None
    field: str | None
    result_channel: str | None
    agency: str | None
    procedure_code: str | None
    digest: int  # `content_digest` of the payload bytes (a quick test for identical re-sends)
    payload: bytes  # the desk's message body, byte for byte

    def event(self) -> CaseEvent:
        return CaseEvent(
            self.event_id,
            self.event_type,
            self.case_id,
            self.commune_code,
            self.occurred_at,
            self.channel,
            self.due_at,
            self.new_due_at,
            self.field,
            self.result_channel,
            self.agency,
            self.procedure_code,
        )


class _Message(msgspec.Struct):
    v: int
    events: list[HandoffEvent]


class _Envelope(msgspec.Struct):
    v: int
    events: list[msgspec.Raw]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A hand-off entry (or whole message, `index` None) that could not be read."""

    index: int | None
    error: str
    data: bytes


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Message)
_envelope_decoder = msgspec.msgpack.Decoder(_Envelope)
_entry_decoder = msgspec.msgpack.Decoder(HandoffEvent)


def content_digest(raw: bytes) -> int:
    """A 63-bit digest of an event's bytes as published. The same bytes again are a
    duplicate at once; other bytes under a known id are compared field by field by the
    aggregator (`same_content`), which tells a re-serialised duplicate from a conflict."""
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big") >> 1


def same_content(a: bytes, b: bytes) -> bool:
    """Whether two payloads hold the same fields and values (nulls being absent), whatever
    their order or spacing. Bytes that cannot be read again count as different."""
    if a == b:
        return True
    try:
        left, right = orjson.loads(a), orjson.loads(b)
    except orjson.JSONDecodeError:
        return False
    if not (isinstance(left, dict) and isinstance(right, dict)):
        return left == right
    return {k: v for k, v in left.items() if v is not None} == {
        k: v for k, v in right.items() if v is not None
    }


def from_accepted(
    payload: dict[str, Any],
    instants: tuple[int, int | None, int | None],
    seq: int,
    published_ns: int,
    raw: bytes,
    digest: int | None = None,
) -> HandoffEvent:
    """The hand-off entry of an accepted event: its validated payload (nulls dropped),
    its parsed instants, where it came from, and its bytes as published."""
    get = payload.get
    occurred_at, due_at, new_due_at = instants
    return HandoffEvent(
        seq,
        published_ns,
        payload["event_id"],
        payload["event_type"],
        payload["case_id"],
        payload["commune_code"],
        occurred_at,
        get("channel"),
        due_at,
        new_due_at,
        get("field"),
        get("result_channel"),
        get("agency"),
        get("procedure_code"),
        content_digest(raw) if digest is None else digest,
        raw,
    )


def split(
    events: Sequence[HandoffEvent], max_bytes: int = MAX_MESSAGE_BYTES
) -> list[list[HandoffEvent]]:
    """The events in parts whose messages stay under `max_bytes`, in order."""
    parts: list[list[HandoffEvent]] = []
    current: list[HandoffEvent] = []
    size = 16
    for event in events:
        event_size = len(event.payload) + _ENTRY_OVERHEAD
        if current and size + event_size > max_bytes:
            parts.append(current)
            current, size = [], 16
        current.append(event)
        size += event_size
    if current:
        parts.append(current)
    return parts


def encode(events: Sequence[HandoffEvent]) -> bytes:
    """One hand-off message body."""
    return _encoder.encode(_Message(VERSION, list(events)))


def message_id(seqs: Sequence[int]) -> str:
    """`intake-<first>-<last>-<crc32 of the sequence list>`: the same batch published
    again (a retry) is dropped by JetStream's duplicate window."""
    crc = zlib.crc32(b",".join(str(s).encode() for s in seqs))
    return f"intake-{seqs[0]}-{seqs[-1]}-{crc:08x}"


def headers_of(events: Sequence[HandoffEvent]) -> dict[str, str]:
    seqs = [e.seq for e in events]
    return {"Nats-Msg-Id": message_id(seqs), "Tthc-Events-Seq-Max": str(max(seqs))}


def decode(data: bytes) -> tuple[list[HandoffEvent], list[Unreadable]]:
    """The events of one hand-off message, and whatever in it could not be read."""
    try:
        message = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _decode_entries(data)
    if message.v != VERSION:
        return [], [Unreadable(None, f"hand-off version {message.v}, expected {VERSION}", data)]
    return message.events, []


def _decode_entries(data: bytes) -> tuple[list[HandoffEvent], list[Unreadable]]:
    try:
        envelope = _envelope_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return [], [Unreadable(None, _short(exc), data)]
    if envelope.v != VERSION:
        return [], [Unreadable(None, f"hand-off version {envelope.v}, expected {VERSION}", data)]
    events: list[HandoffEvent] = []
    unreadable: list[Unreadable] = []
    for index, raw in enumerate(envelope.events):
        try:
            events.append(_entry_decoder.decode(raw))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            unreadable.append(Unreadable(index, _short(exc), bytes(raw)))
    return events, unreadable


def _short(exc: Exception) -> str:
    """The decoder's message, which names positions and types, never values."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
