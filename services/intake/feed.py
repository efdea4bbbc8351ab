"""Each desk's own rejected messages, on request: `tthc.rejections.<commune>`.

A desk user may publish only on its own commune's subjects and receive only on its inbox
(deploy/nats/accounts.conf), so it can read neither TTHC_REJECTED nor anyone's replies.
It sends a NATS request on `tthc.rejections.<its commune>` instead, and intake answers
from TTHC_REJECTED with that commune's dead letters (`tthc.rejected.*.<commune>`, the
commune of the subject each message was published on) after a sequence, oldest first,
at most 100 a reply. For each: its sequence, reason, detail, when, the subject and the
ids the desk sent (Nats-Msg-Id header, event_id, event_type, case_id). Never a body
(the desk has it) and never another commune's: the commune is the token of the request
subject, which the server lets only that commune's desk user publish on.

    request  {"after_seq": 0, "limit": 100}      (an empty body is {})
    reply    {"commune_code": "16096", "rejections": [...], "next_after_seq": 17, "more": false}
             {"error": "bad_request" | "unavailable", "detail": "..."}

Reading uses the stream's message-get API, as `tthc rejected list` does: nothing is
consumed. The payloads are described in docs/asyncapi.json (RejectionsRequest,
RejectionsPage, RequestError); docs/vendors.md tells desks how to use it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.intake.rejected import RejectedEntry, iter_rejected
from shared.logging import get_logger
from shared.subjects import REJECTIONS_PREFIX, REJECTIONS_SUBJECTS

log = get_logger("tthc.intake.feed")

QUEUE = "tthc-intake"  # several intakes share the requests
MAX_LIMIT = 100
_ID_CHARS = 128
_TEXT_CHARS = 256
_REQUEST_KEYS = frozenset({"after_seq", "limit"})


class BadRequest(ValueError):
    """A request this feed cannot answer; the message is sent back as the detail."""


def parse_request(subject: str, data: bytes) -> tuple[str, int, int]:
    """(commune, after_seq, limit) of a request, or BadRequest."""
    commune = subject[len(REJECTIONS_PREFIX) :] if subject.startswith(REJECTIONS_PREFIX) else ""
    if not (len(commune) == 5 and commune.isascii() and commune.isdigit()):
        raise BadRequest("the subject is not tthc.rejections.<5-digit commune code>")
    if not data.strip():
        return commune, 0, MAX_LIMIT
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not JSON") from None
    if type(body) is not dict or not _REQUEST_KEYS.issuperset(body):
        raise BadRequest('the body is not {"after_seq": N, "limit": L}')
    after_seq, limit = body.get("after_seq", 0), body.get("limit", MAX_LIMIT)
    if type(after_seq) is not int or after_seq < 0:
        raise BadRequest("after_seq must be an integer of 0 or more")
    if type(limit) is not int or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return commune, after_seq, limit


def describe(entry: RejectedEntry) -> dict[str, Any]:
    """What a desk is told of one of its dead letters: codes, times, its own ids."""
    ids: dict[str, Any] = {"event_id": None, "event_type": None, "case_id": None}
    try:
        body = orjson.loads(entry.data)
    except orjson.JSONDecodeError:
        body = None
    if type(body) is dict:
        for key in ids:
            if type(body.get(key)) is str:
                ids[key] = body[key][:_ID_CHARS]
    msg_id = next(
        (v for k, v in entry.original_headers.items() if str(k).lower() == "nats-msg-id"), None
    )
    return {
        "seq": entry.seq,
        "reason": entry.reason,
        "detail": entry.detail[:_TEXT_CHARS],
        "rejected_at": entry.rejected_at,
        "subject": entry.original_subject[:_TEXT_CHARS],
        "original_seq": entry.original_seq,
        "msg_id": str(msg_id)[:_ID_CHARS] if msg_id is not None else None,
        **ids,
        "size": len(entry.data),
    }


async def page(js: JetStreamContext, commune: str, after_seq: int, limit: int) -> dict[str, Any]:
    """The commune's dead letters after `after_seq`, oldest first, at most `limit`."""
    rejections: list[dict[str, Any]] = []
    more = False
    async for entry in iter_rejected(js, after_seq=after_seq, commune=commune):
        if len(rejections) == limit:
            more = True
            break
        rejections.append(describe(entry))
    return {
        "commune_code": commune,
        "rejections": rejections,
        "next_after_seq": rejections[-1]["seq"] if rejections else after_seq,
        "more": more,
    }


class RejectionFeed:
    """Answers `tthc.rejections.<commune>` requests (queue group tthc-intake) one by one."""

    def __init__(self) -> None:
        self._sub: Any = None
        self._js: JetStreamContext | None = None

    async def start(self, nc: Client, js: JetStreamContext) -> None:
        self._js = js
        self._sub = await nc.subscribe(REJECTIONS_SUBJECTS, queue=QUEUE, cb=self._on_request)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def answer(self, subject: str, data: bytes) -> dict[str, Any]:
        """The reply to one request (never raises)."""
        try:
            commune, after_seq, limit = parse_request(subject, data)
        except BadRequest as exc:
            return {"error": "bad_request", "detail": str(exc)}
        try:
            assert self._js is not None
            reply = await page(self._js, commune, after_seq, limit)
        except Exception as exc:
            log.warning("rejections_request_failed", commune=commune, error=repr(exc)[:200])
            return {"error": "unavailable", "detail": "the dead letters cannot be read now"}
        log.debug("rejections_request", commune=commune, sent=len(reply["rejections"]))
        return reply

    async def _on_request(self, msg: Msg) -> None:
        if not msg.reply:
            return  # a plain publish: nobody to answer
        reply = await self.answer(msg.subject, msg.data)
        with contextlib.suppress(Exception):
            await msg.respond(orjson.dumps(reply))
