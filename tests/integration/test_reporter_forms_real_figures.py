"""The forms over the aggregator's real figures: seed 002's traffic stored by the
aggregator (apply_batch, SQLite and PostgreSQL), read back by its in-process reader,
gives the seed's own figures in Phụ lục 01b, Biểu mẫu 3 and Biểu 06."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine

from services.aggregator.storage.apply import apply_batch
from services.aggregator.storage.reader import LocalFiguresSource
from services.reporter.compose import appendix_from
from services.reporter.templates import load_template
from services.reporter.units import unit_info
from shared.domain.periods import parse_period
from tests.kits import seed002 as seed
from tests.kits.aggregator import items


@pytest.fixture
def stored(engine: Engine, database_url: str) -> LocalFiguresSource:
    reg = seed.seed_registry()
    payloads = seed.seed002_payloads() + seed.second_commune_payloads()
    for start in range(0, len(payloads), 2000):
        apply_batch(engine, items(payloads[start : start + 2000], start + 1), reg.province_of)
    return LocalFiguresSource(database_url, reg)


def form(source, kind: str, code: str, name: str, agency: str = "ubnd"):
    reg = seed.seed_registry()
    appendix, _ = asyncio.run(
        appendix_from(
            source,
            reg,
            unit_info(reg, kind, code),
            parse_period(seed.PERIOD),
            load_template(name),
            seed.now_instant(),
            agency,
        )
    )
    return appendix


def rows(appendix):
    return {(r["table"], r["stt"]): r["value"] for r in appendix.rows}


def lines(appendix, table_id):
    table = next(t for t in appendix.tables if t.spec.id == table_id)
    return {line.name: line.values for line in table.lines}


def test_commune_forms_show_the_seed(stored):
    """3.225 received (3.147 online, 78 direct), 3.218 resolved, 7 open; the fields; the
    police's 322 and the military's 273 beside them; 16 and 7 procedures online."""
    try:
        p01b = form(stored, "commune", seed.COMMUNE, "phu-luc-01b")
        assert rows(p01b)[("muc-3", "3.3.1")] == 3225
        assert rows(p01b)[("muc-3", "3.3.2")] == 3218
        assert p01b.figures["open_at_end"] == 7
        agencies = lines(p01b, "nganh-doc")
        assert agencies["Công an xã"][0] == 322 and agencies["Ban Chỉ huy Quân sự xã"][0] == 273
        bm3 = form(stored, "commune", seed.COMMUNE, "bieu-mau-3")
        r = rows(bm3)
        assert (r[("bieu-mau-7", "6.7.1.")], r[("bieu-mau-7", "6.7.2.")]) == (3225, 3147)
        assert (r[("bieu-mau-7", "6.4.3.")], r[("bieu-mau-7", "6.5.3.")]) == (16, 7)
        fields = lines(bm3, "theo-linh-vuc")
        for name, expected in zip(
            ("Lĩnh vực Hộ tịch", "Lĩnh vực Chứng thực", "Lĩnh vực Người có công"),
            ((501, 458, 43), (2645, 2645, 0), (26, 0, 26)),
            strict=True,
        ):
            assert fields[name] == expected
        assert fields["Lĩnh vực Bảo trợ xã hội"] == (53, 44, 9)
        assert fields["Cộng"] == (3225, 3147, 78)
        assert bm3.check["ok"]
    finally:
        stored.close()


def test_province_and_other_agencies(stored):
    """The province sums its communes; --agency cong_an and all answer from the store."""
    try:
        b06 = form(stored, "province", seed.PROVINCE, "bieu-06-vpcp")
        by_commune = lines(b06, "theo-xa")
        assert list(by_commune) == ["Xã Chi Lăng Nam", "Xã Chi Lăng Bắc", "Tổng cộng"]
        assert by_commune["Tổng cộng"][0] == 3225 + 17
        assert b06.check["ok"]
        police = form(stored, "commune", seed.COMMUNE, "phu-luc-01b", "cong_an")
        assert police.figures["received_total"] == 322
        everyone = form(stored, "commune", seed.COMMUNE, "phu-luc-01b", "all")
        assert everyone.figures["received_total"] == 3225 + 322 + 273
    finally:
        stored.close()
