"""Hostile but well-formed desk traffic: every field at the edge of what the contract and
storage allow, and messages just past it. What passes intake must be stored and counted
on SQLite and PostgreSQL; what does not is rejected with a reason and kept."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from tests.kits.reliability import Traffic

# Text that storage and terminals find hard: 4-byte characters, combining marks,
# right-to-left and bidi controls, a formula-looking start, quotes and backslashes.
NASTY = (
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "Hồ-sơ-đất-đai",
    "e\u0301\u0323",
    "\u202eevil",
    "=HYPERLINK(\"http://x\")",
    "+1-2",
    "@SUM(A1)",
    "a\"b'c\\d",
    "💩🇻🇳",
    "\u0645\u0631\u062d\u0628\u0627",
)


def _deep(depth: int) -> str:
    """A placeholder written out as `depth` nested arrays (no encoder writes that deep)."""
    return f"__DEEP_{depth}__"


def _body(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    text = re.sub(r'"__DEEP_(\d+)__"', lambda m: "[" * int(m[1]) + '"bottom"' + "]" * int(m[1]), text)
    return text.encode()


def _received(n: int, commune: str, rng: random.Random, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": f"hx-{n}-" + rng.choice(NASTY),
        "event_type": "received",
        "case_id": (rng.choice(NASTY) * 10)[:60] + f"{n}",
        "commune_code": commune,
        "occurred_at": "2025-11-20T09:00:00+07:00",
        "channel": rng.choice(["direct", "postal", "online_partial", "online_full"]),
        "due_at": "2025-11-25T17:00:00.123456789+07:00",
        "agency": rng.choice([None, "ubnd", "cong_an", "q" * 32]),
        "field": rng.choice([None, "ho_tich", "f" * 64, "dat_dai"]),
        "procedure_code": rng.choice([None, "p" * 64, "1.00\u00e91"]),
        "actor": rng.choice(["cb\x00\x1b[31m", "cb-1", "\r\n"]),
        "reason": "line\nbreak\x7f",
        "notes": {"deep": _deep(rng.randint(10, 400)), "nul": "a\u0000b", "big": 1e300},
    }
    body.update(over)
    return body


def hostile_traffic(seed: int, communes: tuple[str, ...]) -> Traffic:
    """Valid hostile events (stored and counted) and invalid ones (rejected, kept)."""
    rng = random.Random(f"hostile:{seed}")
    out = Traffic()

    def add(payload: dict[str, Any], valid: bool, subject: str | None = None) -> None:
        subject = subject or f"tthc.events.{payload['commune_code']}.{payload['event_type']}"
        body = _body(payload)
        out.messages.append((subject, body, f"hostile-{seed}-{len(out.messages)}"))
        if valid:
            out.valid.append({k: v for k, v in payload.items() if v is not None})
        else:
            out.invalid += 1

    for n in range(60):
        commune = communes[n % len(communes)]
        event = _received(n, commune, rng)
        add(event, True)
        if n % 3 == 0:  # a case that ends, its resolve at the edges of time
            add({"event_id": f"{event['event_id']}-x", "event_type": "resolved", "case_id": event["case_id"],
                 "commune_code": commune, "occurred_at": "2025-11-21T09:00:00Z", "result_channel": "online"}, True)  # fmt: skip
    edge = _received(900, communes[0], rng, occurred_at="1900-01-01T07:00:00+07:00",
                     due_at="9998-12-31T23:59:59+00:00")  # fmt: skip
    add(edge, True)  # an old case due at the end of time: counted, printable
    orphan = {"event_id": "hx-orphan", "event_type": "apology_sent", "case_id": "HX-ORPHAN",
              "commune_code": communes[1], "occurred_at": "1900-01-01T00:00:00Z",
              "new_due_at": "9998-12-31T23:59:59Z"}  # fmt: skip
    add(orphan, True)  # an orphan at the edge of time: an anomaly, never an exit 1
    # Just past the limits: rejected, kept.
    add(_received(901, communes[0], rng, case_id="c" * 65), False)
    add(_received(902, communes[0], rng, event_id="e\u0000x"), False)
    add(_received(903, communes[0], rng, agency="Công an"), False)
    add(_received(904, communes[0], rng, occurred_at="1899-12-31T23:59:59Z"), False)
    add(_received(905, communes[0], rng, due_at="9999-01-01T00:00:00Z"), False)
    add(_received(906, communes[0], rng, notes=_deep(2000)), False)
    add(_received(907, communes[0], rng), False, subject=f"tthc.events.{communes[0]}.récéived")
    add(_received(908, communes[0], rng), False, subject=f"tthc.events.{communes[0]}.rec\x1bived")
    return out
