"""What the demo prints: the summary of its run and the appendix of a commune and province."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.demo.plan import Plan
from services.reporter.appendix import make_appendix, unit_info
from services.reporter.templates import load_template
from services.simulator.publish import PublishStats
from shared.domain.periods import Period
from shared.domain.timeutil import to_instant
from shared.ports import FiguresReply, FiguresRequest
from shared.settings import redact_url

if TYPE_CHECKING:
    from services.bootstrap import App


def say(text: str = "") -> None:
    print(text, flush=True)


def summary_lines(
    stats: PublishStats, counts: dict[str, float], caught_up: bool, missing: int = 0
) -> list[str]:
    def n(key: str) -> int:
        return int(counts.get(key, 0))

    rejected = {
        key.split("reason=", 1)[1].rstrip("}"): int(v)
        for key, v in counts.items()
        if key.startswith("tthc_intake_rejected_total{") and v
    }
    lines = [
        "TÓM TẮT / SUMMARY",
        f"  messages published          {stats.published:>8,}  "
        f"(events {stats.kinds.get('event', 0):,}, re-sent {stats.kinds.get('duplicate', 0):,}, "
        f"invalid {stats.invalid:,}; {stats.rate:,.0f}/s)",
        f"  dropped by JetStream window {stats.window_duplicates:>8,}  "
        "(same Nats-Msg-Id within the window)",
        f"  taken in by intake          {n('tthc_intake_messages_total'):>8,}",
        f"  accepted                    {n('tthc_intake_accepted_total'):>8,}",
        f"  duplicates dropped (intake) {n('tthc_intake_duplicates_total'):>8,}",
        f"  duplicates dropped (store)  {n('tthc_aggregator_duplicates_total'):>8,}  "
        "(event id seen before, forever)",
        f"  new events in the figures   {n('tthc_aggregator_events_applied_total'):>8,}",
        f"  rejected                    {sum(rejected.values()):>8,}  "
        + (
            "(" + ", ".join(f"{r} {c}" for r, c in sorted(rejected.items())) + ")"
            if rejected
            else ""
        ),
    ]
    if not caught_up:
        lines.append("  WARNING: the services had not taken every event in; figures may be partial")
    if missing:
        lines.append(
            f"  WARNING: {missing:,} of the valid events published are not in the figures"
        )
    return lines


def render_text(appendix: Any) -> str:
    """The appendix as plain text: the reporter's `text` format."""
    from services.reporter.render.text import render_text as reporter_text

    return reporter_text(appendix)


async def appendix_of(
    app: App, kind: str, code: str, period: Period, now: int
) -> tuple[Any, FiguresReply]:
    source = app.figures_source()
    try:
        reply = await source.figures(
            FiguresRequest(kind, code, period.start_instant, period.end_instant, now)
        )
    finally:
        source.close()
    if reply.error:
        raise RuntimeError(reply.error)
    registry = app.registry
    appendix = make_appendix(
        unit_info(registry, kind, code), period, reply, load_template(), now, registry
    )
    return appendix, reply


async def print_results(
    plan: Plan,
    app: App,
    stats: PublishStats,
    counts: dict[str, float],
    caught_up: bool,
    missing: int = 0,
) -> None:
    settings = app.settings
    now = to_instant(datetime.now(UTC))
    say()
    for line in summary_lines(stats, counts, caught_up, missing):
        say(line)
    for kind, code in (("commune", plan.communes[0]), ("province", plan.province)):
        appendix, _reply = await appendix_of(app, kind, code, plan.period, now)
        say()
        say("=" * 100)
        say(render_text(appendix))
        f = appendix.figures
        say(
            f"Figures: received {f['received_total']}, resolved {f['resolved_total']} "
            f"(early {f['resolved_early']}, on time {f['resolved_on_time']}, late "
            f"{f['resolved_late']}), on-time rate {f['on_time_rate']}%, open at end "
            f"{f['open_at_end']} (overdue {f['open_overdue_at_end']}), apology letters "
            f"{f['apologies_sent']}, online rate {f['online_rate']}%"
        )
    say()
    say(
        f"Data: {settings.data_dir} (database {redact_url(settings.database_url)}). More: "
        f"`tthc appendix --commune {plan.communes[0]} --period {plan.period.label} "
        f"--format xlsx --out phu-luc.xlsx`, `tthc status`, `tthc rejected list`."
    )
