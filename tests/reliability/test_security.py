"""Security through the running system: subject and payload commune must agree, report
file names stay inside TTHC_DATA_DIR, no personal data in logs, metrics, reports or the
rejected previews, payload size and metric label sets are bounded.

Per-commune NATS permissions (a desk publishes only for its own commune) are proved by
tests/integration/test_nats_permissions.py under the production nats-server
configuration (deploy/nats/)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import orjson
import pytest

from shared.natsserver import free_port_block
from shared.subjects import REJECTED_STREAM
from tests.kits.reliability import (
    COMMUNES,
    PROVINCE,
    Proc,
    actual_figures,
    publish,
    scrape,
    series,
    service_env,
    stream_messages,
    tthc,
    wait_drained,
)

pytestmark = [pytest.mark.nats, pytest.mark.slow]

NAME, CITIZEN_ID, PHONE = "Nguyễn Thị Bảo Châu", "038199012345", "0912345678"
SECRETS = (NAME, CITIZEN_ID, PHONE, "Nguy\\u1ec5n")  # also JSON-escaped forms
A, B = COMMUNES[0], COMMUNES[1]


def _event(eid: str, etype: str, commune: str, case: str, at: str, **own: object) -> dict:
    return {
        "event_id": eid,
        "event_type": etype,
        "case_id": case,
        "commune_code": commune,
        "occurred_at": at,
        "applicant_name": NAME,
        "citizen_id": CITIZEN_ID,
        "phone": PHONE,
        **own,
    }


def _msg(payload: dict, subject: str | None = None, msg_id: str | None = None):
    subject = subject or f"tthc.events.{payload['commune_code']}.{payload['event_type']}"
    return subject, orjson.dumps(payload), msg_id or payload["event_id"]


def _files_text(root: Path) -> str:
    """Every file under root as text; xlsx/docx (zip) members included."""
    out = []
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix in (".sqlite3", ".sqlite3-wal", ".sqlite3-shm"):
            continue
        if path.name.startswith("tthc.sqlite3"):
            continue  # the database keeps payloads whole, by design (events.md)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                out += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        else:
            out.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


async def test_personal_data_never_leaves_the_payload(nats_server, data_dir, tmp_path) -> None:
    """Names and id numbers in payloads reach no log, metric, report or rejected preview;
    a commune that differs from the subject's is rejected and counted nowhere."""
    base = free_port_block(3)
    env = service_env(
        nats_server.url,
        data_dir,
        TTHC_METRICS_PORT=str(base),
        TTHC_LOG_LEVEL="DEBUG",
        TTHC_UNIT_LABEL="commune",
    )
    service = Proc("all", env, tmp_path).start()
    at, due = "2025-11-20T09:00:00+07:00", "2025-11-25T17:00:00+07:00"
    good = _event("pii-1", "received", A, "C-1", at, channel="direct", due_at=due)
    messages = [
        _msg(good),
        _msg(_event("pii-2", "resolved", A, "C-1", "2025-11-21T09:00:00+07:00")),
        # B's event published on A's subject: rejected (subject_mismatch), counted nowhere.
        _msg(
            _event("pii-3", "received", B, "C-2", at, channel="direct", due_at=due),
            subject=f"tthc.events.{A}.received",
        ),
        # Unknown commune, bad type, broken JSON and an oversize payload, all with PII.
        _msg(_event("pii-4", "received", "99999", "C-3", at, channel="direct", due_at=due)),
        _msg(_event("pii-5", "received", A, 12345, at, channel="direct", due_at=due)),  # type: ignore[arg-type]
        (f"tthc.events.{A}.received", orjson.dumps(good)[:-5], "pii-6"),
        _msg(_event("pii-7", "received", A, "C-4", at, pad="x" * 70_000)),
    ]
    try:
        await publish(nats_server.url, messages)
        await wait_drained(nats_server.url, timeout=60)
        metrics = "\n".join(scrape(base + k) for k in (0, 1, 2))
        (data_dir / "reports").mkdir(exist_ok=True)
        for fmt in ("json", "csv", "xlsx", "docx"):
            tthc(env, "appendix", "--commune", A, "--period", "2025-Q4", "--format", fmt,
                 "--out", str(data_dir / "reports" / f"a.{fmt}"))  # fmt: skip
        tthc(env, "appendix", "--province", PROVINCE, "--period", "2025-Q4", "--format", "xlsx")
        listing = tthc(env, "rejected", "list", "--json").stdout
        listing += tthc(env, "rejected", "list").stdout
        status = tthc(env, "status", "--json").stdout
    finally:
        assert service.stop() == 0
    db = f"sqlite:///{(data_dir / 'tthc.sqlite3').resolve()}"
    a = actual_figures(db, "commune", A, "2025-Q4", "decree09")
    b = actual_figures(db, "commune", B, "2025-Q4", "decree09")
    assert (a["received_total"], a["resolved_total"]) == (1, 1)
    assert b["received_total"] == 0, "a message on A's subject must not count for B"
    rejected = await stream_messages(nats_server.url, REJECTED_STREAM)
    reasons = sorted(m.headers["Tthc-Reason"] for m in rejected)
    assert reasons == sorted(
        ["subject_mismatch", "unknown_commune", "bad_type", "invalid_json", "payload_too_large"]
    )
    assert {m.data for m in rejected} == {body for _, body, _ in messages[2:]}  # kept whole
    assert all(len(m.headers.get("Tthc-Detail", "")) < 200 for m in rejected)
    everything = {
        "logs": service.log_text(),
        "metrics": metrics,
        "reports and snapshots": _files_text(data_dir),
        "rejected list": listing,
        "status": status,
    }
    for where, text in everything.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} found in {where}"


@pytest.mark.parametrize(
    "args",
    [
        ["appendix", "--commune", "../../../tmp/evil", "--period", "2025-Q4", "--format", "xlsx"],
        ["appendix", "--commune", A, "--period", "../../../etc/passwd", "--format", "docx"],
        ["appendix", "--province", "../..", "--period", "2025-Q4", "--format", "csv"],
        ["appendix", "--commune", A, "--period", "2025-Q4/../../x", "--format", "xlsx"],
        ["snapshots", "show", "--commune", "../../etc", "--period", "2025-Q4"],
        ["snapshots", "show", "--commune", A, "--period", "../../../../etc/shadow"],
    ],
    ids=lambda a: " ".join(a[:3]),
)
def test_report_paths_cannot_escape_the_data_dir(tmp_path: Path, args: list[str]) -> None:
    """Hostile unit codes and period labels: exit 2 with one line, no file outside TTHC_DATA_DIR."""
    data_dir = tmp_path / "deep" / "data"
    data_dir.mkdir(parents=True)
    env = service_env("nats://127.0.0.1:1", data_dir)
    before = {p for p in tmp_path.rglob("*")}
    proc = tthc(env, *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    created = {p for p in tmp_path.rglob("*")} - before
    assert all(data_dir in p.parents for p in created), created


def test_snapshot_listing_with_a_hostile_code_reads_nothing_outside(tmp_path: Path) -> None:
    """`snapshots list --province ../38` is a filter: it finds nothing and writes nothing."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = service_env("nats://127.0.0.1:1", data_dir)
    proc = tthc(env, "snapshots", "list", "--province", "../38", check=False)
    assert proc.returncode in (0, 2) and "passwd" not in proc.stdout
    assert list(tmp_path.rglob("*")) == [data_dir] or all(
        data_dir in p.parents or p == data_dir for p in tmp_path.rglob("*")
    )


def test_generated_report_names_stay_in_reports(tmp_path: Path) -> None:
    """A range label full of dots still lands in TTHC_DATA_DIR/reports under a safe name."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = service_env("nats://127.0.0.1:1", data_dir)
    proc = tthc(env, "appendix", "--commune", A, "--period", "2025-01-01..2025-01-31",
                "--format", "xlsx")  # fmt: skip
    path = Path(proc.stdout.strip())
    assert path.parent == (data_dir / "reports").resolve()
    assert ".." not in path.name and "/" not in path.name


async def test_label_sets_stay_bounded_under_a_flood(nats_server, data_dir, tmp_path) -> None:
    """Hundreds of unknown communes, event types and subjects add no metric series."""
    base = free_port_block(3)
    env = service_env(
        nats_server.url, data_dir, TTHC_METRICS_PORT=str(base), TTHC_UNIT_LABEL="commune"
    )
    service = Proc("all", env, tmp_path).start()
    at, due = "2025-11-20T09:00:00+07:00", "2025-11-25T17:00:00+07:00"
    warmup = [_msg(_event("w-1", "received", A, "W-1", at, channel="direct", due_at=due))]
    flood = []
    for i in range(300):
        commune = f"9{i:04d}"
        flood.append(_msg(_event(f"f-{i}", "received", commune, "X", at, channel="direct",
                                 due_at=due)))  # fmt: skip
        flood.append(
            _msg(_event(f"g-{i}", f"type{i}", A, "X", at), subject=f"tthc.events.{A}.type{i}")
        )
        flood.append((f"tthc.events.x{i}.y{i}.z", b"{}", f"h-{i}"))
        flood.append(_msg(_event(f"k-{i}", "received", A, "X", at, channel=f"ch{i}", due_at=due)))
    try:
        await publish(nats_server.url, warmup)
        await wait_drained(nats_server.url, timeout=60)
        before = {k: series(scrape(base + k)) for k in (0, 1)}
        await publish(nats_server.url, flood)
        await wait_drained(nats_server.url, timeout=60)
        after = {k: series(scrape(base + k)) for k in (0, 1)}
    finally:
        assert service.stop() == 0
    assert after == before
    assert len(json.dumps(sorted(after[1]))) < 2_000_000
