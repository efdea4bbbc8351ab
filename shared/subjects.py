"""Stream, subject and consumer names: the project's side of the wire contract."""

from __future__ import annotations

# Contract (events.md): desks publish here.
EVENTS_STREAM = "TTHC_EVENTS"
EVENTS_SUBJECTS = "tthc.events.>"
EVENTS_PREFIX = "tthc.events."

# Contract: rejected messages, one per rejected message, with the reason.
REJECTED_STREAM = "TTHC_REJECTED"
REJECTED_SUBJECTS = "tthc.rejected.>"
REJECTED_PREFIX = "tthc.rejected."  # tthc.rejected.<reason>.<commune> (see rejected_subject)
# The commune token of a dead letter whose original subject names no commune.
NO_COMMUNE = "none"

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


def commune_token(subject: str) -> str | None:
    """The commune of `tthc.events.<5 digits>...`: the desk that published it (a desk user
    may publish only under its own commune), or None."""
    if not subject.startswith(EVENTS_PREFIX):
        return None
    token = subject[len(EVENTS_PREFIX) :].split(".", 1)[0]
    if len(token) == 5 and token.isascii() and token.isdigit():
        return token
    return None


def rejected_subject(reason: str, original_subject: str) -> str:
    """`tthc.rejected.<reason>.<commune>` of a dead letter, the commune being the one of the
    subject the message was published on (`none` when it names none): each desk's
    rejections can then be read by subject (`tthc.rejected.*.<commune>`)."""
    return f"{REJECTED_PREFIX}{reason}.{commune_token(original_subject) or NO_COMMUNE}"
