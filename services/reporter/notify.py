"""Announcing frozen snapshots on NATS core: `tthc.snapshots.<unit code>.<period label>`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from shared.logging import get_logger
from shared.natsutil import connect
from shared.settings import Settings
from shared.subjects import SNAPSHOTS_SUBJECT_PREFIX

log = get_logger("tthc.reporter")


def snapshot_notification(record: dict[str, Any]) -> tuple[str, bytes]:
    """The subject and JSON body announcing a snapshot."""
    unit, period = record["unit"], record["period"]
    subject = f"{SNAPSHOTS_SUBJECT_PREFIX}{unit['code']}.{period['label'].replace('.', '_')}"
    body = {
        "unit": unit,
        "period": period,
        "revision": record["revision"],
        "hash": record["hash"],
        "path": record["path"],
    }
    return subject, orjson.dumps(body)


async def publish_notifications(settings: Settings, records: Iterable[dict[str, Any]]) -> None:
    """Announce snapshots made outside the service (`tthc snapshots make`); best effort."""
    records = list(records)
    if not records:
        return
    try:
        nc = await connect(
            settings,
            "tthc-snapshots-cli",
            max_reconnect_attempts=0,
            allow_reconnect=False,
            connect_timeout=2,
        )
    except Exception as exc:
        log.warning("snapshot_notify_failed", error=type(exc).__name__)
        return
    try:
        for record in records:
            subject, body = snapshot_notification(record)
            await nc.publish(subject, body)
        await nc.flush(timeout=2)
    finally:
        await nc.close()
