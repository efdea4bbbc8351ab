"""Units as a document names them: the appendix's `unit` object and the names derived from it.

`unit_info` looks a code up in the registry. The rest turns a registry name into the
forms official documents use: `XÃ HOẰNG HỢP` (issuing body), `UBND xã Hoằng Hợp`,
`Hoằng Hợp` (the place in the place-and-date line, Decree 30/2020/NĐ-CP).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.registry import UnitRegistry

UNIT_KINDS = ("commune", "province")
_COMMUNE_PREFIXES = ("Xã ", "Phường ", "Thị trấn ", "Đặc khu ")
_PROVINCE_PREFIXES = ("Thành phố ", "Tỉnh ", "TP ")


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


def province_title(name: str) -> str:
    """'Nghệ An' -> 'Tỉnh Nghệ An'; names already saying Tỉnh / Thành phố are kept."""
    if not name or name.startswith(("Tỉnh", "Thành phố", "TP")):
        return name
    return f"Tỉnh {name}"


def full_name(unit: Mapping[str, str]) -> str:
    """'Xã Hoằng Hợp', 'Tỉnh Thanh Hóa'."""
    return province_title(unit["name"]) if unit["kind"] == "province" else unit["name"]


def _strip(name: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def place_name(unit: Mapping[str, str]) -> str:
    """The place of the place-and-date line: the unit's own name without 'Xã'/'Tỉnh'."""
    if unit["kind"] == "province":
        return _strip(unit["name"], _PROVINCE_PREFIXES)
    return _strip(unit["name"], _COMMUNE_PREFIXES)


def issuer_lines(unit: Mapping[str, str]) -> tuple[str, str]:
    """('UỶ BAN NHÂN DÂN', 'XÃ HOẰNG HỢP'): the issuing body, in capitals."""
    return ("UỶ BAN NHÂN DÂN", full_name(unit).upper() or unit["code"])


def committee_name(unit: Mapping[str, str]) -> str:
    """'UBND xã Hoằng Hợp', 'UBND tỉnh Thanh Hóa'."""
    name = full_name(unit)
    return f"UBND {name[:1].lower()}{name[1:]}" if name else "UBND"
