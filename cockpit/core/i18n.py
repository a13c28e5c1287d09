"""The one translation mechanism: every user-facing string lives in a {"zh_CN": …, "en": …} table
next to the code that shows it, read through `pick`; shared words (units, severities, statuses,
event categories) live here once.

Why not Qt's .ts/.qm: strings are also made below the UI (alert messages, briefings, CLI output,
Excel exports) where Qt may not be imported, and a Python table needs no build step in a frozen
installer. Chinese is the reference: a key missing in English falls back to it, and a test lists
keys that do.
"""
from __future__ import annotations

LANGS = ("zh_CN", "en")


def lang_of(lang: str | None) -> str:
    return "en" if lang == "en" else "zh_CN"


def pick(table: dict, lang: str | None) -> dict:
    """The strings of one language, Chinese filling any gap."""
    zh = table.get("zh_CN", {})
    if lang_of(lang) == "zh_CN":
        return zh
    return {**zh, **table.get("en", {})}


def missing_english(table: dict) -> list[str]:
    """Keys a table has in Chinese but not in English (for tests)."""
    zh, en = table.get("zh_CN", {}), table.get("en", {})
    return sorted(k for k in zh if k not in en)
