"""Traffic shaped like seed 002 (UBND xã Chi Lăng Nam, year 2023): contract events, pure.

Seed 002 reports, for 15/12/2022-14/12/2023, the People's Committee's 3.225 dossiers by
field (Hộ tịch 501 = 458 online + 43 direct; Chứng thực 2.645 = 2.645 + 0; Người có
công 26 = 0 + 26; Bảo trợ xã hội 53 = 44 + 9; 3.147 online + 78 direct), 3.143 resolved
early and 75 on time (3.218), none late, 7 open; beside them the police's 322 (all
online, all resolved on time) and the military's 273 (all direct, all resolved early).

`seed002_payloads()` gives those dossiers as contract events (JSON objects, as a desk
publishes them on `tthc.events.<commune>.<type>`); `seed002_events()` the same as
domain `CaseEvent`s. Procedure codes are spread so that 16 distinct procedures have a
dossier received online partially and 7 fully, as the seed's 6.4.3 and 6.5.3 say.
`second_commune_payloads()` is a smaller commune of the same province, and the
registry (`seed_registry`) adds a third commune with no data.

The full pipeline test (real nats-server, intake, aggregator) publishes these
payloads; the reporter's tests feed them to tests.kits.reporter.FakeFiguresSource.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.domain.events import CaseEvent
from shared.domain.timeutil import LOCAL_TZ, parse_rfc3339
from shared.domain.validation import event_from_payload
from shared.registry import Commune, Province, UnitRegistry

PERIOD = "2023"  # decree09: 15/12/2022 .. 14/12/2023
NOW = "2023-12-20T10:00:00+07:00"
PROVINCE = "31"
COMMUNE = "11000"  # Xã Chi Lăng Nam
COMMUNE_B = "11003"  # Xã Chi Lăng Bắc (smaller traffic)
COMMUNE_EMPTY = "11006"  # no dossiers in the period
REGISTRY_DATA = {
    "provinces": [
        {
            "code": PROVINCE,
            "name": "Thành phố Hải Phòng",
            "communes": [
                {"code": COMMUNE, "name": "Xã Chi Lăng Nam"},
                {"code": COMMUNE_B, "name": "Xã Chi Lăng Bắc"},
                {"code": COMMUNE_EMPTY, "name": "Xã Thanh Miện"},
            ],
        }
    ]
}
# field, (online count, online channel), direct count, procedure code prefix, codes used
UBND_FIELDS = (
    ("ho_tich", 458, "online_partial", 43, "1.001", 10),
    ("chung_thuc", 2645, "online_full", 0, "2.000", 7),
    ("nguoi_co_cong", 0, None, 26, "1.003", 3),
    ("bao_tro_xa_hoi", 44, "online_partial", 9, "1.004", 6),
)
UBND_OPEN, UBND_ON_TIME = 7, 75
POLICE, MILITARY = 322, 273
FIRST_DAY = date(2022, 12, 16)

# What the seed states, as figures (the People's Committee, then each agency).
EXPECTED = {
    "ubnd": {
        "received_total": 3225,
        "online": 3147,
        "offline": 78,
        "resolved_total": 3218,
        "resolved_early": 3143,
        "resolved_on_time": 75,
        "resolved_late": 0,
        "open_at_end": 7,
        "carried_over": 0,
    },
    "cong_an": {"received_total": 322, "online": 322, "resolved_on_time": 322, "open_at_end": 0},
    "quan_su": {"received_total": 273, "offline": 273, "resolved_early": 273, "open_at_end": 0},
    "fields": {
        "ho_tich": (501, 458, 43),
        "chung_thuc": (2645, 2645, 0),
        "nguoi_co_cong": (26, 0, 26),
        "bao_tro_xa_hoi": (53, 44, 9),
    },
    "procedures_online_partial": 16,
    "procedures_online_full": 7,
}


def _at(day: date, hour: int) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ).isoformat()


def _case(
    commune: str,
    case_id: str,
    n: int,
    channel: str,
    outcome: str,
    agency: str | None,
    field: str | None,
    procedure: str | None,
) -> list[dict[str, Any]]:
    """One dossier: received, then resolved early or on time, or left open at the end."""
    if outcome == "open":
        day, due = date(2023, 12, 12), date(2023, 12, 20)
    else:
        day = FIRST_DAY + timedelta(days=(n * 7) % 340)
        due = day + timedelta(days=5)
    received: dict[str, Any] = {
        "event_id": f"{commune}-{case_id}-r",
        "event_type": "received",
        "case_id": case_id,
        "commune_code": commune,
        "occurred_at": _at(day, 8 + n % 8),
        "channel": channel,
        "due_at": _at(due, 17),
    }
    for key, value in (("agency", agency), ("field", field), ("procedure_code", procedure)):
        if value is not None:
            received[key] = value
    if outcome == "open":
        return [received]
    done = _at(day + timedelta(days=1), 10) if outcome == "early" else _at(due, 15)
    resolved = {
        "event_id": f"{commune}-{case_id}-x",
        "event_type": "resolved",
        "case_id": case_id,
        "commune_code": commune,
        "occurred_at": done,
        "result_channel": "online" if channel.startswith("online") else "direct",
    }
    return [received, resolved]


def seed002_payloads(commune: str = COMMUNE) -> list[dict[str, Any]]:
    """Every event of seed 002's year, People's Committee, police and military."""
    out: list[dict[str, Any]] = []
    n = 0
    outcomes = ["open"] * UBND_OPEN + ["on_time"] * UBND_ON_TIME
    for field, online, channel, direct, prefix, codes in UBND_FIELDS:
        for k in range(online + direct):
            outcome = outcomes[n] if n < len(outcomes) else "early"
            how = channel if k < online else "direct"
            agency = "ubnd" if n % 2 else None  # absent means ubnd (contract 1.1)
            code = f"{prefix}{k % codes:03d}"
            out += _case(commune, f"UB{n:05d}", n, how, outcome, agency, field, code)
            n += 1
    for k in range(POLICE):
        code = f"2.100{k % 11:03d}"
        out += _case(commune, f"CA{k:05d}", n + k, "online_full", "on_time", "cong_an", None, code)
    for k in range(MILITARY):
        code = f"2.200{k % 7:03d}"
        out += _case(commune, f"QS{k:05d}", n + k, "direct", "early", "quan_su", None, code)
    return out


def second_commune_payloads(commune: str = COMMUNE_B) -> list[dict[str, Any]]:
    """A smaller commune: 12 Hộ tịch (10 direct early, 2 online open), 5 Đất đai online on
    time, 4 of the police online on time."""
    out: list[dict[str, Any]] = []
    for k in range(12):
        channel, outcome = ("direct", "early") if k < 10 else ("online_partial", "open")
        out += _case(commune, f"B{k:03d}", k, channel, outcome, None, "ho_tich", "1.001000")
    for k in range(5):
        out += _case(
            commune, f"D{k:03d}", k, "online_partial", "on_time", "ubnd", "dat_dai", "1.005000"
        )
    for k in range(4):
        out += _case(commune, f"P{k:03d}", k, "online_full", "on_time", "cong_an", None, "2.100000")
    return out


def to_events(payloads: list[dict[str, Any]]) -> list[CaseEvent]:
    return [event_from_payload(p) for p in payloads]


def seed002_events(commune: str = COMMUNE) -> list[CaseEvent]:
    return to_events(seed002_payloads(commune))


def province_events() -> list[CaseEvent]:
    return to_events(seed002_payloads() + second_commune_payloads())


def seed_registry() -> UnitRegistry:
    provinces, communes = [], []
    for p in REGISTRY_DATA["provinces"]:
        provinces.append(Province(p["code"], p["name"]))
        for c in p["communes"]:
            communes.append(Commune(c["code"], c["name"], p["code"]))
    return UnitRegistry(provinces, communes, source="seed002")


def write_seed_registry(path: Path) -> Path:
    path.write_text(json.dumps(REGISTRY_DATA, ensure_ascii=False), encoding="utf-8")
    return path


def now_instant() -> int:
    return parse_rfc3339(NOW)
