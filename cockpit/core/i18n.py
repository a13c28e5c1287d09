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


def plural(n: int) -> str:
    """English's plural ending for a count ("1 month", "3 months"); Chinese texts ignore it."""
    return "" if n == 1 else "s"


def missing_english(table: dict) -> list[str]:
    """Keys a table has in Chinese but not in English (for tests)."""
    zh, en = table.get("zh_CN", {}), table.get("en", {})
    return sorted(k for k in zh if k not in en)


# --- shared words ------------------------------------------------------------------------------
# Units as written after a number in English. 亿 is 100 million; 万 is 10 thousand.
UNITS_EN = {
    "亿元": "100M yuan", "万元": "10k yuan", "元": "yuan", "万元/亩": "10k yuan/mu",
    "件": "cases", "件次": "cases", "万件": "10k cases", "起": "incidents", "个": "",
    "户": "entities", "万户": "10k households", "万户次": "10k household visits",
    "人": "people", "人次": "visits", "万人次": "10k visits", "张": "beds",
    "万千瓦时": "10 MWh", "μg/m³": "μg/m³", "%": "%", "天": "days",
    "个百分点": "percentage points",
}
# Units with a Chinese magnitude (万 = 10⁴, 亿 = 10⁸) are rewritten for English readers as a
# plain amount: 0.48 亿元 → 48.0M yuan, 0.24 万户 → 2.4k households.
SCALED_EN = {"亿元": (1e8, "yuan"), "万元": (1e4, "yuan"), "万元/亩": (1e4, "yuan/mu"),
             "万件": (1e4, "cases"), "万户": (1e4, "households"), "万户次": (1e4, "household visits"),
             "万人次": (1e4, "visits"), "万千瓦时": (10.0, "MWh")}
SEVERITY_EN = {"红": "Red", "橙": "Orange", "黄": "Yellow"}
ALERT_STATUS_EN = {"新预警": "New", "已签收": "Acknowledged", "处置中": "In progress",
                   "已办结": "Closed", "已忽略": "Ignored", "自动解除": "Cleared"}
EVENT_STATUS_EN = {"已超期": "Overdue", "处置中": "Open", "已办结": "Closed"}
EVENT_SOURCE_EN = {"基层治理四平台": "Grassroots platform", "12345": "12345 hotline",
                   "安全生产": "Work safety"}
EVENT_CATEGORY_EN = {
    "环境卫生": "Sanitation", "违章搭建": "Illegal building", "矛盾纠纷": "Dispute",
    "道路设施": "Roads", "消防隐患": "Fire hazard", "咨询求助": "Enquiry",
    "市场监管投诉": "Market complaint", "供水供电": "Water and power", "交通出行": "Transport",
    "噪声扰民": "Noise", "企业消防安全隐患": "Fire safety at firms", "危化品": "Hazardous chemicals",
    "建筑施工": "Construction", "山塘水库": "Reservoirs", "地质灾害": "Geological hazard",
}
FREQUENCY = {"zh_CN": {"month": "月度", "quarter": "季度", "year": "年度"},
             "en": {"month": "monthly", "quarter": "quarterly", "year": "yearly"}}


def _word(table_en: dict, word: str | None, lang: str | None) -> str:
    if word is None:
        return ""
    return table_en.get(word, word) if lang_of(lang) == "en" else word


def unit(text: str, lang: str | None) -> str:
    return _word(UNITS_EN, text, lang)


def severity(word: str, lang: str | None) -> str:
    return _word(SEVERITY_EN, word, lang)


def alert_status(word: str, lang: str | None) -> str:
    return _word(ALERT_STATUS_EN, word, lang)


def event_status(word: str, lang: str | None) -> str:
    return _word(EVENT_STATUS_EN, word, lang)


def event_source(word: str, lang: str | None) -> str:
    return _word(EVENT_SOURCE_EN, word, lang)


def event_category(word: str, lang: str | None) -> str:
    return _word(EVENT_CATEGORY_EN, word, lang)
