#!/usr/bin/env python3
"""Publish a case's events to tthc the way desk software should (docs/vendors.md).

Needs only nats-py (`pip install nats-py`). Publishes one dossier's story — received,
then resolved — for one commune, each event as a JetStream publish that waits for the
ack, with the header `Nats-Msg-Id: <event_id>`, retried with the SAME event id on a
timeout (the duplicate is dropped, never counted twice).

    python examples/publish_case.py --url nats://nats.example.vn:4222 \\
        --user desk-00004 --password "$DESK_PASSWORD" --commune 00004

The desk user may publish only on `tthc.events.<its commune>.>` and read only replies on
`_INBOX_<commune>.>`, so the connection uses that inbox prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from datetime import datetime, timedelta, timezone

import nats
from nats.js import JetStreamContext
from nats.js.api import PubAck

VN = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: business time


def rfc3339(moment: datetime) -> str:
    """An RFC 3339 timestamp with offset, e.g. 2025-07-01T08:30:00+07:00."""
    return moment.astimezone(VN).isoformat(timespec="seconds")


def make_event(
    event_type: str, commune_code: str, case_id: str, occurred_at: datetime, **fields: object
) -> dict[str, object]:
    """One event of the contract. The event id is new and unique forever: keep it with the
    event in your own database, so a retry after a crash re-sends the same id."""
    event: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "case_id": case_id,
        "commune_code": commune_code,
        "occurred_at": rfc3339(occurred_at),
    }
    event.update(fields)
    return event


def subject_of(event: dict[str, object]) -> str:
    """`tthc.events.<commune_code>.<event_type>`: tokens equal to the payload's fields."""
    return f"tthc.events.{event['commune_code']}.{event['event_type']}"


async def publish_event(
    js: JetStreamContext, event: dict[str, object], attempts: int = 5, timeout: float = 5.0
) -> PubAck:
    """JetStream publish waiting for the ack; on a timeout, retry the same bytes and id."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Nats-Msg-Id": str(event["event_id"])}
    for attempt in range(1, attempts + 1):
        try:
            return await js.publish(subject_of(event), data, headers=headers, timeout=timeout)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            if attempt == attempts:
                raise
            await asyncio.sleep(min(2**attempt, 30))
    raise AssertionError("unreachable")


def case_story(commune_code: str, case_id: str, now: datetime) -> list[dict[str, object]]:
    """A birth registration received online today, due in 3 days, resolved an hour later."""
    received = make_event(
        "received",
        commune_code,
        case_id,
        now,
        channel="online_full",
        due_at=rfc3339(now + timedelta(days=3)),
        field="ho_tich",
        procedure_code="1.001193",
        actor="staff-07",
    )
    resolved = make_event(
        "resolved", commune_code, case_id, now + timedelta(hours=1), result_channel="online"
    )
    return [received, resolved]


async def run(
    url: str, commune: str, case_id: str, user: str | None, password: str | None
) -> list[PubAck]:
    options: dict[str, object] = {"inbox_prefix": f"_INBOX_{commune}"}
    if user:
        options.update(user=user, password=password or "")
    nc = await nats.connect(url, **options)  # type: ignore[arg-type]
    try:
        js = nc.jetstream()
        # Business time in the past: occurred_at may not be ahead of tthc's clock.
        now = datetime.now(VN).replace(microsecond=0) - timedelta(hours=2)
        acks = []
        for event in case_story(commune, case_id, now):
            ack = await publish_event(js, event)
            print(f"{event['event_type']:<10} {event['event_id']} -> {ack.stream} seq {ack.seq}")
            acks.append(ack)
        return acks
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--user", default=os.environ.get("NATS_USER"))
    parser.add_argument("--password", default=os.environ.get("NATS_PASSWORD"))
    parser.add_argument("--commune", default="00004", help="5-digit commune code")
    parser.add_argument("--case", default=f"HS-{uuid.uuid4().hex[:10].upper()}", help="case id")
    args = parser.parse_args(argv)
    asyncio.run(run(args.url, args.commune, args.case, args.user, args.password))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
