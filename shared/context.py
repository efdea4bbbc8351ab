"""What a command is handed by the composition root (services/bootstrap.py).

Commands (`services/<service>/cli.py`) receive their parsed arguments and a
`CommandContext`: the settings, the unit registry (loaded once, on first use) and the
figures source of commands run outside the services. They never build these
themselves, so tests hand in fakes the same way.
"""

from __future__ import annotations

from typing import Protocol

from shared.ports import FiguresSource
from shared.registry import UnitRegistry
from shared.settings import Settings


class CommandContext(Protocol):
    settings: Settings

    @property
    def registry(self) -> UnitRegistry: ...

    def figures_source(self) -> FiguresSource: ...
