"""Reading and replaying the dead-letter stream TTHC_REJECTED (the `tthc rejected` commands).

Reading never consumes: messages are fetched one by one with the stream's message-get
API (by sequence, or the next one on a subject), so nothing is acknowledged or removed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.subjects import EVENTS_PREFIX, EVENTS_STREAM, REJECTED_PREFIX, REJECTED_STREAM

PREVIEW_FIELDS = ("event_id", "event_type", "case_id", "commune_code")


@dataclass(frozen=True, slots=True)
class RejectedEntry:
    seq: int
    reason: str
    detail: str
    original_subject: str
    original_seq: int | None
    original_headers: dict[str, Any]
    rejected_at: str
    data: bytes

    def preview(self) -> dict[str, Any]:
        """A safe preview: size and the id fields only (never names or id numbers)."""
        out: dict[str, Any] = {"size": len(self.data)}
        try:
            payload = orjson.loads(self.data)
        except orjson.JSONDecodeError:
            return out
        if isinstance(payload, dict):
            for key in PREVIEW_FIELDS:
                value = payload.get(key)
                if isinstance(value, str):
                    out[key] = value[:64]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "reason": self.reason,
            "detail": self.detail,
            "original_subject": self.original_subject,
            "original_seq": self.original_seq,
            "rejected_at": self.rejected_at,
            "preview": self.preview(),
        }


def _entry(raw: Any) -> RejectedEntry:
    headers = raw.headers or {}
    try:
        original_headers = orjson.loads(headers.get("Tthc-Original-Headers", "{}"))
    except orjson.JSONDecodeError:
        original_headers = {}
    reason = headers.get("Tthc-Reason") or raw.subject[len(REJECTED_PREFIX) :].split(".")[0]
    original_seq = headers.get("Tthc-Original-Seq", "")
    return RejectedEntry(
        seq=raw.seq,
        reason=reason,
        detail=headers.get("Tthc-Detail", ""),
        original_subject=_subject(headers),
        original_seq=int(original_seq) if original_seq.isdigit() else None,
        original_headers=original_headers if isinstance(original_headers, dict) else {},
        rejected_at=headers.get("Tthc-Rejected-At", ""),
        data=raw.data or b"",
    )


def _subject(headers: dict[str, str]) -> str:
    subject = headers.get("Tthc-Original-Subject", "")
    if headers.get("Tthc-Original-Subject-Encoding") == "percent":
        return unquote(subject)
    return subject


async def iter_rejected(
    js: JetStreamContext,
    reason: str | None = None,
    after_seq: int = 0,
    commune: str | None = None,
) -> AsyncIterator[RejectedEntry]:
    """Every rejected message (of one reason, of one commune, when given), oldest first.

    Dead letters are `tthc.rejected.<reason>.<commune>`; those written before the commune
    token was added are `tthc.rejected.<reason>` and belong to no commune."""
    if commune is not None:
        subjects = [f"{REJECTED_PREFIX}{reason or '*'}.{commune}"]
    elif reason is not None:
        subjects = [REJECTED_PREFIX + reason, f"{REJECTED_PREFIX}{reason}.*"]
    else:
        subjects = [REJECTED_PREFIX + ">"]
    heads = {s: await _next_on(js, s, after_seq + 1) for s in subjects}
    while True:
        live = [(raw.seq, s) for s, raw in heads.items() if raw is not None]
        if not live:
            return
        _, subject = min(live)
        raw = heads[subject]
        yield _entry(raw)
        heads[subject] = await _next_on(js, subject, raw.seq + 1)


async def _next_on(js: JetStreamContext, subject: str, seq: int) -> Any:
    """The first message on `subject` at or after `seq`, or None."""
    try:
        return await js.get_msg(REJECTED_STREAM, seq=seq, subject=subject, next=True)
    except NotFoundError:
        return None


async def get_rejected(js: JetStreamContext, seq: int) -> RejectedEntry | None:
    try:
        return _entry(await js.get_msg(REJECTED_STREAM, seq=seq))
    except NotFoundError:
        return None


@dataclass
class ReplayResult:
    replayed: list[int]
    skipped: list[tuple[int, str]]


async def replay(
    js: JetStreamContext,
    entries: list[RejectedEntry],
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Republish each entry's original bytes to its original subject with a new msg id."""
    result = ReplayResult([], [])
    for n, entry in enumerate(entries, 1):
        subject = entry.original_subject
        if not subject.startswith(EVENTS_PREFIX) or " " in subject:
            result.skipped.append((entry.seq, "original subject is outside TTHC_EVENTS"))
            continue
        if not dry_run:
            headers = {
                str(k): str(v)
                for k, v in entry.original_headers.items()
                if str(k).lower() != "nats-msg-id"
            }
            headers["Nats-Msg-Id"] = f"replay-{entry.seq}-{time.time_ns()}"
            headers["Tthc-Replay-Of"] = str(entry.seq)
            await js.publish(subject, entry.data, stream=EVENTS_STREAM, headers=headers)
        result.replayed.append(entry.seq)
        if progress is not None and n % 1000 == 0:
            progress(n, len(entries))
    return result
