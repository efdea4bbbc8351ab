"""A tiny asyncio HTTP server for `/metrics`, `/healthz` and `/readyz` of one service.

Each service owns a `CollectorRegistry` (never the global one) and passes it here with
two callables saying whether it is alive and ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.errors import UsageError


class OpsServer:
    """Serves the metrics and health endpoints of one service on one port."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str,
        port: int,
        is_alive: Callable[[], bool] = lambda: True,
        is_ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self.registry, self.host, self.port = registry, host, port
        self.is_alive, self.is_ready = is_alive, is_ready
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        if self.port == 0:
            return
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            raise UsageError(
                f"cannot serve metrics and health on {self.host}:{self.port} "
                f"({exc.strerror or exc}); set TTHC_METRICS_PORT to a free base port "
                "(intake uses it, the aggregator +1, the reporter +2) or to 0 to turn "
                "the endpoints off"
            ) from None

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (
                b"\r\n",
                b"\n",
                b"",
            ):
                pass
            parts = request_line.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
            if path == "/metrics":
                status, ctype, body = 200, CONTENT_TYPE_LATEST, generate_latest(self.registry)
            elif path == "/healthz":
                ok = self.is_alive()
                status, ctype, body = (
                    (200 if ok else 503),
                    "text/plain",
                    b"ok\n" if ok else b"down\n",
                )
            elif path == "/readyz":
                ok = self.is_ready()
                status, ctype = (200 if ok else 503), "text/plain"
                body = b"ready\n" if ok else b"not ready\n"
            else:
                status, ctype, body = 404, "text/plain", b"not found\n"
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
