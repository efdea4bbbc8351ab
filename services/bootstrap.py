"""The composition root: the one place where real adapters are chosen and wired.

`tthc` (services/cli.py), `tthc demo` and the tests build everything here from
`Settings`: the unit registry (loaded once and handed to whoever needs it), the
database engines, each service's Prometheus registry, the services themselves, and the
figures source of commands run outside the services (the aggregator's read-only query
module, in process). Nothing else loads the registry, creates an engine at import, or
changes process-wide settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.errors import UsageError
from shared.ports import FiguresSource
from shared.registry import RegistryError, UnitRegistry, load_registry
from shared.runtime import Service
from shared.settings import Settings

SERVICES = ("intake", "aggregator", "reporter")


def load_units(settings: Settings) -> UnitRegistry:
    """The unit registry in force: TTHC_REGISTRY_FILE, or the built-in 2025 one."""
    try:
        return load_registry(str(settings.registry_file) if settings.registry_file else None)
    except RegistryError as exc:
        raise UsageError(f"TTHC_REGISTRY_FILE: {' '.join(str(exc).split())}") from exc


def build_intake(settings: Settings, registry: UnitRegistry) -> Service:
    from services.intake.metrics import IntakeMetrics
    from services.intake.service import IntakeService

    return IntakeService(settings, registry, IntakeMetrics())


def build_aggregator(settings: Settings, registry: UnitRegistry) -> Service:
    from services.aggregator.metrics import AggregatorMetrics
    from services.aggregator.service import AggregatorService
    from services.aggregator.storage.engine import make_engine

    writer = make_engine(settings.database_url, background_checkpoints=True)
    # Readers get their own, smaller SQLite page caches: each connection has one, and
    # full-table reads (the gauges) would fill a 64 MiB one each.
    reader = make_engine(settings.database_url, cache_mib=READ_CACHE_MIB)
    workers = None
    if settings.figures_workers:
        from services.aggregator.storage.figworkers import FiguresWorkers

        workers = FiguresWorkers(
            settings.database_url, registry, settings.figures_workers, cache_mib=READ_CACHE_MIB
        )
    return AggregatorService(
        settings, registry, AggregatorMetrics(), writer, reader, figures_workers=workers
    )


READ_CACHE_MIB = 16  # SQLite page cache of each reading connection of the aggregator


def build_reporter(settings: Settings, registry: UnitRegistry) -> Service:
    from services.reporter.service import ReporterService

    return ReporterService(settings, registry=registry)


BUILDERS = {"intake": build_intake, "aggregator": build_aggregator, "reporter": build_reporter}


def build_services(
    names: tuple[str, ...], settings: Settings, registry: UnitRegistry
) -> list[Service]:
    return [BUILDERS[name](settings, registry) for name in names]


def local_figures_source(settings: Settings, registry: UnitRegistry) -> FiguresSource:
    """Figures read in process from the aggregator's database, read-only."""
    from services.aggregator.storage.reader import LocalFiguresSource

    return LocalFiguresSource(settings.database_url, registry)


@dataclass
class App:
    """The `CommandContext` of the `tthc` command (shared/context.py)."""

    settings: Settings
    _registry: UnitRegistry | None = field(default=None, repr=False)

    @property
    def registry(self) -> UnitRegistry:
        if self._registry is None:
            self._registry = load_units(self.settings)
        return self._registry

    def figures_source(self) -> FiguresSource:
        return local_figures_source(self.settings, self.registry)

    def services(self, names: tuple[str, ...]) -> list[Any]:
        return build_services(names, self.settings, self.registry)
