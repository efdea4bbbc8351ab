"""Series every service exports beside its own (docs/metrics.md, "Every service").

- `process_*` and `python_info`: prometheus_client's process and platform collectors,
  on the service's own registry (never the global one);
- `tthc_build_info{version}`: 1, with the installed package's version (`tthc --version`);
- `tthc_nats_connected`: 1 while the service's NATS connection is up, 0 before it is
  made, while it is down or reconnecting, and after it is closed. Read at scrape time
  from the connection itself, so it never lags behind an outage.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, PlatformCollector, ProcessCollector

PACKAGE = "tthc"


def package_version() -> str:
    """The installed version of the tthc package ('unknown' when run from a bare tree)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


class ServiceMetrics:
    """The common series of one service, added to its registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self.build_info = Gauge(
            "tthc_build_info",
            "Always 1; the version label is the running tthc package's version.",
            ["version"],
            registry=registry,
        )
        self.build_info.labels(package_version()).set(1)
        self.nats_connected = Gauge(
            "tthc_nats_connected",
            "1 while this service's NATS connection is up, 0 otherwise (down, reconnecting, "
            "not yet made, closed).",
            registry=registry,
        )
        self._connection: Callable[[], Any] = lambda: None
        self.nats_connected.set_function(self._connected)

    def watch(self, connection: Callable[[], Any]) -> None:
        """Follow the connection `connection()` returns (None: not connected)."""
        self._connection = connection

    def _connected(self) -> float:
        nc = self._connection()
        return 1.0 if nc is not None and nc.is_connected else 0.0

    def connected(self) -> bool:
        """Whether the watched connection is up now (what readiness follows)."""
        return self._connected() == 1.0
