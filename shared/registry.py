"""The unit registry: provinces (tỉnh) and communes (xã, phường, đặc khu).

Default: the 34-province, 3,321-commune registry of 2025 from the `vietnam-provinces`
package. A deployment can load its own JSON file instead (TTHC_REGISTRY_FILE), for
example pre-2025 codes; the format is in docs/registry.md:

    {"provinces": [{"code": "38", "name": "Tỉnh Thanh Hóa",
                    "communes": [{"code": "16000", "name": "Xã Hoằng Thanh"}]}]}

Commune codes are strings of 5 digits with leading zeros; province codes of 2 digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_COMMUNE_CODE = re.compile(r"^\d{5}$")
_PROVINCE_CODE = re.compile(r"^\d{2}$")


class RegistryError(ValueError):
    """A registry file that cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune-level unit (đơn vị hành chính cấp xã)."""

    code: str
    name: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Province:
    """A province-level unit (tỉnh, thành phố trực thuộc trung ương)."""

    code: str
    name: str


class UnitRegistry:
    """Look-ups of communes and provinces by code."""

    def __init__(self, provinces: Iterable[Province], communes: Iterable[Commune], source: str):
        self.source = source
        self.provinces: dict[str, Province] = {p.code: p for p in provinces}
        self.communes: dict[str, Commune] = {c.code: c for c in communes}
        by_province: dict[str, list[str]] = {code: [] for code in self.provinces}
        for commune in self.communes.values():
            if commune.province_code not in by_province:
                raise RegistryError(
                    f"commune {commune.code} names unknown province {commune.province_code}"
                )
            by_province[commune.province_code].append(commune.code)
        self._by_province = {k: tuple(sorted(v)) for k, v in by_province.items()}

    def __contains__(self, commune_code: object) -> bool:
        return commune_code in self.communes

    def commune(self, code: str) -> Commune | None:
        return self.communes.get(code)

    def province(self, code: str) -> Province | None:
        return self.provinces.get(code)

    def province_of(self, commune_code: str) -> str | None:
        commune = self.communes.get(commune_code)
        return commune.province_code if commune else None

    def communes_of(self, province_code: str) -> tuple[str, ...]:
        return self._by_province.get(province_code, ())

    @classmethod
    def from_package(cls) -> UnitRegistry:
        """The 2025 registry shipped by `vietnam-provinces` (34 provinces, 3,321 communes)."""
        from vietnam_provinces import Province as VpProvince
        from vietnam_provinces import Ward

        provinces = [Province(f"{int(p.code):02d}", p.name) for p in VpProvince.iter_all()]
        communes = [
            Commune(f"{int(w.code):05d}", w.name, f"{int(w.province_code):02d}")
            for w in Ward.iter_all()
        ]
        return cls(provinces, communes, source="vietnam-provinces (2025)")

    @classmethod
    def from_file(cls, path: Path) -> UnitRegistry:
        """A deployment's own registry file (see the module docstring for the format)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RegistryError(f"registry file {path} does not exist") from exc
        except json.JSONDecodeError as exc:
            raise RegistryError(f"registry file {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("provinces"), list):
            raise RegistryError(f"registry file {path}: expected an object with a 'provinces' list")
        provinces: list[Province] = []
        communes: list[Commune] = []
        for p in data["provinces"]:
            code, name = str(p.get("code", "")), str(p.get("name", ""))
            if not _PROVINCE_CODE.match(code):
                raise RegistryError(f"registry file {path}: province code {code!r} is not 2 digits")
            provinces.append(Province(code, name))
            for c in p.get("communes", []):
                ccode = str(c.get("code", ""))
                if not _COMMUNE_CODE.match(ccode):
                    raise RegistryError(
                        f"registry file {path}: commune code {ccode!r} is not 5 digits"
                    )
                communes.append(Commune(ccode, str(c.get("name", "")), code))
        return cls(provinces, communes, source=str(path))


@lru_cache(maxsize=4)
def load_registry(path: str | None = None) -> UnitRegistry:
    """The registry in force: a file when given, the package's otherwise (cached)."""
    return UnitRegistry.from_file(Path(path)) if path else UnitRegistry.from_package()
