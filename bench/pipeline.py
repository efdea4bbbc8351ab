"""Benchmarks of the event pipeline (issue 6, targets 1, 2 and 5): drain, latency, memory.

    .venv/bin/python bench/pipeline.py drain   [--events 200000] [--db sqlite|postgres]
                                               [--mode one|split ...]
    .venv/bin/python bench/pipeline.py latency [--rate 2000] [--seconds 10 | --full] [--db ...]
    .venv/bin/python bench/pipeline.py memory  [--events 1000000] [--db ...]

Each run starts its own nats-server (temporary store, free port) and its own database
(a SQLite file in a temporary directory, or a PostgreSQL database created and dropped
on 127.0.0.1:5432), publishes simulator traffic (`services/simulator`, JetStream
`publish_async`), and runs the services the way a deployment does: `tthc run all`
(`--mode one`, one process) or `tthc run intake` + `tthc run aggregator` as separate
processes (`--mode split`). It prints the machine and the figures (also as one JSON
line with `--json`). Nothing here touches the machine's own NATS on 4222.

- drain: N events wait in TTHC_EVENTS; a bare nats-py durable push consumer (JSON
  decode, ack each message) reads them all (the reference), then the services are
  started and timed until no consumer has anything pending; events/s of both, ratio.
- latency: the services run; events are published at a steady rate; the aggregator's
  `tthc_event_to_figure_latency_seconds` histogram (JetStream publish time to commit)
  gives p50/p95/p99 (linear interpolation inside buckets; the share under 250 ms is
  exact, 0.25 being a bucket bound).
- memory: N events drained by separately running intake and aggregator; the
  aggregator's peak RSS (VmHWM of its process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy  # noqa: E402

from services.simulator.cli import build_config, resolve_communes  # noqa: E402
from services.simulator.generate import generate, take  # noqa: E402
from services.simulator.publish import publish_messages  # noqa: E402
from shared.domain.timeutil import LOCAL_TZ  # noqa: E402
from shared.natsserver import (  # noqa: E402
    LocalNatsServer,
    find_nats_server,
    free_port_block,
)
from shared.natsutil import connect, ensure_streams  # noqa: E402
from shared.registry import load_registry  # noqa: E402
from shared.settings import Settings  # noqa: E402
from shared.subjects import (  # noqa: E402
    ACCEPTED_STREAM,
    AGGREGATOR_CONSUMER,
    EVENTS_STREAM,
    INTAKE_CONSUMER,
)

PG_ADMIN_URL = os.environ.get(
    "TTHC_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TTHC = str(ROOT / ".venv" / "bin" / "tthc")


# --- the machine -------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _postgres_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])
    except Exception:
        return None


def machine() -> dict[str, object]:
    """CPU, cores, load and the versions the figures depend on."""
    try:
        out = subprocess.run(
            [find_nats_server(), "--version"], capture_output=True, text=True, timeout=10
        )
        nats_server = (out.stdout or out.stderr).strip()
    except Exception as exc:
        nats_server = f"unknown ({exc})"

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "nats_server": nats_server,
        "nats_py": version("nats-py"),
        "faststream": version("faststream"),
        "sqlalchemy": version("SQLAlchemy"),
        "uvloop": version("uvloop"),
        "sqlite": sqlite3.sqlite_version,
        "postgres": _postgres_version(),
    }


def print_machine(info: dict[str, object]) -> None:
    print("machine:")
    for key, value in info.items():
        print(f"  {key:<13} {value}")


# --- databases ---------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path):
    """A fresh database URL: a SQLite file in workdir, or a PostgreSQL database (dropped)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'data' / 'tthc.sqlite3'}"
        return
    import psycopg

    name = f"tthc_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def events_stored(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM case_event")).scalar_one())
    finally:
        engine.dispose()


# --- traffic -----------------------------------------------------------------------------


def traffic(events: int, communes: int, days: int, seed: int):
    """Lazily generated simulator messages (valid events only, no duplicates)."""
    registry = load_registry(None)
    codes = resolve_communes(registry, random_n=communes, seed=seed)
    now = datetime.now(UTC)
    end = now.astimezone(LOCAL_TZ).date()
    cfg = build_config(registry, codes, end - timedelta(days=days), end, now, seed=seed)
    return take(generate(cfg), events)


async def publish(url: str, messages, rate: float | None = None, quiet: bool = False):
    settings = Settings.from_env(nats_url=url, metrics_port=0)
    nc = await connect(settings, "bench-publish")
    try:
        await ensure_streams(nc.jetstream(), settings)

        def progress(stats) -> None:
            if not quiet:
                print(f"  {stats.line()}", file=sys.stderr, flush=True)

        return await publish_messages(
            nc, messages, rate=rate, progress=progress, progress_interval=5.0
        )
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


# --- the bare consumer (the reference) ---------------------------------------------------


async def bare_consumer(url: str, expected: int, name: str = "bench-bare") -> float:
    """Seconds a bare nats-py durable push consumer takes to read, decode and ack `expected`."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    done = asyncio.Event()
    count = 0
    loads = orjson.loads

    async def on_msg(msg) -> None:
        nonlocal count
        loads(msg.data)
        await msg.ack()
        count += 1
        if count >= expected:
            done.set()

    deliver = f"_BENCH.{name}"
    started = time.perf_counter()
    sub = await nc.subscribe(
        deliver, cb=on_msg, pending_msgs_limit=100_000, pending_bytes_limit=512 * 1024 * 1024
    )
    await js.add_consumer(
        EVENTS_STREAM,
        ConsumerConfig(
            durable_name=name,
            deliver_subject=deliver,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=4000,  # as intake's consumer
        ),
    )
    await done.wait()
    await nc.flush()
    seconds = time.perf_counter() - started
    await sub.unsubscribe()
    await js.delete_consumer(EVENTS_STREAM, name)
    await nc.close()
    return seconds


# --- the services ------------------------------------------------------------------------


def service_env(nats_url: str, workdir: Path, db_url: str, metrics_port: int = 0) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "TTHC_NATS_URL": nats_url,
            "TTHC_DATA_DIR": str(workdir / "data"),
            "TTHC_DATABASE_URL": db_url,
            "TTHC_METRICS_PORT": str(metrics_port),
            "TTHC_LOG_LEVEL": "WARNING",
            "TTHC_LOG_FORMAT": "json",
        }
    )
    return env


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def postgres_cpu() -> float | None:
    """CPU seconds used so far by every PostgreSQL server process on this machine (the
    benchmark's database is the only busy one)."""
    total, found = 0.0, False
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "comm").read_text().strip() in ("postgres", "postmaster"):
                found = True
                total += cpu_seconds(int(proc.name)) or 0.0
    return total if found else None


def service_cpu(procs: dict[str, subprocess.Popen]) -> dict[str, float]:
    """CPU seconds used so far by each service process, by name (`tthc run all`'s
    children are found under the supervisor and named by their command line)."""
    out: dict[str, float] = {}
    for name, proc in procs.items():
        if (own := cpu_seconds(proc.pid)) is not None:
            out["supervisor" if name == "all" else name] = own
        for child in _children(proc.pid):
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                label = next((a.decode() for a in reversed(argv) if a), str(child))
                if (used := cpu_seconds(child)) is not None:
                    out[label] = out.get(label, 0.0) + used
    return out


def start_services(mode: str, env: dict, workdir: Path) -> dict[str, subprocess.Popen]:
    names = ["all"] if mode == "one" else ["intake", "aggregator"]
    procs = {}
    for name in names:
        log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        procs[name] = subprocess.Popen([TTHC, "run", name], env=env, stdout=log, stderr=log)
    return procs


def stop_services(procs: dict[str, subprocess.Popen]) -> dict[str, int | None]:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    codes = {}
    for name, proc in procs.items():
        try:
            codes[name] = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            codes[name] = proc.wait()
    return codes


def slow_batches(workdir: Path) -> list[dict]:
    """The aggregator's `slow_batch` warnings in the services' logs (JSON lines)."""
    found = []
    for path in sorted(workdir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if '"slow_batch"' not in line or "{" not in line:
                continue
            with contextlib.suppress(ValueError):
                record = json.loads(line[line.index("{") :])
                found.append({k: record.get(k) for k in ("seconds", "events", "steps")})
    return found


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a running process, MB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


async def wait_drained(
    url: str,
    procs: dict[str, subprocess.Popen],
    timeout: float = 3600.0,
    on_first_commit: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """Poll both consumers until neither has anything pending; times since this call."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    started = time.perf_counter()
    first_ack = None
    last_seq = (await js.stream_info(EVENTS_STREAM)).state.last_seq
    try:
        while True:
            if time.perf_counter() - started > timeout:
                raise TimeoutError("the pipeline did not drain in time")
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"tthc run {name} exited with {proc.returncode}")
            try:
                intake = await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER)
                agg = await js.consumer_info(ACCEPTED_STREAM, AGGREGATOR_CONSUMER)
                accepted = await js.stream_info(ACCEPTED_STREAM)
            except Exception:
                await asyncio.sleep(0.05)
                continue
            if first_ack is None and agg.ack_floor and agg.ack_floor.stream_seq:
                first_ack = time.perf_counter() - started
                on_first_commit()
            if (
                intake.ack_floor.stream_seq >= last_seq
                and intake.num_pending == 0
                and intake.num_ack_pending == 0
                and accepted.state.messages > 0
                and agg.num_pending == 0
                and agg.num_ack_pending == 0
            ):
                return {"seconds": time.perf_counter() - started, "first_commit": first_ack or 0}
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


# --- drain -------------------------------------------------------------------------------


def snapshot_usage(
    into: dict[str, object],
    procs: dict[str, subprocess.Popen],
    db_url: str,
    server: LocalNatsServer,
) -> None:
    """CPU used so far by the services and nats-server, and the events stored."""
    into["cpu"] = service_cpu(procs)
    into["stored"] = events_stored(db_url)
    if server.process:
        into["nats"] = cpu_seconds(server.process.pid)


async def run_drain(args: argparse.Namespace, workdir: Path, server: LocalNatsServer) -> dict:
    print(f"publishing {args.events:,} events ...", file=sys.stderr, flush=True)
    stats = await publish(
        server.url, traffic(args.events, args.communes, args.days, args.seed), quiet=args.quiet
    )
    n = stats.acked - stats.window_duplicates
    result: dict[str, object] = {"events": n, "publish_eps": round(stats.rate)}
    print(f"bare consumer over {n:,} events ...", file=sys.stderr, flush=True)
    bare = await bare_consumer(server.url, n)
    result["bare_seconds"] = round(bare, 2)
    result["bare_eps"] = round(n / bare)
    for mode in args.mode:
        with database(args.db, workdir / mode) as db_url:
            (workdir / mode).mkdir(exist_ok=True)
            base = free_port_block()
            env = service_env(server.url, workdir / mode, db_url, metrics_port=base)
            # Each mode starts from an empty pipeline: forget the previous mode's consumers.
            await reset_pipeline(server.url)
            print(f"services ({mode}) draining ...", file=sys.stderr, flush=True)
            nats_before = cpu_seconds(server.process.pid) if server.process else None
            pg_before = postgres_cpu() if args.db == "postgres" else None
            t0 = time.perf_counter()
            procs = start_services(mode, env, workdir / mode)
            at_first: dict[str, object] = {}
            first_commit = functools.partial(snapshot_usage, at_first, procs, db_url, server)
            try:
                times = await wait_drained(server.url, procs, on_first_commit=first_commit)
                seconds = time.perf_counter() - t0
                cpu = service_cpu(procs)
                if pg_before is not None and (pg_after := postgres_cpu()) is not None:
                    cpu["postgres"] = pg_after - pg_before  # its backends, over the whole run
                batches = mean_batches(base)
                nats_cpu = cpu_seconds(server.process.pid) if server.process else None
                rss = {name: peak_rss_mb(p.pid) for name, p in procs.items()}
            finally:
                codes = stop_services(procs)
            stored = events_stored(db_url)
        result[mode] = {
            "seconds": round(seconds, 2),
            "eps": round(n / seconds),
            "ratio": round(n / seconds / (n / bare), 3),
            "from_first_commit_eps": round(n / max(1e-9, seconds - times["first_commit"])),
            "startup_to_first_commit_s": round(times["first_commit"], 2),
            "stored": stored,
            "exit_codes": codes,
            "peak_rss_mb": {k: round(v, 1) if v else None for k, v in rss.items()},
            # CPU per event of each process over the whole run, start-up included
            "cpu_us_per_event": {k: round(v / n * 1e6, 1) for k, v in cpu.items()},
            "mean_batch_events": batches,
        }
        if at_first:
            # the same, from the first commit on: the services' cost per event once
            # started (what start-up costs is left out)
            rest = n - int(at_first["stored"])  # type: ignore[call-overload]
            before = at_first["cpu"]
            steady = {
                k: round((v - before[k]) / rest * 1e6, 1)  # type: ignore[index]
                for k, v in cpu.items()
                if k in before  # type: ignore[operator]
            }
            if nats_cpu is not None and at_first.get("nats") is not None:
                steady["nats-server"] = round((nats_cpu - at_first["nats"]) / rest * 1e6, 1)  # type: ignore[operator]
            result[mode]["cpu_us_per_event_after_first_commit"] = steady  # type: ignore[index]
        if nats_cpu is not None and nats_before is not None:
            result[mode]["cpu_us_per_event"]["nats-server"] = round(  # type: ignore[index]
                (nats_cpu - nats_before) / n * 1e6, 1
            )
        if stored != n:
            result[mode]["error"] = f"stored {stored} events, expected {n}"  # type: ignore[index]
    return result


async def reset_pipeline(url: str) -> None:
    """Delete the project's consumers, TTHC_ACCEPTED and TTHC_REJECTED (the services
    create them again). Deleting, not purging: a purge keeps the duplicate window, which
    would drop the next run's identical hand-off messages."""
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    for stream, consumer in (
        (EVENTS_STREAM, INTAKE_CONSUMER),
        (ACCEPTED_STREAM, AGGREGATOR_CONSUMER),
    ):
        with contextlib.suppress(Exception):
            await js.delete_consumer(stream, consumer)
    for stream in (ACCEPTED_STREAM, "TTHC_REJECTED"):
        with contextlib.suppress(Exception):
            await js.delete_stream(stream)
    await nc.close()


# --- latency -----------------------------------------------------------------------------


def mean_batches(base: int) -> dict[str, float | None]:
    """Mean events per batch of intake (+0) and of the aggregator's transactions (+1)."""
    out: dict[str, float | None] = {}
    for name, port in (("intake", base), ("aggregator", base + 1)):
        try:
            text = scrape(port)
        except OSError:
            out[name] = None
            continue
        found = {}
        for line in text.splitlines():
            for part in ("sum", "count"):
                if line.startswith(f"tthc_{name}_batch_size_{part} "):
                    found[part] = float(line.split()[-1])
        out[name] = round(found["sum"] / found["count"], 1) if found.get("count") else None
    return out


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def histogram(text: str, name: str) -> list[tuple[float, float]]:
    """Cumulative (le, count) pairs of a Prometheus histogram without labels."""
    out = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return sorted(out)


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile by linear interpolation inside the bucket (Prometheus' way)."""
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return None
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_count) / max(1e-12, count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def share_under(buckets: list[tuple[float, float]], bound: float) -> float | None:
    total = buckets[-1][1] if buckets else 0
    for le, count in buckets:
        if abs(le - bound) < 1e-9:
            return count / total if total else None
    return None


async def wait_ready(port: int, procs, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"tthc run {name} exited with {proc.returncode}")
        with (
            contextlib.suppress(Exception),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r,
        ):
            if r.status == 200:
                return
        await asyncio.sleep(0.1)
    raise TimeoutError("the aggregator did not become ready")


async def run_latency(args: argparse.Namespace, workdir: Path, server: LocalNatsServer) -> dict:
    seconds = 60.0 if args.full else args.seconds
    n = int(args.rate * seconds)
    base = free_port_block()
    mode = args.mode[0]
    with database(args.db, workdir) as db_url:
        env = service_env(server.url, workdir, db_url, metrics_port=base)
        procs = start_services(mode, env, workdir)
        try:
            await wait_ready(base, procs)
            await wait_ready(base + 1, procs)
            print(f"publishing {n:,} events at {args.rate:,.0f}/s ...", file=sys.stderr, flush=True)
            pids: dict[str, int] = {}
            if server.process is not None:
                pids["nats-server"] = server.process.pid
            pids["bench (publisher)"] = os.getpid()

            def cpu_now() -> dict[str, float]:
                # the services by name (`run all`'s children included), then the others
                used = service_cpu(procs)
                if args.db == "postgres" and (pg := postgres_cpu()) is not None:
                    used["postgres"] = pg
                for name, pid in pids.items():
                    if (seconds := cpu_seconds(pid)) is not None:
                        used[name] = seconds
                return used

            cpu_before = cpu_now()
            wall_before = time.monotonic()
            stats = await publish(
                server.url,
                traffic(n, args.communes, args.days, args.seed),
                rate=args.rate,
                quiet=args.quiet,
            )
            await wait_drained(server.url, procs, timeout=600)
            wall = time.monotonic() - wall_before
            cpu_share = {
                name: round((after - cpu_before.get(name, 0.0)) / wall, 2)
                for name, after in cpu_now().items()
            }
            text = scrape(base + 1)
            intake_text = scrape(base)
        finally:
            codes = stop_services(procs)
        stalls = slow_batches(workdir)
    buckets = histogram(text, "tthc_event_to_figure_latency_seconds")
    stages = {}
    for label, source, name, scale in (
        ("intake_batch_ms", intake_text, "tthc_intake_batch_duration_seconds", 1000),
        ("intake_batch_messages", intake_text, "tthc_intake_batch_size", 1),
        ("aggregator_batch_ms", text, "tthc_aggregator_batch_duration_seconds", 1000),
        ("aggregator_batch_events", text, "tthc_aggregator_batch_size", 1),
    ):
        stage = histogram(source, name)
        total = stage[-1][1] if stage else 0
        stages[label] = {
            f"p{round(q * 100)}": round(v * scale, 1)
            for q in (0.5, 0.99)
            if (v := quantile(stage, q)) is not None
        } | {
            "count": total,
            # the bucket bound every observation is under (the largest one, roughly)
            "max_under": next((le * scale for le, c in stage if c >= total), None),
        }
    p = {q: quantile(buckets, q) for q in (0.5, 0.95, 0.99)}
    return {
        "mode": mode,
        "rate_asked": args.rate,
        "seconds": seconds,
        "published": stats.published,
        "publish_eps": round(stats.rate),
        "observed": buckets[-1][1] if buckets else 0,
        "p50_ms": round(p[0.5] * 1000, 1) if p[0.5] is not None else None,
        "p95_ms": round(p[0.95] * 1000, 1) if p[0.95] is not None else None,
        "p99_ms": round(p[0.99] * 1000, 1) if p[0.99] is not None else None,
        "share_under_250ms": share_under(buckets, 0.25),
        "stages": stages,
        "cpu_cores_used": cpu_share,
        # batches over 250 ms, with the cumulative seconds at the end of each step
        "slow_batches": stalls,
        "buckets": [[le, c] for le, c in buckets if le != float("inf")],
        "exit_codes": codes,
    }


# --- memory ------------------------------------------------------------------------------


async def run_memory(args: argparse.Namespace, workdir: Path, server: LocalNatsServer) -> dict:
    print(f"publishing {args.events:,} events ...", file=sys.stderr, flush=True)
    stats = await publish(
        server.url, traffic(args.events, args.communes, args.days, args.seed), quiet=args.quiet
    )
    n = stats.acked - stats.window_duplicates
    if n < args.events:
        print(f"only {n:,} events simulated: raise --communes or --days", file=sys.stderr)
    with database(args.db, workdir) as db_url:
        env = service_env(server.url, workdir, db_url)
        t0 = time.perf_counter()
        procs = start_services("split", env, workdir)
        try:
            await wait_drained(server.url, procs)
            seconds = time.perf_counter() - t0
            rss = {name: peak_rss_mb(p.pid) for name, p in procs.items()}
        finally:
            codes = stop_services(procs)
        stored = events_stored(db_url)
    return {
        "events": n,
        "stored": stored,
        "seconds": round(seconds, 1),
        "eps": round(n / seconds),
        "aggregator_peak_rss_mb": round(rss["aggregator"] or 0, 1),
        "intake_peak_rss_mb": round(rss["intake"] or 0, 1),
        "exit_codes": codes,
    }


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    for name, events in (("drain", 200_000), ("latency", None), ("memory", 1_000_000)):
        p = sub.add_parser(name)
        if events is not None:
            p.add_argument("--events", type=int, default=events)
        p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
        p.add_argument(
            "--mode",
            action="append",
            choices=("one", "split"),
            help="one: `tthc run all`; split: intake and aggregator processes (repeatable)",
        )
        p.add_argument(
            "--communes", type=int, default=300, help="communes simulated (300: 1.3M events a year)"
        )
        p.add_argument("--days", type=int, default=365, help="days of traffic")
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--json", action="store_true", help="also print the result as JSON")
        p.add_argument("--quiet", action="store_true")
        if name == "latency":
            p.add_argument("--rate", type=float, default=2000.0, help="events per second")
            p.add_argument(
                "--nats-store",
                type=Path,
                help="where nats-server keeps its store (default: the temporary work "
                "directory, beside the database; e.g. a directory under /dev/shm puts it "
                "on another file system, as a deployment with its own volumes has)",
            )
            p.add_argument("--seconds", type=float, default=10.0)
            p.add_argument("--full", action="store_true", help="60 s (the target's run)")
    args = parser.parse_args(argv)
    args.mode = args.mode or (["one", "split"] if args.bench == "drain" else ["one"])
    info = machine()
    print_machine(info)
    with tempfile.TemporaryDirectory(prefix=f"tthc-bench-{args.bench}-") as tmp:
        workdir = Path(tmp)
        (workdir / "data").mkdir()
        store = getattr(args, "nats_store", None)
        if store is not None:
            store = Path(tempfile.mkdtemp(prefix="tthc-bench-nats-", dir=store))
        server = LocalNatsServer(store_dir=store or workdir / "nats").start()
        try:
            runner = {"drain": run_drain, "latency": run_latency, "memory": run_memory}
            result = asyncio.run(runner[args.bench](args, workdir, server))
        finally:
            server.stop()
            if store is not None:
                shutil.rmtree(store, ignore_errors=True)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"{args.bench} ({args.db}):")
    for key, value in result.items():
        print(f"  {key:<22} {value}")
    if args.json:
        print(json.dumps({"bench": args.bench, "db": args.db, "machine": info, "result": result}))
    return 1 if any(isinstance(v, dict) and v.get("error") for v in result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
