"""Safe file names under TTHC_DATA_DIR: whatever a unit code or period label holds,
a generated file never lands outside its directory."""

from __future__ import annotations

import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class UnsafePath(ValueError):
    """A generated path that would leave its base directory."""


def safe_part(text: str, max_len: int = 64) -> str:
    """One path component from arbitrary text: letters, digits, '-' and '_' only.

    '2024-01-01..2024-01-31' -> '2024-01-01_2024-01-31'; '../../etc' -> 'etc'.
    """
    cleaned = _UNSAFE.sub("_", str(text)).strip("_")[:max_len]
    return cleaned or "_"


def inside(base: Path, *parts: str) -> Path:
    """`base / parts...` (each part made safe), checked to resolve inside `base`."""
    root = Path(base).resolve()
    path = root.joinpath(*(safe_part(p) for p in parts)).resolve()
    if path != root and root not in path.parents:
        raise UnsafePath(f"{path} is outside {root}")
    return path
