"""A cell as text: how it reads (2025.0 → "2025") and how two spellings compare (width, spaces)."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


def normalise(text) -> str:
    """Full-width to half-width (NFKC), no spaces anywhere: how two spellings are compared."""
    if text is None:
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(text)))


def cell_text(value) -> str:
    """A cell as the text a person sees: 2025.0 → "2025", a date → "2025-06-01"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        if value.hour or value.minute or value.second:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()
