"""Connecting to NATS and creating the project's streams when absent.

Streams (contract: created on start-up when absent, an existing one left alone):

- `TTHC_EVENTS` on `tthc.events.>`: what desks publish (file storage).
- `TTHC_REJECTED` on `tthc.rejected.>`: one message per rejected message, with reason.
- `TTHC_ACCEPTED` on `tthc.accepted.>`: intake's hand-off of accepted events.
"""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.logging import get_logger
from shared.settings import Settings
from shared.subjects import (
    ACCEPTED_STREAM,
    ACCEPTED_SUBJECTS,
    EVENTS_STREAM,
    EVENTS_SUBJECTS,
    REJECTED_STREAM,
    REJECTED_SUBJECTS,
)

log = get_logger("tthc.nats")


async def connect(settings: Settings, name: str, **options: object) -> Client:
    """A NATS connection that keeps reconnecting (services must survive a broker restart)."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats_error", connection=name, error=str(exc))

    client: list[Client] = []

    async def on_disconnect() -> None:
        if client and client[0].is_closed:
            return  # an orderly close, not an outage
        log.warning("nats_disconnected", connection=name)

    async def on_reconnect() -> None:
        log.info("nats_reconnected", connection=name)

    defaults: dict[str, object] = {
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "error_cb": on_error,
        "disconnected_cb": on_disconnect,
        "reconnected_cb": on_reconnect,
        "connect_timeout": 5,
    }
    defaults.update(options)
    nc = await nats.connect(settings.nats_url, **defaults)  # type: ignore[arg-type]
    client.append(nc)
    return nc


def stream_configs(settings: Settings) -> list[StreamConfig]:
    window = settings.duplicate_window_seconds
    return [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=window,
            max_msg_size=-1,  # oversize payloads must reach intake to be rejected and kept
        ),
        StreamConfig(
            name=REJECTED_STREAM,
            subjects=[REJECTED_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=window,
        ),
        StreamConfig(
            name=ACCEPTED_STREAM,
            subjects=[ACCEPTED_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            duplicate_window=window,
        ),
    ]


async def ensure_streams(js: JetStreamContext, settings: Settings) -> list[str]:
    """Create each stream that is absent; leave existing ones alone. Returns those created."""
    created: list[str] = []
    for config in stream_configs(settings):
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
            created.append(config.name)
            log.info("stream_created", stream=config.name, subjects=config.subjects)
    return created
