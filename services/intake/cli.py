"""Intake's subcommands: `tthc rejected list` and `tthc rejected replay`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import orjson

from services.intake.rejected import (
    RejectedEntry,
    get_rejected,
    iter_rejected,
    replay,
)
from shared.context import CommandContext
from shared.domain.validation import REASONS
from shared.errors import UsageError
from shared.natsutil import connect_for_command, ensure_streams
from shared.settings import Settings
from shared.terminal import safe


def register(subparsers: Any) -> None:
    rejected = subparsers.add_parser(
        "rejected",
        help="list or replay rejected messages (TTHC_REJECTED)",
        description=(
            "Rejected messages are kept byte for byte in TTHC_REJECTED, one per rejected "
            "message, with a reason code (docs/reject-reasons.md)."
        ),
    )
    sub = rejected.add_subparsers(dest="rejected_command", metavar="ACTION")
    sub.required = True

    ls = sub.add_parser(
        "list",
        help="show rejected messages, oldest first, with a safe preview",
        description=(
            "Show rejected messages oldest first: sequence, reason, original subject, "
            "rejection time and a safe preview (size and id fields only; never the "
            "payload). Reading does not consume anything."
        ),
    )
    ls.add_argument("--reason", choices=REASONS, help="only this reason code")
    ls.add_argument("--limit", type=int, default=100, help="show at most N (default 100)")
    ls.add_argument("--after", type=int, default=0, metavar="SEQ", help="start after this seq")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=_cmd_list)

    rp = sub.add_parser(
        "replay",
        help="send rejected messages back through intake",
        description=(
            "Republish the original bytes of chosen rejected messages to their original "
            "subject on TTHC_EVENTS, with a new Nats-Msg-Id (replay-<seq>-<ns>) so "
            "JetStream's duplicate window does not drop them. Downstream deduplication "
            "by event_id keeps replays idempotent. The rejected messages stay in "
            "TTHC_REJECTED; a replayed message that is still invalid is rejected again."
        ),
    )
    which = rp.add_mutually_exclusive_group(required=True)
    which.add_argument("--seq", type=int, nargs="+", metavar="N", help="these TTHC_REJECTED seqs")
    which.add_argument("--reason", choices=REASONS, help="every message of this reason")
    which.add_argument("--all", action="store_true", help="every rejected message")
    rp.add_argument("--dry-run", action="store_true", help="say what would be replayed, do nothing")
    rp.set_defaults(func=_cmd_replay)


def _line(entry: RejectedEntry) -> str:
    preview = entry.preview()
    shown = " ".join(f"{k}={safe(v)}" for k, v in preview.items())
    return (
        f"{entry.seq:>8}  {safe(entry.reason):<18} {safe(entry.original_subject[:60]):<36} "
        f"{safe(entry.rejected_at):<32} {shown}"
    )


def _cmd_list(args: argparse.Namespace, app: CommandContext) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    return asyncio.run(_list(args, app.settings))


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    nc = await connect_for_command(settings, "tthc-rejected")
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        shown = 0
        if not args.json:
            print(
                f"{'SEQ':>8}  {'REASON':<18} {'ORIGINAL SUBJECT':<36} {'REJECTED AT':<32} PREVIEW"
            )
        async for entry in iter_rejected(js, args.reason, args.after):
            if args.json:
                sys.stdout.write(orjson.dumps(entry.as_dict()).decode() + "\n")
            else:
                print(_line(entry))
            shown += 1
            if shown >= args.limit:
                break
        if not args.json:
            print(f"({shown} shown)", file=sys.stderr)
    finally:
        await nc.close()
    return 0


def _cmd_replay(args: argparse.Namespace, app: CommandContext) -> int:
    return asyncio.run(_replay(args, app.settings))


async def _replay(args: argparse.Namespace, settings: Settings) -> int:
    nc = await connect_for_command(settings, "tthc-replay")
    try:
        js = nc.jetstream()
        await ensure_streams(js, settings)
        entries: list[RejectedEntry] = []
        missing: list[int] = []
        if args.seq:
            for seq in args.seq:
                entry = await get_rejected(js, seq)
                if entry is None:
                    missing.append(seq)
                else:
                    entries.append(entry)
        else:
            async for entry in iter_rejected(js, args.reason if not args.all else None):
                entries.append(entry)

        def progress(done: int, total: int) -> None:
            print(f"replayed {done}/{total}", file=sys.stderr, flush=True)

        result = await replay(js, entries, dry_run=args.dry_run, progress=progress)
        verb = "would replay" if args.dry_run else "replayed"
        for seq in missing:
            print(f"seq {seq}: not in TTHC_REJECTED", file=sys.stderr)
        for seq, why in result.skipped:
            print(f"seq {seq}: skipped ({why})", file=sys.stderr)
        print(
            f"{verb} {len(result.replayed)} message(s) to TTHC_EVENTS"
            + (f"; skipped {len(result.skipped)}" if result.skipped else "")
            + (f"; {len(missing)} not found" if missing else "")
        )
        if args.seq and missing and not entries:
            return 1
    finally:
        await nc.close()
    return 0
