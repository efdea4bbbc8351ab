"""Validation of raw desk messages against the event contract (events.md, version 1.1).

`validate` decides, for one message (subject and raw bytes), whether it is an event of
the contract: `Accepted(payload, instants)` or `Rejected(reason, detail)` with a stable
reason code (docs/reject-reasons.md). It never raises, whatever the input.

An optional field sent as JSON `null` is the same as the field left out (contract 1.1);
a required one sent as `null` is missing.

Every limit between the contract and storage is checked here, so that an accepted
event can always be stored, on SQLite and on PostgreSQL: lengths within the columns'
widths, no control characters (PostgreSQL cannot store U+0000) in the fields stored in
columns, slugs for `field` and `agency`, instants between 1900 and 9998.

Order of checks (the first failing one gives the reason):

1. `payload_too_large`: the raw size, before anything is decoded.
2. `invalid_json`: not UTF-8 JSON (orjson), or not a JSON object.
3. `bad_subject`: the subject is not `tthc.events.<5 digits>.<token>`.
4. `missing_field`: one of the five common fields is absent (or null).
5. `bad_type`: a common field is not a string.
6. `unknown_event_type`: `event_type` is not one of the contract's types.
7. `missing_field`: a field the type requires is absent (`received`: channel, due_at).
8. `bad_type`: a known optional or own field is present, not null, and not a string;
   checked on every event, whatever its type, because the aggregator reads them by name.
9. `bad_value`: right type, wrong value (see `_bad_value`).
10. `subject_mismatch`: event_type or commune_code differ from the subject's tokens.
11. `unknown_commune`: commune_code is not in the unit registry.
12. `bad_timestamp`: occurred_at, due_at or new_due_at is not RFC 3339 with an offset,
    or lies outside 1900-01-01 .. 9998-12-31.
13. `future_timestamp`: occurred_at is more than the allowed skew after `received_at`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from shared.domain.events import CHANNELS, EVENT_TYPES, RESULT_CHANNELS, CaseEvent
from shared.domain.timeutil import TimestampError, parse_rfc3339

# Stable reason codes, in the order they are checked.
REASONS: tuple[str, ...] = (
    "payload_too_large",
    "invalid_json",
    "bad_subject",
    "missing_field",
    "bad_type",
    "unknown_event_type",
    "bad_value",
    "subject_mismatch",
    "unknown_commune",
    "bad_timestamp",
    "future_timestamp",
)

_SUBJECT_PREFIX = "tthc.events."
_COMMON = ("event_id", "event_type", "case_id", "commune_code", "occurred_at")
# Every optional or type-specific field the project reads: a string when present.
_STRING_FIELDS = (
    "procedure_code",
    "field",
    "agency",
    "actor",
    "reason",
    "channel",
    "result_channel",
    "due_at",
    "new_due_at",
)
_REQUIRED_OWN: dict[str, tuple[str, ...]] = {"received": ("channel", "due_at")}
_CHANNELS = frozenset(CHANNELS)
_DIGITS = frozenset("0123456789")
_BOM = b"\xef\xbb\xbf"
# C0 and C1 control characters and DEL: never in a stored identifier.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_]*\Z", re.ASCII)
# Instants the whole system can compute with and print in any offset.
MIN_INSTANT = parse_rfc3339("1900-01-01T00:00:00Z")
MAX_INSTANT = parse_rfc3339("9998-12-31T23:59:59.999999Z")

Instants = tuple[int, int | None, int | None]


class CommuneLookup(Protocol):
    def __contains__(self, commune_code: object, /) -> bool: ...


class Accepted:
    """An event of the contract: its decoded payload (nulls of optional fields dropped)
    and its instants (occurred_at, due_at, new_due_at).

    `event` (a `CaseEvent`) is built on first use: intake's hot path only needs the
    fields, and building a frozen dataclass per message costs.
    """

    __slots__ = ("_event", "instants", "payload")

    def __init__(self, payload: dict[str, Any], instants: Instants):
        self.payload = payload
        self.instants = instants
        self._event: CaseEvent | None = None

    @property
    def event_id(self) -> str:
        return self.payload["event_id"]  # type: ignore[no-any-return]

    @property
    def event(self) -> CaseEvent:
        if self._event is None:
            self._event = case_event(self.payload, self.instants)
        return self._event

    def __repr__(self) -> str:
        return f"Accepted(event_id={self.payload.get('event_id')!r})"


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a message is not an event: a stable reason code and a short detail.

    The detail names fields and limits, never values from the payload (it goes into
    headers and logs; payloads may hold personal data).
    """

    reason: str
    detail: str


def _is_code5(value: str) -> bool:
    return len(value) == 5 and value.isascii() and _DIGITS.issuperset(value)


def parse_subject(subject: str) -> tuple[str, str] | None:
    """`(commune_code, event_type_token)` of `tthc.events.<5 digits>.<token>`, or None."""
    if not subject.startswith(_SUBJECT_PREFIX):
        return None
    parts = subject[len(_SUBJECT_PREFIX) :].split(".")
    if len(parts) != 2 or not _is_code5(parts[0]) or not parts[1]:
        return None
    return parts[0], parts[1]


def validate(
    subject: str,
    data: bytes,
    *,
    registry: CommuneLookup,
    received_at: int,
    max_skew_us: int,
    max_payload_bytes: int,
) -> Accepted | Rejected:
    """Check one message against the contract (see the module docstring for the order)."""
    try:
        return _validate(subject, data, registry, received_at, max_skew_us, max_payload_bytes)
    except Exception as exc:  # never raise: a surprise is a rejection, not a crash
        return Rejected("invalid_json", f"undecodable message ({type(exc).__name__})")


def _decode(data: bytes) -> dict[str, Any] | Rejected:
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if data.startswith(_BOM):
            return Rejected("invalid_json", "starts with a UTF-8 byte order mark; send it without")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return Rejected("invalid_json", "not valid UTF-8")
        return Rejected("invalid_json", f"not valid JSON (line {exc.lineno}, column {exc.colno})")
    if type(payload) is not dict:
        return Rejected("invalid_json", "not a JSON object")
    if None in payload.values():  # contract 1.1: null is the same as absent
        payload = {k: v for k, v in payload.items() if v is not None}
    return payload


def _validate(
    subject: str,
    data: bytes,
    registry: CommuneLookup,
    received_at: int,
    max_skew_us: int,
    max_payload_bytes: int,
) -> Accepted | Rejected:
    size = len(data)
    if size > max_payload_bytes:
        return Rejected("payload_too_large", f"{size} bytes, limit {max_payload_bytes}")
    payload = _decode(data)
    if type(payload) is Rejected:
        return payload
    tokens = parse_subject(subject) if type(subject) is str else None
    if tokens is None:
        return Rejected("bad_subject", "subject is not tthc.events.<5 digits>.<event_type>")
    shape = _check_shape(payload)  # type: ignore[arg-type]
    if shape is not None:
        return shape
    commune_code: str = payload["commune_code"]  # type: ignore[index]
    if commune_code != tokens[0]:
        return Rejected("subject_mismatch", "commune_code differs from the subject's commune")
    if payload["event_type"] != tokens[1]:  # type: ignore[index]
        return Rejected("subject_mismatch", "event_type differs from the subject's last token")
    if commune_code not in registry:
        return Rejected("unknown_commune", "commune_code is not in the unit registry")
    instants = _instants(payload)  # type: ignore[arg-type]
    if type(instants) is Rejected:
        return instants
    if instants[0] > received_at + max_skew_us:  # type: ignore[index]
        return Rejected(
            "future_timestamp",
            f"occurred_at is more than {max_skew_us // 1_000_000}s ahead of the receiving clock",
        )
    return Accepted(payload, instants)  # type: ignore[arg-type]


def _check_shape(payload: dict[str, Any]) -> Rejected | None:
    """Fields present, of the right types and values (checks 4 to 9)."""
    get = payload.get
    if not (
        type(get("event_id")) is str
        and type(get("event_type")) is str
        and type(get("case_id")) is str
        and type(get("commune_code")) is str
        and type(get("occurred_at")) is str
    ):  # the usual case costs one pass; the reason is worked out only when needed
        for key in _COMMON:
            if key not in payload:
                return Rejected("missing_field", f"{key} is required")
        for key in _COMMON:
            if type(payload[key]) is not str:
                return Rejected("bad_type", f"{key} must be a string")
    event_type: str = payload["event_type"]
    if event_type not in EVENT_TYPES:
        return Rejected("unknown_event_type", "event_type is not a type of the contract")
    for key in _REQUIRED_OWN.get(event_type, ()):
        if key not in payload:
            return Rejected("missing_field", f"{key} is required for {event_type}")
    for key in _STRING_FIELDS:
        if type(get(key, "")) is not str:
            return Rejected("bad_type", f"{key} must be a string")
    return _bad_value(payload)


def _too_long(key: str, value: str, longest: int) -> Rejected | None:
    if 0 < len(value) <= longest:
        return None
    return Rejected("bad_value", f"{key} must have 1-{longest} characters")


def _bad_value(payload: dict[str, Any]) -> Rejected | None:
    """Right type, wrong value: lengths and characters of stored text, code shapes, lists."""
    get = payload.get
    event_id, case_id = payload["event_id"], payload["case_id"]
    field, agency, procedure = get("field"), get("agency"), get("procedure_code")
    problem = _too_long("event_id", event_id, 128) or _too_long("case_id", case_id, 64)
    if problem is None and field is not None:
        problem = _too_long("field", field, 64) or _not_slug("field", field)
    if problem is None and agency is not None:
        problem = _too_long("agency", agency, 32) or _not_slug("agency", agency)
    if problem is None and procedure is not None:
        problem = _too_long("procedure_code", procedure, 64)
    if problem is not None:
        return problem
    stored = event_id + case_id + (procedure or "")  # field and agency are slugs already
    if not (stored.isascii() and stored.isprintable()):
        named = (("event_id", event_id), ("case_id", case_id), ("procedure_code", procedure))
        for key, value in named:
            if value is not None and _CONTROL.search(value):
                return Rejected("bad_value", f"{key} must not contain control characters")
    if not _is_code5(payload["commune_code"]):
        return Rejected("bad_value", "commune_code must be 5 digits")
    channel = get("channel")
    if channel is not None and channel not in _CHANNELS:
        return Rejected("bad_value", "channel is not one of " + ", ".join(CHANNELS))
    result_channel = get("result_channel")
    if result_channel is not None and result_channel not in RESULT_CHANNELS:
        return Rejected("bad_value", "result_channel is not one of direct, postal, online")
    return None


def _not_slug(key: str, value: str) -> Rejected | None:
    if _SLUG.match(value):
        return None
    return Rejected("bad_value", f"{key} must be a slug: lower-case letters, digits and '_'")


def _instant(payload: dict[str, Any], key: str) -> int | Rejected | None:
    text = payload.get(key)
    if text is None:
        return None
    try:
        instant = parse_rfc3339(text)
    except TimestampError:
        return Rejected("bad_timestamp", f"{key} is not RFC 3339 with an offset")
    if not MIN_INSTANT <= instant <= MAX_INSTANT:
        return Rejected("bad_timestamp", f"{key} is outside 1900-01-01 .. 9998-12-31")
    return instant


def _instants(payload: dict[str, Any]) -> Instants | Rejected:
    occurred_at = _instant(payload, "occurred_at")
    if type(occurred_at) is Rejected:
        return occurred_at
    due_at = _instant(payload, "due_at") if "due_at" in payload else None
    if type(due_at) is Rejected:
        return due_at
    new_due_at = _instant(payload, "new_due_at") if "new_due_at" in payload else None
    if type(new_due_at) is Rejected:
        return new_due_at
    return occurred_at, due_at, new_due_at  # type: ignore[return-value]


def case_event(payload: dict[str, Any], instants: Instants) -> CaseEvent:
    """The one constructor of a `CaseEvent` from a validated payload and its instants."""
    get = payload.get
    return CaseEvent(
        payload["event_id"],
        payload["event_type"],
        payload["case_id"],
        payload["commune_code"],
        instants[0],
        get("channel"),
        instants[1],
        instants[2],
        get("field"),
        get("result_channel"),
        get("agency"),
        get("procedure_code"),
    )


def instants_of(payload: dict[str, Any]) -> Instants:
    """The instants of a payload that passed validation (parsed again)."""
    instants = _instants({k: v for k, v in payload.items() if v is not None})
    if type(instants) is Rejected:
        raise TimestampError(instants.detail)
    return instants  # type: ignore[return-value]


def event_from_payload(payload: dict[str, Any]) -> CaseEvent:
    """A `CaseEvent` from a payload that passed validation (its instants parsed again)."""
    return case_event(payload, instants_of(payload))
