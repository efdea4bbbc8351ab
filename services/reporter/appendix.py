"""The statistical appendix (phụ lục thống kê) as a JSON-ready dict: pure, no I/O.

`build_appendix` lays a template's rows over one unit's figures for one period, with
Vietnamese display text, and adds what the contract allows beyond its required keys:
`generated_at`, `template`, `watermark` (which data the figures include), `check`
(does the appendix add up) and, for a province asked with its communes, `communes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.reporter.numfmt import format_number as fn
from services.reporter.numfmt import format_value
from services.reporter.templates import Template
from shared.domain.events import CHANNELS, Instant
from shared.domain.figures import COUNT_KEYS, FIGURE_KEYS, balance_holds, sum_figures
from shared.domain.periods import Period
from shared.domain.timeutil import format_instant
from shared.ports import FiguresReply
from shared.registry import UnitRegistry

SCHEMA = "tthc.appendix/1"
UNIT_KINDS = ("commune", "province")


class UnknownUnit(LookupError):
    """A commune or province code the registry does not know."""


def unit_info(registry: UnitRegistry, kind: str, code: str) -> dict[str, str]:
    """The appendix's `unit` object for a commune or province code."""
    if kind == "commune":
        commune = registry.commune(code)
        if commune is None:
            raise UnknownUnit(f"unknown commune {code!r} (not in the unit registry)")
        province = registry.province(commune.province_code)
        return {
            "kind": "commune",
            "code": commune.code,
            "name": commune.name,
            "province_code": commune.province_code,
            "province_name": province.name if province else "",
        }
    if kind == "province":
        found = registry.province(code)
        if found is None:
            raise UnknownUnit(f"unknown province {code!r} (not in the unit registry)")
        return {
            "kind": "province",
            "code": found.code,
            "name": found.name,
            "province_code": found.code,
            "province_name": found.name,
        }
    raise UnknownUnit(f"unknown unit kind {kind!r}: use 'commune' or 'province'")


def _n(figures: Mapping[str, Any], key: str) -> int:
    return int(figures.get(key) or 0)


def check_figures(
    figures: Mapping[str, Any], communes: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Whether the appendix adds up: each identity with its numbers, and one line of text."""
    f = figures
    items: list[dict[str, Any]] = []

    def add(name: str, ok: bool, text: str) -> None:
        items.append({"name": name, "ok": bool(ok), "text": text})

    missing = [k for k in FIGURE_KEYS if k not in f]
    add(
        "all_keys",
        not missing,
        "thiếu chỉ tiêu: " + ", ".join(missing) if missing else "đủ chỉ tiêu",
    )
    left = _n(f, "carried_over") + _n(f, "received_total")
    right = sum(_n(f, k) for k in ("resolved_total", "returned", "withdrawn", "open_at_end"))
    add(
        "balance",
        balance_holds(f),
        f"chuyển qua + tiếp nhận = {fn(left)}; đã giải quyết + trả lại + xin rút + đang giải quyết "
        f"= {fn(right)}",
    )
    by_channel = sum(_n(f, f"received_{c}") for c in CHANNELS)
    add(
        "received_by_channel",
        by_channel == _n(f, "received_total"),
        f"tiếp nhận theo kênh {fn(by_channel)} / tổng {fn(_n(f, 'received_total'))}",
    )
    by_lateness = sum(_n(f, k) for k in ("resolved_early", "resolved_on_time", "resolved_late"))
    add(
        "resolved_by_lateness",
        by_lateness == _n(f, "resolved_total"),
        f"trước hạn + đúng hạn + quá hạn {fn(by_lateness)} / "
        f"đã giải quyết {fn(_n(f, 'resolved_total'))}",
    )
    in_time = _n(f, "resolved_early") + _n(f, "resolved_on_time")
    in_time_by_channel = sum(_n(f, f"resolved_in_time_{c}") for c in CHANNELS)
    add(
        "in_time_by_channel",
        in_time_by_channel == in_time,
        f"đúng hạn theo kênh {fn(in_time_by_channel)} / đúng hạn {fn(in_time)}",
    )
    by_field = _n(f, "resolved_in_time_land") + _n(f, "resolved_in_time_construction")
    add(
        "in_time_by_field",
        by_field <= in_time,
        f"đúng hạn đất đai + xây dựng {fn(by_field)} ≤ đúng hạn {fn(in_time)}",
    )
    split = _n(f, "open_in_time_at_end") + _n(f, "open_overdue_at_end")
    add(
        "open_split",
        split == _n(f, "open_at_end"),
        f"đang giải quyết trong hạn + quá hạn {fn(split)} / "
        f"đang giải quyết {fn(_n(f, 'open_at_end'))}",
    )
    waiting = _n(f, "awaiting_supplement_at_end") + _n(f, "paused_at_end")
    add(
        "waiting_within_open",
        waiting <= _n(f, "open_at_end"),
        f"chờ bổ sung + tạm dừng {fn(waiting)} ≤ đang giải quyết {fn(_n(f, 'open_at_end'))}",
    )
    if communes:
        parts = [
            c.get("figures", c) if isinstance(c.get("figures"), dict) else c
            for c in communes.values()
        ]
        summed = sum_figures(parts)
        differ = [k for k in COUNT_KEYS if summed[k] != _n(f, k)]
        add(
            "communes_sum",
            not differ,
            "tổng các xã khớp số liệu của tỉnh"
            if not differ
            else "tổng các xã khác số liệu của tỉnh ở: " + ", ".join(differ),
        )
    ok = all(item["ok"] for item in items)
    if ok:
        text = (
            "Kiểm tra: số liệu khớp (chuyển qua + tiếp nhận = đã giải quyết + trả lại + xin rút "
            "+ đang giải quyết; tổng theo kênh tiếp nhận; tổng theo tiến độ giải quyết)."
        )
    else:
        text = (
            "Kiểm tra: SỐ LIỆU KHÔNG KHỚP: "
            + "; ".join(item["text"] for item in items if not item["ok"])
            + "."
        )
    return {"ok": ok, "items": items, "text": text}


def build_rows(template: Template, figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One object per template row: stt, label, unit, key, formula, value, display, note."""
    rows: list[dict[str, Any]] = []
    values = dict(figures)  # read only (`TemplateRow.value`): one copy for every row
    for row in template.rows:
        value = row.value(values) if row.has_value else None
        rows.append(
            {
                "stt": row.stt,
                "label": row.label,
                "unit": row.unit,
                "key": row.key,
                "formula": row.formula.text if row.formula else None,
                "value": value,
                "display": format_value(value, row.unit) if row.has_value else "",
                "note": row.note,
                "style": sorted(row.styles),
            }
        )
    return rows


def build_appendix(
    unit: Mapping[str, str],
    period: Period,
    reply: FiguresReply,
    template: Template,
    generated_at: Instant,
    registry: UnitRegistry | None = None,
) -> dict[str, Any]:
    """The appendix of a unit for a period: the contract's keys, then the extra ones."""
    figures = {key: reply.figures.get(key) for key in FIGURE_KEYS}
    appendix: dict[str, Any] = {
        "schema": SCHEMA,
        "unit": dict(unit),
        "period": period.as_dict(),
        "figures": figures,
        "rows": build_rows(template, figures),
        "anomalies": dict(reply.anomalies or {}),
        "generated_at": format_instant(generated_at),
        "template": {"name": template.name, "title": list(template.title)},
        "watermark": dict(reply.watermark or {}),
        "check": check_figures(figures, reply.communes or None),
    }
    if reply.communes:
        communes = []
        for code in sorted(reply.communes):
            raw = reply.communes[code]
            figs = raw.get("figures", raw) if isinstance(raw.get("figures"), dict) else raw
            commune = registry.commune(code) if registry else None
            communes.append(
                {
                    "code": code,
                    "name": commune.name if commune else "",
                    "figures": {key: figs.get(key) for key in FIGURE_KEYS},
                }
            )
        appendix["communes"] = communes
    return appendix


def has_data(figures: Mapping[str, Any]) -> bool:
    """Whether any count of the figures is non-zero (a unit "with data" for a period)."""
    return any(_n(figures, key) for key in COUNT_KEYS)
