"""Finding and starting a local nats-server (the demo and the tests use it).

Production points TTHC_NATS_URL at a real server; on a laptop `tthc demo` starts one
with its store under TTHC_DATA_DIR when none is reachable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

CANDIDATES = ("/usr/sbin/nats-server", "/usr/local/bin/nats-server", "/usr/bin/nats-server")
INSTALL_HINT = (
    "nats-server was not found on PATH or in /usr/sbin. Install it: on Debian or Ubuntu "
    "`apt-get install nats-server`; elsewhere download it from the NATS project's "
    "releases and put it on PATH, or point TTHC_NATS_URL at a running server "
    "(JetStream enabled)."
)


class NatsServerNotFound(RuntimeError):
    """No nats-server binary: the message says what to install."""


def find_nats_server() -> str:
    """The path of a nats-server binary, or NatsServerNotFound with install advice."""
    found = shutil.which("nats-server")
    if found:
        return found
    for candidate in CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise NatsServerNotFound(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(count: int = 3) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1.

    The services take their metrics ports as TTHC_METRICS_PORT + 0, 1, 2; a port that
    is free by itself may have a busy neighbour (an outgoing connection's ephemeral
    port), so every port of the block is bound once to check it."""
    for _ in range(200):
        base = free_port()
        if base + count - 1 > 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise RuntimeError(f"no block of {count} consecutive free ports found")


def is_reachable(url: str, timeout: float = 0.5) -> bool:
    """Whether something listens at a nats:// URL, or at any of a comma-separated list of
    them (a TCP connect, no protocol)."""
    for one in (u.strip() for u in url.split(",") if u.strip()):
        parsed = urlparse(one)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 4222
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


@dataclass
class LocalNatsServer:
    """A nats-server child process with JetStream and a store directory."""

    store_dir: Path
    port: int = 0
    config_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    extra_args: tuple[str, ...] = ()  # e.g. a cluster node's name, routes

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> LocalNatsServer:
        binary = find_nats_server()
        if not self.port:
            self.port = free_port()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir)]
        if self.config_file:
            args += ["-c", str(self.config_file)]
        args += list(self.extra_args)
        log = open(self.store_dir / "nats-server.log", "ab")  # noqa: SIM115 - child keeps it
        self.process = subprocess.Popen(args, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.process.returncode}; "
                    f"see {self.store_dir / 'nats-server.log'}"
                )
            if is_reachable(self.url, timeout=0.2):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nats-server did not listen on {self.url} within {timeout}s")

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
