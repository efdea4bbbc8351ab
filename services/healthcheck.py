"""Container health check: `python -m services.healthcheck [--ready] [SERVICE...]`.

Asks each named service's `/healthz` (or `/readyz` with `--ready`) on 127.0.0.1 at its
metrics port (TTHC_METRICS_PORT + offset); exits 0 when every one answers 200, else 1.
Without names it checks all three (the image's default command is `tthc run all`).
The slim image has no curl; this needs only the standard library and the settings.
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Sequence

from shared.settings import Settings

SERVICES = ("intake", "aggregator", "reporter")


def check(settings: Settings, service: str, ready: bool = False, timeout: float = 2.0) -> bool:
    """Whether one service's health (or readiness) endpoint answers 200."""
    port = settings.metrics_port_for(service)
    if port == 0:
        return False
    path = "/readyz" if ready else "/healthz"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ready = "--ready" in args
    names = [a for a in args if a != "--ready"] or list(SERVICES)
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        print(f"healthcheck: unknown service {unknown[0]!r}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    failed = [n for n in names if not check(settings, n, ready)]
    for name in failed:
        print(f"healthcheck: {name} is not {'ready' if ready else 'healthy'}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
