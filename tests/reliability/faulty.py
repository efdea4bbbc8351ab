"""Test launcher: the real `tthc` command with test-only faults injected from outside.

`python -m tests.reliability.faulty run aggregator` runs exactly `tthc run aggregator`,
after wrapping the aggregator's `apply_batch` (as the committer calls it) (the function that commits one batch, called
in a worker thread before any acknowledgement is sent) and intake's `handle_batch`:

- `TTHC_TEST_CRASH_AFTER_COMMIT=N`: the process dies (`os._exit`, no clean-up, like
  kill -9) right after the k-th database commit of its life and before that batch's
  JetStream acks, k drawn from 1..N; a marker file is written to `TTHC_TEST_FAULT_DIR`
  first, so a test can prove the fault really happened.
- `TTHC_TEST_SLOW_COMMIT_SECONDS=S`: each batch commit takes S seconds longer (a slow
  consumer; with a low ack wait the batch is redelivered while it is being committed).
- `TTHC_TEST_SLOW_INTAKE_SECONDS=S`: intake holds each batch S seconds before handling it.
- `TTHC_TEST_FAULT_SEED`: seed of the crash draws.

Nothing of this is in the product: the service code has no fault hooks; the tests use
this launcher instead of `.venv/bin/tthc` when they need a fault at an exact point.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from pathlib import Path


def _install() -> None:
    crash_n = int(os.environ.get("TTHC_TEST_CRASH_AFTER_COMMIT", "0") or 0)
    slow = float(os.environ.get("TTHC_TEST_SLOW_COMMIT_SECONDS", "0") or 0)
    slow_intake = float(os.environ.get("TTHC_TEST_SLOW_INTAKE_SECONDS", "0") or 0)
    fault_dir = Path(os.environ.get("TTHC_TEST_FAULT_DIR", "."))
    rng = random.Random(os.environ.get("TTHC_TEST_FAULT_SEED", "0") + str(os.getpid()))

    import services.aggregator.consumer as aggregator
    import services.intake.service as intake

    original = aggregator.apply_batch  # fail loudly if the service stops using it
    crash_at = rng.randint(1, crash_n) if crash_n else 0
    commits = 0

    def apply_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        if slow:
            time.sleep(slow)
        nonlocal commits
        result = original(*args, **kwargs)
        commits += 1
        if commits == crash_at:
            marker = fault_dir / f"crash-after-commit-{os.getpid()}-{time.time_ns()}"
            marker.write_text(str(len(result.applied)))
            os._exit(137)  # committed, not acknowledged
        return result

    aggregator.apply_batch = apply_batch

    if slow_intake:
        handle = intake.IntakeService.handle_batch

        async def slow_handle(self, batch):  # type: ignore[no-untyped-def]
            await asyncio.sleep(slow_intake)
            return await handle(self, batch)

        intake.IntakeService.handle_batch = slow_handle


if __name__ == "__main__":
    _install()
    from services.cli import main

    sys.exit(main(sys.argv[1:]))
