"""Does the appendix add up: each identity of the figures with its numbers, and one line.

The check is provenance, not part of the signed document: it stays in the JSON, in the
files' properties and on the XLSX's provenance sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.reporter.numfmt import format_number as fn
from shared.domain.events import CHANNELS
from shared.domain.figures import COUNT_KEYS, FIGURE_KEYS, balance_holds, sum_figures


def _n(figures: Mapping[str, Any], key: str) -> int:
    return int(figures.get(key) or 0)


def check_figures(
    figures: Mapping[str, Any],
    communes: Mapping[str, Mapping[str, Any]] | None = None,
    fields: Mapping[str, Mapping[str, Any]] | None = None,
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
    if fields:
        summed = sum_figures(fields.values())
        differ = [k for k in COUNT_KEYS if summed[k] != _n(f, k)]
        add(
            "fields_sum",
            not differ,
            "tổng theo lĩnh vực khớp số liệu"
            if not differ
            else "tổng theo lĩnh vực khác số liệu ở: " + ", ".join(differ),
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
