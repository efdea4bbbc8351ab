"""A three-node JetStream cluster of real nats-server processes on localhost, for tests."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats

from shared.natsserver import LocalNatsServer, free_port


@dataclass
class LocalNatsCluster:
    """`size` nodes named n1.. with JetStream, routes between them, stores under `base`."""

    base: Path
    size: int = 3
    nodes: list[LocalNatsServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (TTHC_NATS_URL's cluster form)."""
        return ",".join(node.url for node in self.nodes)

    def start(self) -> LocalNatsCluster:
        client = [free_port() for _ in range(self.size)]
        routes = [free_port() for _ in range(self.size)]
        all_routes = ",".join(f"nats://127.0.0.1:{p}" for p in routes)
        for i in range(self.size):
            args = (
                "-n", f"n{i + 1}",
                "--cluster_name", "tthc-test",
                "--cluster", f"nats://127.0.0.1:{routes[i]}",
                "--routes", all_routes,
            )  # fmt: skip
            node = LocalNatsServer(self.base / f"n{i + 1}", port=client[i], extra_args=args)
            self.nodes.append(node.start())
        return self

    def node(self, name: str) -> LocalNatsServer:
        return self.nodes[int(name.removeprefix("n")) - 1]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    async def wait_ready(self, timeout: float = 30) -> None:
        """Until JetStream answers on the cluster (a meta leader is elected)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                nc = await nats.connect(servers=self.url.split(","), connect_timeout=2)
                try:
                    await nc.jetstream().account_info()
                    return
                finally:
                    await nc.close()
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)
