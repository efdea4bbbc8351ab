"""`tthc status`: the command's arguments and what it prints."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from shared.context import CommandContext
from shared.errors import Unavailable
from shared.natsutil import command_failure


def register(subparsers: Any) -> None:
    status = subparsers.add_parser(
        "status",
        help="every JetStream consumer with num_pending and num_ack_pending",
        description=(
            "Streams and every consumer on the project's streams, in pipeline order "
            "(TTHC_EVENTS, TTHC_ACCEPTED, TTHC_REJECTED), plus the aggregator's database: "
            "events and cases, and how far it has applied the log of record. When every "
            "num_pending and num_ack_pending is 0, every published event is in the "
            "figures. Exit status 1 if NATS is unreachable or the database lacks accepted "
            "events the broker no longer holds (the figures are incomplete)."
        ),
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace, app: CommandContext) -> int:
    from services.ops.status import collect_status

    settings = app.settings
    try:
        data = collect_status(settings)
    except Unavailable as exc:  # not reached: one line naming TTHC_NATS_URL
        print(f"tthc status: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # reached, but a request failed: refused, or no answer
        print(f"tthc status: error: {command_failure(exc, settings)}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(data).decode() + "\n")
    else:
        print_status(data)
    if not data["complete"]:
        db = data["database"] or {}
        print(
            (
                "tthc status: the figures are incomplete: "
                f"{db['lost_messages']} hand-off message(s) of accepted events were gone "
                "from the broker before the database applied them (docs/operations.md, "
                "'Backup and restore')"
            )
            if "lost_messages" in db
            else f"tthc status: error: {db.get('error')}",
            file=sys.stderr,
        )
        return 1
    return 0


def print_status(data: dict[str, Any]) -> None:
    print(f"NATS {data['nats_url']}")
    print(f"{'STREAM':<15} {'MESSAGES':>10} {'LAST SEQ':>10} {'CONSUMERS':>9}")
    for s in data["streams"]:
        if s.get("exists"):
            print(
                f"{s['name']:<15} {s['messages']:>10} {s['last_seq']:>10} {s['consumer_count']:>9}"
            )
        else:
            print(f"{s['name']:<15} {'(absent)':>10}")
    print()
    print(f"{'STREAM':<15} {'CONSUMER':<20} {'PENDING':>9} {'ACK PENDING':>11} {'REDELIVERED':>11}")
    for c in data["consumers"]:
        print(
            f"{c['stream']:<15} {c['name']:<20} {c['num_pending']:>9} "
            f"{c['num_ack_pending']:>11} {c['num_redelivered']:>11}"
        )
    if not data["consumers"]:
        print("(no consumers yet)")
    db = data["database"]
    print()
    if db is None:
        print("database: none yet")
    elif "error" in db:
        print(f"database: error: {db['error']}")
    else:
        print(
            f"database ({db['backend']}): {db['events_stored']:,} events, {db['cases']:,} cases, "
            f"up to TTHC_EVENTS seq {db['events_stream_seq']}; {db['applied_messages']:,} "
            f"hand-off messages applied, {db['missing_messages']:,} still to apply, "
            f"{db['lost_messages']:,} lost"
        )
        if db["conflicts_seen"] or db["set_aside"]:
            print(
                f"  kept aside: {db['conflicts_seen']:,} conflicting duplicate(s), "
                f"{db['set_aside']:,} unreadable or refused item(s)"
            )
    if db is not None and "error" in db:
        print("unknown: the database cannot be read")
    else:
        print("all caught up" if data["all_caught_up"] else "work pending")
