"""The desk contract as machine-readable documents, both built here from one source.

- `docs/event.schema.json` (`schema.py`): a JSON Schema (draft-07) of an event's
  payload, one definition per event type, saying every rule of intake
  (`shared.domain.validation`) that JSON Schema can say: required fields, types, `null`
  as absent for optional fields (contract 1.1), lengths, slugs, no control characters,
  the enumerations, RFC 3339 instants with an offset on real calendar dates between
  1900 and 9998.
- `docs/asyncapi.json` (`document.py`): an AsyncAPI 3.0 document from the point of view
  of the desk software, the application it describes: what a desk sends (its events,
  with the `Nats-Msg-Id` header, and the request for its own rejections), the replies
  it gets on its inbox, the server and the user/password scheme. Nothing internal to
  tthc is in it.

What only intake can check is said in both documents' descriptions (`INTAKE_ONLY`):
the subject's tokens, the unit registry, the clock, the size in bytes, the JSON text
itself, and the instant limits on the four days where they depend on the offset.

    python -m services.asyncapi --write     # regenerate both files under docs/
    python -m services.asyncapi --check     # exit 1 if either is out of date

`shared.domain.validation` stays the one place that decides what is accepted; the tests
(`tests/unit/test_event_schema.py`) hold the schema and intake to the same answers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.asyncapi.document import document
from services.asyncapi.schema import (
    ASYNCAPI_FILE,
    DOCS,
    EVENT_DEFINITIONS,
    SCHEMA_FILE,
    payload_schema,
)

__all__ = ["EVENT_DEFINITIONS", "document", "main", "payload_schema", "rendered"]


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name under docs/ -> its text."""
    return {ASYNCAPI_FILE: render_json(document()), SCHEMA_FILE: render_json(payload_schema())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write or check docs/asyncapi.json and docs/event.schema.json."
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="write both files")
    action.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    parser.add_argument("--docs", type=Path, default=DOCS, help="the folder (default: docs/)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in rendered().items():
        path = args.docs / name
        if args.write:
            path.write_text(text, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(str(path))
    if stale:
        print(f"out of date: {', '.join(stale)} (python -m services.asyncapi --write)")
        return 1
    return 0
