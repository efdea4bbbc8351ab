"""Frozen period-end appendices (snapshots): files under TTHC_DATA_DIR/snapshots, no database.

Layout (every component sanitised, see paths.py):

    snapshots/<unit kind>/<period label>/<unit code>/index.json      revisions, oldest first
    snapshots/<unit kind>/<period label>/<unit code>/r001/record.json the snapshot record
    snapshots/<unit kind>/<period label>/<unit code>/r001/appendix.json (the first form)
    snapshots/<unit kind>/<period label>/<unit code>/r001/<form>.xlsx, <form>.docx (each form)
    snapshots/schedule.json                                          the schedule's progress

The forms are TTHC_SNAPSHOT_FORMS (Phụ lục 01b, Biểu mẫu 3, Biểu 06/VPCP/KSTT by
default), dressed with the deployment file and the office values file. A revision
directory is written once (files made read-only) and never changed. A new revision is
made only when the content hash differs from the latest one: the hash covers unit,
period, layouts, figures, the breakdowns by agency and field, the procedure counts,
the office values and the rows' values, not the generation time or the watermark, so a
re-run over the same figures makes nothing new. Each record keeps
its diff against the previous revision. `index.json` is derived (rewritten atomically).
A lock file serialises writers (the service and `tthc snapshots make`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.reporter.appendix import Presentation, has_data, make_appendix, unit_info
from services.reporter.deployment import Deployment, load_deployment
from services.reporter.figsource import fetch
from services.reporter.office import load_values_file, values_for
from services.reporter.snapshot_store import (
    RECORD_SCHEMA,
    SNAPSHOT_FORMATS,
    SnapshotStore,
    content_hash,
    diff_figures,
)
from services.reporter.templates import Template
from shared.domain.events import Instant
from shared.domain.periods import Period
from shared.ports import FiguresReply, FiguresRequest, FiguresSource
from shared.registry import UnitRegistry

if TYPE_CHECKING:
    from services.reporter.renderworkers import RenderWorkers

__all__ = [
    "PROVINCES_IN_FLIGHT",
    "RECORD_SCHEMA",
    "SNAPSHOT_FORMATS",
    "SnapshotDress",
    "SnapshotStore",
    "content_hash",
    "diff_figures",
    "freeze_unit",
    "make_period_snapshots",
    "snapshot_presentation",
]
# Province figure requests of a period-end run in flight at once (2 cores measured).
PROVINCES_IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class SnapshotDress:
    """How the frozen forms are dressed: the deployment file and the office values file."""

    deployment: Deployment = field(default_factory=Deployment)
    values: tuple[dict[str, Any], ...] = ()

    def for_unit(self, code: str, label: str) -> Presentation:
        return Presentation(values_for(self.values, code, label), deployment=self.deployment)


def snapshot_presentation(settings: Any) -> SnapshotDress:
    """The dress of a deployment's snapshots (ValueError on a bad file)."""
    values = load_values_file(settings.values_file) if settings.values_file else []
    return SnapshotDress(load_deployment(settings.deployment_file), tuple(values))


async def make_period_snapshots(
    period: Period,
    source: FiguresSource,
    store: SnapshotStore,
    registry: UnitRegistry,
    forms: Template | Sequence[Template],
    now: Instant,
    only: tuple[str, str] | None = None,
    on_saved: Callable[[dict[str, Any], bool], Any] | None = None,
    presentation: SnapshotDress | None = None,
    workers: RenderWorkers | None = None,
) -> list[tuple[dict[str, Any], bool]]:
    """Freeze the period's forms of every commune and province with data in the period.

    Nothing is made for a unit with no data (no case received, open or ended in the
    period): a fresh deployment's first start freezes only the units that sent events.
    `only=(kind, code)` freezes one unit. Returns (record, created) per unit, communes
    first, then provinces. With `workers` (TTHC_RENDER_WORKERS), units are rendered in
    those processes, as many at once as there are workers; a worker that dies costs no
    snapshot (that unit is frozen in a thread instead).
    """
    start, end = period.start_instant, period.end_instant

    async def ask(kind: str, code: str, with_communes: bool = False) -> FiguresReply:
        return await fetch(source, FiguresRequest(kind, code, start, end, now, with_communes))

    results: list[tuple[dict[str, Any], bool]] = []

    templates = (forms,) if isinstance(forms, Template) else tuple(forms)
    dress = presentation or SnapshotDress()

    async def freeze(kind: str, code: str, reply: FiguresReply) -> tuple[dict[str, Any], bool]:
        # Rendering (openpyxl, python-docx) and writing files take CPU and disk time: in
        # a render worker, or off the event loop, so services sharing the process keep
        # consuming.
        future = (
            workers.submit(kind, code, period, reply, now) if workers is not None else None
        )
        if future is not None:
            try:
                return await asyncio.wrap_future(future)
            except BrokenProcessPool as exc:  # the worker died: frozen here instead
                workers.lost(exc)  # type: ignore[union-attr]
        return await asyncio.to_thread(
            freeze_unit, store, registry, templates, dress, kind, code, period, reply, now
        )

    def saved(record: dict[str, Any], created: bool) -> None:
        results.append((record, created))
        if on_saved is not None:
            on_saved(record, created)

    if only is not None:
        kind, code = only
        saved(*await freeze(kind, code, await ask(kind, code, kind == "province")))
        return results

    # Every province with its communes first (the aggregator reads a province's communes
    # in one pass and keeps each commune's figures, so the commune requests below read
    # nothing), PROVINCES_IN_FLIGHT at a time: a source reading PostgreSQL in process
    # (`tthc snapshots make`) then works on one reply while the server reads the next
    # (docs/performance.md: 15 s -> 8.4 s for the national appendix).
    codes = sorted(registry.provinces)
    limit = asyncio.Semaphore(PROVINCES_IN_FLIGHT)

    async def ask_province(code: str) -> FiguresReply:
        async with limit:
            return await ask("province", code, with_communes=True)

    tasks = [asyncio.ensure_future(ask_province(code)) for code in codes]
    try:
        replies = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    provinces: dict[str, FiguresReply] = dict(zip(codes, replies, strict=True))
    if any(reply.watermark.get("accepted_events") == 0 for reply in replies):
        return results  # no events at all yet
    if not any(has_data(reply.figures) for reply in provinces.values()):
        return results
    # Then each commune with data, then each province, in this order; as many units at
    # once as there are render workers (one at a time without them).
    units: list[tuple[str, str, FiguresReply | None]] = [
        ("commune", commune_code, None)
        for reply in provinces.values()
        for commune_code in sorted(reply.communes)
        if has_data(reply.communes[commune_code])
    ]
    units += [
        ("province", code, reply)
        for code, reply in provinces.items()
        if has_data(reply.figures)  # a province none of whose communes sent: nothing
    ]
    at_once = asyncio.Semaphore(workers.size if workers is not None else 1)

    async def make(kind: str, code: str, known: FiguresReply | None) -> tuple[dict, bool]:
        async with at_once:
            return await freeze(kind, code, known or await ask(kind, code))

    if workers is not None and units:
        await asyncio.to_thread(workers.start)  # spawning blocks: not on the event loop
    made = [asyncio.ensure_future(make(kind, code, known)) for kind, code, known in units]
    try:
        for task in made:  # in order, each as soon as it is frozen
            saved(*await task)
    except BaseException:
        for task in made:
            task.cancel()
        await asyncio.gather(*made, return_exceptions=True)
        raise
    return results


def freeze_unit(
    store: SnapshotStore,
    registry: UnitRegistry,
    templates: Sequence[Template],
    dress: SnapshotDress,
    kind: str,
    code: str,
    period: Period,
    reply: FiguresReply,
    now: Instant,
) -> tuple[dict[str, Any], bool]:
    """Make a unit's forms from its figures and freeze them: (record, created)."""
    unit = unit_info(registry, kind, code)
    look = dress.for_unit(code, period.label)
    made = [
        make_appendix(unit, period, reply, t, now, registry, presentation=look)
        for t in templates
    ]
    return store.save(made, now)
