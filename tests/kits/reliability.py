"""Helpers of the reliability tests: service processes, desk traffic, drain, recomputation.

The oracle of every fault test is `expected_figures`: the figures recomputed from the
*published* valid events alone (first copy of each event id, `fold_case` per case,
`compute_figures` per commune, `sum_figures` per province), compared key by key with
what the running system stored (`actual_figures`, the read side `tthc appendix` uses).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import nats
import orjson

from services.aggregator.storage.engine import make_engine
from services.aggregator.storage.queries import figures_for
from services.simulator.generate import SimConfig, SimMessage, generate
from shared.domain.case import fold_case
from shared.domain.figures import compute_figures, sum_figures
from shared.domain.periods import parse_period
from shared.domain.timeutil import LOCAL_TZ, to_instant
from shared.domain.validation import event_from_payload
from shared.ports import FiguresRequest
from shared.registry import load_registry
from shared.subjects import ACCEPTED_STREAM, AGGREGATOR_CONSUMER, EVENTS_STREAM, INTAKE_CONSUMER

ROOT = Path(__file__).resolve().parents[2]
TTHC = str(Path(sys.executable).with_name("tthc"))
PROVINCE = "38"  # Thanh Hóa in the 2025 registry
COMMUNES = ("16000", "16012", "14758")  # three of its communes
# Figures are asked "now" = well after every simulated event, so they are deterministic.
ASK_AT = to_instant(datetime(2026, 3, 1, tzinfo=LOCAL_TZ))
PERIODS: tuple[tuple[str, str], ...] = (
    ("2025-M11", "decree09"),
    ("2025-M12", "decree09"),
    ("2025-Q4", "decree09"),
    ("2025-Q4", "calendar"),
    ("2025", "decree09"),
    ("2025-11-20..2025-12-10", "calendar"),
)

REGISTRY = load_registry(None)


# --- desk traffic -----------------------------------------------------------------------


@dataclass
class Traffic:
    """What a test publishes: (subject, body, msg id) and the valid payloads among them."""

    messages: list[tuple[str, bytes, str]] = field(default_factory=list)
    valid: list[dict[str, Any]] = field(default_factory=list)
    invalid: int = 0


def desk_traffic(
    seed: int,
    communes: Sequence[str] = COMMUNES,
    *,
    start: date = date(2025, 10, 20),
    end: date = date(2025, 12, 20),
    cases_per_day: float = 6.0,
    invalid: float = 0.01,
    resend_share: float = 0.02,
) -> Traffic:
    """Simulated desk traffic (duplicates, reordering, a few invalid messages) plus some
    events re-sent with a *new* message id, which JetStream's window cannot drop."""
    cfg = SimConfig(
        communes=tuple(communes),
        start=start,
        end=end,
        # The real clock: the simulator's `future_timestamp` messages must be in the future.
        now=datetime.now(LOCAL_TZ),
        seed=seed,
        cases_per_day=cases_per_day,
        duplicates=0.03,
        reorder=0.03,
        invalid=invalid,
    )
    rng = random.Random(f"reliability:{seed}")
    out = Traffic()
    msgs: list[SimMessage] = list(generate(cfg))
    for n, msg in enumerate(msgs):
        body = msg.raw if msg.raw is not None else orjson.dumps(msg.payload)
        msg_id = msg.msg_id or f"noid-{seed}-{n}"
        out.messages.append((msg.subject, body, msg_id))
        if not msg.is_valid:
            out.invalid += 1
        elif msg.kind == "event":
            out.valid.append(msg.payload)  # type: ignore[arg-type]
        if msg.is_valid and rng.random() < resend_share:
            out.messages.append((msg.subject, body, f"resent-{seed}-{n}"))
    return out


# --- the oracle ---------------------------------------------------------------------------


def expected_figures(
    valid_payloads: Iterable[dict[str, Any]], kind: str, code: str, label: str, calendar: str
) -> dict[str, Any]:
    """Figures of a unit and period recomputed from the published valid events alone."""
    seen: set[str] = set()
    cases: dict[tuple[str, str], list] = defaultdict(list)
    for payload in valid_payloads:
        if payload["event_id"] in seen:
            continue
        seen.add(payload["event_id"])
        event = event_from_payload(payload)
        cases[(event.commune_code, event.case_id)].append(event)
    period = parse_period(label, calendar)
    communes = (code,) if kind == "commune" else REGISTRY.communes_of(code)
    per_commune = []
    for commune in communes:
        summaries = [fold_case(evs) for (c, _), evs in cases.items() if c == commune]
        per_commune.append(
            compute_figures(summaries, period.start_instant, period.end_instant, ASK_AT)
        )
    if kind == "commune":
        return dict(per_commune[0])
    return dict(sum_figures(per_commune))


def actual_figures(
    database_url: str, kind: str, code: str, label: str, calendar: str
) -> dict[str, Any]:
    """Figures the system serves (the read side of `tthc appendix`) from its database."""
    period = parse_period(label, calendar)
    engine = make_engine(database_url)
    try:
        reply = figures_for(
            engine,
            REGISTRY,
            FiguresRequest(kind, code, period.start_instant, period.end_instant, ASK_AT),
        )
    finally:
        engine.dispose()
    assert reply.error is None, reply.error
    return dict(reply.figures)


def assert_figures_exact(
    database_url: str, valid: list[dict[str, Any]], communes: Sequence[str] = COMMUNES
) -> int:
    """Every figure of every commune and the province, for PERIODS, equals the
    recomputation. Returns how many (unit, period) pairs were compared."""
    units = [("commune", c) for c in communes] + [("province", PROVINCE)]
    compared = 0
    nonzero = 0
    for kind, code in units:
        for label, calendar in PERIODS:
            want = expected_figures(valid, kind, code, label, calendar)
            have = actual_figures(database_url, kind, code, label, calendar)
            diff = {k: (have.get(k), v) for k, v in want.items() if have.get(k) != v}
            assert not diff, f"{kind} {code} {label} {calendar}: (stored, expected) {diff}"
            compared += 1
            nonzero += want["received_total"] > 0
    assert nonzero >= len(units), "the traffic must give figures to compare"
    return compared


# --- processes ----------------------------------------------------------------------------


def service_env(nats_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `tthc` process of a test (no metrics port unless given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env.update(
        TTHC_NATS_URL=nats_url,
        TTHC_DATA_DIR=str(data_dir),
        TTHC_METRICS_PORT="0",
        TTHC_LOG_FORMAT="json",
        TTHC_BATCH_WAIT_MS="20",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


class Proc:
    """One `tthc run ...` process (optionally through the fault launcher), logs to a file."""

    def __init__(self, which: str, env: dict[str, str], log_dir: Path, faulty: bool = False):
        self.which, self.env, self.log_dir, self.faulty = which, env, log_dir, faulty
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_offset = 0
        self.kills = 0
        self.exits: list[int] = []

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.which}.log"

    def start(self) -> Proc:
        argv = (
            [sys.executable, "-m", "tests.reliability.faulty", "run", self.which]
            if self.faulty
            else [TTHC, "run", self.which]
        )
        # Where this life's log begins: a life that dies before logging its start-up
        # line (the fault launcher can kill it at its first commit) must not make every
        # later life look unready.
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        self.popen = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log, cwd=ROOT)
        log.close()
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
            self.kills += 1
        self.reap()

    def reap(self) -> None:
        if self.popen is not None:
            self.exits.append(self.popen.wait(timeout=10))
            self.popen = None

    def restart_if_dead(self) -> bool:
        """Start it again if it died by itself (a fault); True if it did."""
        if self.popen is not None and self.popen.poll() is not None:
            self.reap()
            self.start()
            return True
        return False

    def stop(self, timeout: float = 40) -> int | None:
        """SIGTERM and wait; the exit status (None if it was not running)."""
        if not self.alive():
            self.reap()
            return None
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"{self.which} did not stop within {timeout}s") from None
        self.exits.append(code)
        self.popen = None
        return code

    READY: ClassVar[dict[str, str]] = {
        "intake": "intake_consumer_ready",
        "aggregator": "aggregator_started",
    }

    def ready(self) -> bool:
        """Whether the current life has finished starting (its start-up line is logged)."""
        marker = self.READY.get(self.which, "aggregator_started")
        if not self.alive() or not self.log_path.exists():
            return False
        return marker.encode() in self.log_path.read_bytes()[self.log_offset :]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def tthc(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TTHC, *args], env=env, capture_output=True, text=True, timeout=120, check=check, cwd=ROOT
    )


# --- NATS side ---------------------------------------------------------------------------


async def wait_stream(js: Any, name: str = EVENTS_STREAM, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await js.stream_info(name)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def publish(
    url: str,
    messages: Sequence[tuple[str, bytes, str]],
    *,
    pace: float = 0.0,
    chunk: int = 50,
    on_chunk: Any = None,
) -> None:
    """JetStream-publish every message, awaiting each ack; a failed publish (broker down)
    is retried with the same message id until it is acknowledged, like a careful desk."""
    nc = await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream(timeout=5)
    try:
        await wait_stream(js)
        for i, (subject, body, msg_id) in enumerate(messages):
            while True:
                try:
                    await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
                    break
                except Exception:
                    await asyncio.sleep(0.2)
            if (i + 1) % chunk == 0:
                if on_chunk is not None:
                    await on_chunk(i + 1)
                if pace:
                    await asyncio.sleep(pace)
    finally:
        await nc.close()


async def consumers(url: str) -> dict[str, Any]:
    """consumer name -> ConsumerInfo of intake and aggregator."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        return {
            INTAKE_CONSUMER: await js.consumer_info(EVENTS_STREAM, INTAKE_CONSUMER),
            AGGREGATOR_CONSUMER: await js.consumer_info(ACCEPTED_STREAM, AGGREGATOR_CONSUMER),
        }
    finally:
        await nc.close()


async def wait_drained(
    url: str, timeout: float = 90, tick: Any = None, stable: float = 0.0
) -> dict[str, Any]:
    """Until both consumers have nothing pending and nothing unacknowledged.

    `tick()` runs each round (restart a process that a fault killed)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        try:
            last = await consumers(url)
        except Exception as exc:  # consumer not created yet, broker restarting
            last = exc
            await asyncio.sleep(0.3)
            continue
        if all(c.num_pending == 0 and c.num_ack_pending == 0 for c in last.values()):
            if stable:
                await asyncio.sleep(stable)
                again = await consumers(url)
                if not all(c.num_pending == 0 and c.num_ack_pending == 0 for c in again.values()):
                    continue
                last = again
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"not drained within {timeout}s: {last}")


async def stream_messages(url: str, stream: str) -> list[Any]:
    """Every message of a stream (by sequence, with the message-get API: nothing consumed)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                out.append(await js.get_msg(stream, seq))
            except Exception:
                continue
        return out
    finally:
        await nc.close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def metric_value(text: str, name: str) -> float:
    """The value of an unlabelled series in Prometheus text format (0 if absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def series(text: str) -> set[str]:
    """Every series (name and labels) of a Prometheus text exposition."""
    return {
        line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    }
