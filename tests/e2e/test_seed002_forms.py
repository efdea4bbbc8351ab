"""Issue 13's acceptance, end to end: traffic shaped like seed 002 published on NATS to
`tthc run all` (a real nats-server, intake, aggregator, reporter) gives, from one
`tthc appendix` command each, the commune's Phụ lục 01b, Biểu mẫu 3 and Biểu 06 with the
seed's own figures, the other agencies' block and a signature-ready document; the same
for the province; and the snapshots freeze these forms too."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.kits import seed002 as seed
from tests.kits.reliability import Proc, publish, service_env, tthc, wait_drained

pytestmark = [pytest.mark.nats, pytest.mark.slow]


def values(doc: dict) -> dict[tuple[str, str], object]:
    """(table, STT) -> value of every row of an appendix's JSON."""
    return {(r["table"], r["stt"]): r["value"] for r in doc["rows"]}


def appendix(env: dict, *args: str) -> dict:
    done = tthc(env, "appendix", *args, "--period", seed.PERIOD, "--now", seed.NOW)
    return orjson.loads(done.stdout)


async def test_seed002_through_the_pipeline(nats_server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    registry = seed.write_seed_registry(tmp_path / "registry.json")
    env = service_env(nats_server.url, data, TTHC_REGISTRY_FILE=str(registry))
    service = Proc("all", env, tmp_path).start()
    payloads = seed.seed002_payloads() + seed.second_commune_payloads()
    messages = [
        (f"tthc.events.{p['commune_code']}.{p['event_type']}", orjson.dumps(p), p["event_id"])
        for p in payloads
    ]
    try:
        deadline = time.monotonic() + 60
        while not service.ready():
            assert time.monotonic() < deadline and service.alive(), service.log_text()[-2000:]
            time.sleep(0.2)
        await publish(nats_server.url, messages, chunk=500)
        await wait_drained(nats_server.url, timeout=180)
    finally:
        code = service.stop()
    assert code == 0

    p01b = appendix(env, "--commune", seed.COMMUNE, "--template", "phu-luc-01b")
    assert p01b["agency"] == "ubnd" and p01b["figures"]["received_total"] == 3225
    assert values(p01b)[("muc-3", "3.3.1")] == 3225 and values(p01b)[("muc-3", "3.3.2")] == 3218
    assert p01b["by_agency"]["cong_an"]["received_total"] == 322
    assert p01b["by_agency"]["quan_su"]["received_total"] == 273
    bm3 = values(appendix(env, "--commune", seed.COMMUNE, "--template", "bieu-mau-3"))
    assert (bm3[("bieu-mau-7", "6.7.1.")], bm3[("bieu-mau-7", "6.7.2.")]) == (3225, 3147)
    assert (bm3[("bieu-mau-7", "6.4.3.")], bm3[("bieu-mau-7", "6.5.3.")]) == (16, 7)
    b06 = appendix(env, "--commune", seed.COMMUNE, "--template", "bieu-06-vpcp")
    fields = b06["by_field"]
    for slug, (total, online, direct) in seed.EXPECTED["fields"].items():
        assert fields[slug]["received_total"] == total
        online_got = fields[slug]["received_online_partial"] + fields[slug]["received_online_full"]
        assert (online_got, total - online_got) == (online, direct)
    everything = appendix(env, "--commune", seed.COMMUNE, "--agency", "all")
    assert everything["figures"]["received_total"] == 3225 + 322 + 273
    province = appendix(env, "--province", seed.PROVINCE, "--template", "bieu-06-vpcp")
    assert province["figures"]["received_total"] > 3225
    assert set(province["by_agency"]) == {"ubnd", "cong_an", "quan_su"}

    docx = tmp_path / "phu-luc-01b.docx"
    done = tthc(env, "appendix", "--commune", seed.COMMUNE, "--period", seed.PERIOD,
                "--now", seed.NOW, "--format", "docx", "--out", str(docx))  # fmt: skip
    assert done.returncode == 0
    with zipfile.ZipFile(docx) as z:
        text = z.read("word/document.xml").decode()
    for words in ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "NGƯỜI LẬP BIỂU", "Chi Lăng Nam, ngày"):
        assert words in text, words
    assert "(mã 11000)" not in text and "TTHC_EVENTS" not in text

    made = tthc(env, "snapshots", "make", "--period", seed.PERIOD, "--commune", seed.COMMUNE,
                "--no-notify", "--now", seed.NOW)  # fmt: skip
    assert made.returncode == 0, made.stderr
    frozen = {p.name for p in (data / "snapshots").rglob("*") if p.is_file()}
    for form in ("phu-luc-01b", "bieu-mau-3", "bieu-06-vpcp"):
        assert any(form in name and name.endswith(".docx") for name in frozen), (form, frozen)
        assert any(form in name and name.endswith(".xlsx") for name in frozen), (form, frozen)
