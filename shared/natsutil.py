"""Connecting to NATS and creating the project's streams when absent.

Streams (contract: created on start-up when absent, an existing one left alone):

- `TTHC_EVENTS` on `tthc.events.>`: what desks publish (file storage).
- `TTHC_REJECTED` on `tthc.rejected.>`: one message per rejected message, with reason.
- `TTHC_ACCEPTED` on `tthc.accepted.>`: intake's hand-off of accepted events.

Each is created with `TTHC_STREAM_REPLICAS` replicas and kept `TTHC_STREAM_MAX_AGE_DAYS`
(0: for ever). An existing stream is left alone; when it keeps fewer replicas than asked
on a cluster, or another retention, a warning says so and how to change it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.errors import Unavailable
from shared.logging import get_logger
from shared.settings import Settings, redact_url
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
    nc = await nats.connect(servers=settings.nats_servers, **defaults)  # type: ignore[arg-type]
    client.append(nc)
    return nc


class StreamSetupError(RuntimeError):
    """A stream that cannot be created as configured; the message names the setting."""


COMMAND_CONNECT_SECONDS = 5.0
# Permission violations the server sent to this process's command connections: a
# request it refused only times out, so the refusal is what says why (`command_failure`).
REFUSALS: list[str] = []
OPS_USER = "tthc-ops"


def note_refusal(exc: Exception) -> None:
    """Keep a permissions violation the server sent (an asynchronous -ERR)."""
    text = " ".join(str(exc).split())
    if "permissions violation" in text.lower():
        REFUSALS.append(text.removeprefix("nats: ").removeprefix("permissions violation: "))


def nats_user(settings: Settings) -> str:
    """The user given in TTHC_NATS_URL (its first server), or '' without one."""
    from urllib.parse import urlsplit

    return urlsplit(settings.nats_servers[0]).username or ""


def command_failure(exc: BaseException, settings: Settings) -> str:
    """One line for a NATS request of a command that failed after connecting: the
    server's refusal and the user to run it as, or that the server did not answer."""
    if REFUSALS:
        user = nats_user(settings) or "(none)"
        return (
            f"NATS refused it: {REFUSALS[-1]}; the user {user!r} of TTHC_NATS_URL may not "
            f"do this: run operators' commands as {OPS_USER} (docs/operations.md, "
            "'Operators' commands')"
        )
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, nats.errors.NoServersError):
        return (
            f"cannot reach NATS at {redact_url(settings.nats_url)}: {reason} (is the server "
            "running? check TTHC_NATS_URL)"
        )
    return (
        f"NATS at {redact_url(settings.nats_url)} did not answer in time ({reason}); "
        "check the server and TTHC_NATS_URL"
    )


async def connect_for_command(settings: Settings, name: str) -> Client:
    """A connection for a short command: tried once within a few seconds, never waited on
    for ever; `Unavailable` (one line naming TTHC_NATS_URL) when NATS cannot be reached.
    Permission violations are kept for `command_failure`."""

    async def quiet(exc: Exception) -> None:
        """Reported once, by the caller."""
        note_refusal(exc)

    try:
        return await asyncio.wait_for(
            nats.connect(
                servers=settings.nats_servers,
                name=name,
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,  # nats-py: 0 would retry the first connect for ever
                error_cb=quiet,
            ),
            timeout=COMMAND_CONNECT_SECONDS,
        )
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        if "authorization" in reason.lower() or "permissions" in reason.lower():
            hint = "check the user and password in TTHC_NATS_URL"
        else:
            hint = "is the server running? check TTHC_NATS_URL"
        raise Unavailable(
            f"cannot reach NATS at {redact_url(settings.nats_url)}: {reason} ({hint})"
        ) from None


def stream_configs(settings: Settings) -> list[StreamConfig]:
    window = settings.duplicate_window_seconds
    common = {
        "num_replicas": settings.stream_replicas,
        "max_age": settings.stream_max_age_days * 86_400 if settings.stream_max_age_days else None,
    }
    return [
        StreamConfig(
            name=EVENTS_STREAM,
            subjects=[EVENTS_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=window,
            max_msg_size=-1,  # oversize payloads must reach intake to be rejected and kept
            **common,
        ),
        StreamConfig(
            name=REJECTED_STREAM,
            subjects=[REJECTED_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            duplicate_window=window,
            **common,
        ),
        StreamConfig(
            name=ACCEPTED_STREAM,
            subjects=[ACCEPTED_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            duplicate_window=window,
            **common,
        ),
    ]


async def ensure_streams(js: JetStreamContext, settings: Settings) -> list[str]:
    """Create each stream that is absent; leave existing ones alone. Returns those created."""
    created: list[str] = []
    for config in stream_configs(settings):
        try:
            info = await js.stream_info(config.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
            except BadRequestError as exc:
                raise StreamSetupError(
                    f"cannot create stream {config.name} with {config.num_replicas} "
                    f"replica(s): {exc.description}; set TTHC_STREAM_REPLICAS to what the "
                    "NATS deployment has (1 on a single server)"
                ) from None
            created.append(config.name)
            log.info(
                "stream_created",
                stream=config.name,
                subjects=config.subjects,
                replicas=config.num_replicas,
                max_age_days=settings.stream_max_age_days or None,
            )
            continue
        warn_if_different(info, config)
    return created


def warn_if_different(info: Any, wanted: StreamConfig) -> None:
    """An existing stream is left alone (the contract): say when it differs from the settings."""
    have = info.config
    clustered = bool(getattr(info, "cluster", None) and info.cluster.name)
    if clustered and (have.num_replicas or 1) < (wanted.num_replicas or 1):
        log.warning(
            "stream_replicas_below_setting",
            stream=wanted.name,
            replicas=have.num_replicas or 1,
            wanted=wanted.num_replicas,
            advice=f"nats stream edit {wanted.name} --replicas {wanted.num_replicas}",
        )
    if (have.max_age or 0) != (wanted.max_age or 0):
        log.warning(
            "stream_retention_differs",
            stream=wanted.name,
            max_age_seconds=have.max_age or 0,
            wanted_seconds=wanted.max_age or 0,
            advice="the existing stream is kept as it is (TTHC_STREAM_MAX_AGE_DAYS)",
        )
