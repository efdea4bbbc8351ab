"""`tthc demo` end to end: its own data dir, a real nats-server, the services in process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.nats, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TTHC = [sys.executable, "-m", "services.cli"]


def run_tthc(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TTHC, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_demo_feeds_the_pipeline_and_prints_the_appendix(tmp_path, nats_server):
    """The demo publishes traffic, waits for every consumer, prints summary and both appendices."""
    env = {
        **os.environ,
        "TTHC_DATA_DIR": str(tmp_path / "var"),
        "TTHC_NATS_URL": nats_server.url,
        "TTHC_METRICS_PORT": "0",
        "TTHC_DATABASE_URL": "",
    }
    done = run_tthc(["demo", "--events", "400", "--timeout", "60"], env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "TÓM TẮT / SUMMARY" in out
    assert "PHỤ LỤC 01b" in out
    assert "Đơn vị: Xã Hoằng Thanh (16000)" in out
    assert "Đơn vị: Thanh Hóa (38)" in out
    assert out.count("Kiểm tra: số liệu khớp") == 2  # both appendices add up
    accepted = next(line for line in out.splitlines() if line.strip().startswith("accepted"))
    assert int(accepted.split()[1].replace(",", "")) > 300
    rejected = next(line for line in out.splitlines() if line.strip().startswith("rejected"))
    assert int(rejected.split()[1]) >= 1  # the handful of invalid messages, shown with reasons
    assert "every consumer is caught up" in done.stderr
    assert f"using the NATS server at {nats_server.url}" in done.stderr
    assert (tmp_path / "var" / "tthc.sqlite3").exists()
    # Afterwards the contract's status command agrees: nothing pending anywhere.
    status = run_tthc(["status", "--json"], env, timeout=30)
    assert status.returncode == 0, status.stderr
    consumers = json.loads(status.stdout)["consumers"]
    assert consumers
    assert all(c["num_pending"] == 0 and c["num_ack_pending"] == 0 for c in consumers)
