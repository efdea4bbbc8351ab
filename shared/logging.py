"""Logging: structlog JSON lines (human-readable on a terminal). Configure once, at entry.

Log events carry ids (event id, case id, commune code), never a citizen's name or id
number: the `redact_personal_data` processor drops any key that could hold them, as a
second line of defence behind the code that never logs payloads.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

# Keys that may carry a citizen's personal data if some code ever logged a payload.
PERSONAL_KEYS = frozenset(
    {
        "payload",
        "body",
        "data",
        "applicant",
        "applicant_name",
        "citizen",
        "citizen_name",
        "name",
        "full_name",
        "ho_ten",
        "id_number",
        "cccd",
        "cmnd",
        "national_id",
        "phone",
        "address",
        "email",
    }
)


def redact_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace values under personal-data keys by a marker."""
    for key in PERSONAL_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


def escape_controls(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """On a terminal, text from outside (subjects, ids) is shown with its control
    characters escaped (JSON lines escape them by themselves)."""
    from shared.terminal import safe

    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = safe(value)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Route structlog and the standard library (FastStream, nats) to one renderer."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]
    if fmt == "console":
        shared.append(escape_controls)
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper(), logging.INFO)
        ),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # FastStream logs two INFO lines per message; nats-py chatters on reconnects.
    for noisy in ("faststream", "faststream.access", "nats", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> Any:
    """A structlog logger bound to a component name."""
    return structlog.get_logger(name)
