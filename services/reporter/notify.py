"""Announcing frozen snapshots on NATS core: `tthc.snapshots.<unit code>.<period label>`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from shared.errors import Unavailable
from shared.logging import get_logger
from shared.natsutil import connect_for_command
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
        # Tried once, within a few seconds (never the reconnecting connect: its
        # max_reconnect_attempts=0 retries the first connect for ever).
        nc = await connect_for_command(settings, "tthc-snapshots-cli")
    except Unavailable as exc:
        log.warning("snapshot_notify_failed", error=str(exc))
        return
    try:
        for record in records:
            subject, body = snapshot_notification(record)
            await nc.publish(subject, body)
        await nc.flush(timeout=2)
    except Exception as exc:  # best effort: the snapshots are made either way
        log.warning("snapshot_notify_failed", error=str(exc) or type(exc).__name__)
    finally:
        await nc.close()
