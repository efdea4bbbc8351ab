"""Stream, subject and consumer names: the project's side of the wire contract."""

from __future__ import annotations

# Contract (events.md): desks publish here.
EVENTS_STREAM = "TTHC_EVENTS"
EVENTS_SUBJECTS = "tthc.events.>"
EVENTS_PREFIX = "tthc.events."

# Contract: rejected messages, one per rejected message, with the reason.
REJECTED_STREAM = "TTHC_REJECTED"
REJECTED_SUBJECTS = "tthc.rejected.>"
REJECTED_PREFIX = "tthc.rejected."  # tthc.rejected.<reason>

# Desks ask intake for their own rejected messages here (NATS request/reply).
REJECTIONS_PREFIX = "tthc.rejections."  # tthc.rejections.<commune>
REJECTIONS_SUBJECTS = "tthc.rejections.*"

# Internal: intake hands accepted events on to the aggregator here (batches of events).
ACCEPTED_STREAM = "TTHC_ACCEPTED"
ACCEPTED_SUBJECTS = "tthc.accepted.>"
ACCEPTED_PREFIX = "tthc.accepted."

# Internal: the reporter's notifications and the aggregator's query service.
SNAPSHOTS_SUBJECT_PREFIX = "tthc.snapshots."  # tthc.snapshots.<unit>.<period label>
FIGURES_QUERY_SUBJECT = "tthc.query.figures"

# Durable consumers.
INTAKE_CONSUMER = "tthc-intake"
AGGREGATOR_CONSUMER = "tthc-aggregator"


def event_subject(commune_code: str, event_type: str) -> str:
    """`tthc.events.<commune_code>.<event_type>`."""
    return f"{EVENTS_PREFIX}{commune_code}.{event_type}"
