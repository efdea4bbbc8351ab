"""An outage of NATS is visible: every service's readiness follows its broker connection,
`tthc_nats_connected` falls to 0, the consumer lag is dropped instead of frozen, and a
real Prometheus scraping the services sees it and starts the broker alert.

Real components: a nats-server (stopped and started again on its port), the three
services as `tthc run <service>` processes, Debian's Prometheus with the project's rules.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shared.natsserver import LocalNatsServer, free_port_block
from shared.opsmetrics import package_version
from tests.kits.prometheus import Prometheus, prometheus_binary
from tests.kits.reliability import Proc, service_env

pytestmark = pytest.mark.nats
SERVICES = ("intake", "aggregator", "reporter")


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        return r.read().decode()


def sample(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name)]


def wait_until(predicate, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.2)


def test_readiness_and_metrics_follow_the_broker(
    nats_server: LocalNatsServer, tmp_path: Path
) -> None:
    prometheus_binary()  # skip early (or fail in CI) without Prometheus
    base = free_port_block(3)
    ports = {name: base + i for i, name in enumerate(SERVICES)}
    env = service_env(
        nats_server.url,
        tmp_path / "data",
        TTHC_METRICS_PORT=str(base),
        TTHC_OVERDUE_SWEEP_SECONDS="1",
    )
    procs = [Proc(name, env, tmp_path) for name in SERVICES]
    prom = Prometheus(
        tmp_path / "prometheus",
        {f"tthc-{name}": [f"127.0.0.1:{port}"] for name, port in ports.items()},
    )
    try:
        for proc in procs:
            proc.start()
        ready = {name: f"http://127.0.0.1:{port}/readyz" for name, port in ports.items()}
        wait_until(lambda: all(status(u) == 200 for u in ready.values()), what="all ready")
        agg = ports["aggregator"]
        wait_until(lambda: sample(metrics(agg), "tthc_consumer_pending{"), what="lag series")
        wait_until(lambda: sample(metrics(agg), "tthc_consumer_pending_events{"), what="events")
        for port in ports.values():
            text = metrics(port)
            assert sample(text, "tthc_nats_connected") == ["tthc_nats_connected 1.0"]
            assert f'tthc_build_info{{version="{package_version()}"}} 1.0' in text
            assert sample(text, "process_resident_memory_bytes")
            assert sample(text, "process_cpu_seconds_total")

        prom.start()
        prom.wait_for(
            'tthc_nats_connected{job=~"tthc-.*"} == 1', lambda r: len(r) == 3, timeout=30
        )
        up = prom.query('up{job=~"tthc-.*"}')
        assert sorted((s["metric"]["job"], s["value"]) for s in up) == [
            ("tthc-aggregator", 1.0),
            ("tthc-intake", 1.0),
            ("tthc-reporter", 1.0),
        ]
        assert prom.query('ALERTS{alertname="TthcBrokerDisconnected"}') == []

        # The broker goes away: not ready, disconnected, no stale lag; still alive.
        nats_server.stop()
        wait_until(lambda: all(status(u) == 503 for u in ready.values()), what="all unready")
        for name, port in ports.items():
            assert status(f"http://127.0.0.1:{port}/healthz") == 200, name
            assert sample(metrics(port), "tthc_nats_connected") == ["tthc_nats_connected 0.0"]
        wait_until(lambda: not sample(metrics(agg), "tthc_consumer_pending"), what="lag gone")
        pending = prom.wait_for(
            'ALERTS{alertname="TthcBrokerDisconnected"}', lambda r: len(r) == 3, timeout=30
        )
        assert {s["metric"]["alertstate"] for s in pending} == {"pending"}
        assert {s["metric"]["job"] for s in pending} == {f"tthc-{n}" for n in SERVICES}
        assert prom.query('up{job=~"tthc-.*"} == 0') == []  # scraped all along

        # The broker is back: ready again, connected, lag exported again.
        nats_server.start()
        wait_until(lambda: all(status(u) == 200 for u in ready.values()), what="ready again")
        wait_until(lambda: sample(metrics(agg), "tthc_consumer_pending{"), what="lag back")
        prom.wait_for(
            'tthc_nats_connected{job=~"tthc-.*"} == 1', lambda r: len(r) == 3, timeout=30
        )
    finally:
        prom.stop()
        for proc in procs:
            proc.stop()
