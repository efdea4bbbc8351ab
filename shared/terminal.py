"""Text shown on a terminal: what came from outside, with its control characters escaped.

Case ids, event ids, subjects and previews come from desk software; printed as they
are, a control character (an escape sequence, a carriage return) or a bidirectional
override could change what an operator sees. `safe` shows them as `\\x1b`, `\\u202e`.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object) -> str:
    """`text` with control, format and line-separator characters escaped."""
    s = str(text)
    s = _UNSAFE.sub(_escape, s)
    if any(unicodedata.category(c) == "Cf" for c in s):  # other invisible formatting
        s = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cf" else c for c in s)
    return s
