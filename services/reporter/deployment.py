"""A deployment's own document settings (TTHC_DEPLOYMENT_FILE): signature blocks and names.

    {"schema": "tthc.deployment/1",
     "defaults": {"report_number": "/BC-UBND", "signer_title": "CHỦ TỊCH"},
     "units": {"16096": {"place": "Hoằng Hợp", "signer_name": "Lê Văn Phượng",
                         "preparer_name": "Nguyễn Thị Lan"}},
     "labels": {"agencies": {"thue": "Đội Thuế liên xã"}, "fields": {}}}

Keys of `defaults` and of each unit (a commune or province code): `report_number`
(the number of the report this appendix goes with, e.g. `15/BC-UBND`; blank leaves
room to write it by hand), `place`, `preparer_title`, `preparer_name`, `on_behalf`,
`signer_title`, `signer_name`. A unit's keys win over `defaults`, which win over the
built-in defaults below. Names of agencies and fields go under `labels`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEPLOYMENT_SCHEMA = "tthc.deployment/1"
UNIT_KEYS = (
    "report_number",
    "place",
    "preparer_title",
    "preparer_name",
    "on_behalf",
    "signer_title",
    "signer_name",
)
BUILTIN_DEFAULTS = {
    "report_number": "/BC-UBND",
    "preparer_title": "NGƯỜI LẬP BIỂU",
    "on_behalf": "TM. ỦY BAN NHÂN DÂN",
    "signer_title": "CHỦ TỊCH",
}


class DeploymentError(ValueError):
    """A deployment file that cannot be used (one line naming the fault)."""


@dataclass(frozen=True, slots=True)
class Deployment:
    defaults: dict[str, str] = field(default_factory=dict)
    units: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_unit(self, code: str) -> dict[str, str]:
        """Every key of UNIT_KEYS for one unit ('' where nothing is set)."""
        merged = {key: "" for key in UNIT_KEYS}
        merged.update(BUILTIN_DEFAULTS)
        merged.update(self.defaults)
        merged.update(self.units.get(code, {}))
        return merged


def _strings(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise DeploymentError(f"{where}: expected an object")
    unknown = sorted(set(raw) - set(UNIT_KEYS))
    if unknown:
        raise DeploymentError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if not all(isinstance(v, str) for v in raw.values()):
        raise DeploymentError(f"{where}: values must be text")
    return {k: v.strip() for k, v in raw.items()}


def load_deployment(path: str | Path | None) -> Deployment:
    """The deployment file's settings; an empty Deployment when no file is configured."""
    if not path:
        return Deployment()
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DeploymentError(f"deployment file {path}: cannot be read: {exc}") from exc
    where = f"deployment file {path}"
    if not isinstance(data, dict) or data.get("schema", DEPLOYMENT_SCHEMA) != DEPLOYMENT_SCHEMA:
        raise DeploymentError(f"{where}: expected {{'schema': '{DEPLOYMENT_SCHEMA}', ...}}")
    units = data.get("units", {})
    if not isinstance(units, dict):
        raise DeploymentError(f"{where}: 'units' must be an object of code: settings")
    labels = data.get("labels", {})
    if not isinstance(labels, dict) or not all(
        k in ("agencies", "fields") and isinstance(v, dict) for k, v in labels.items()
    ):
        raise DeploymentError(f"{where}: 'labels' takes 'agencies' and 'fields' objects")
    return Deployment(
        defaults=_strings(data.get("defaults", {}), f"{where}: defaults"),
        units={str(c): _strings(v, f"{where}: unit {c}") for c, v in units.items()},
        labels=labels,
    )
