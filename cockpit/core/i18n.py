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


# --- departments -----------------------------------------------------------------------------
# A source department (牵头单位) is data, written in a few regular forms: an optional level (县,
# 市, 区, 省) or place name, then the department itself (统计局), perhaps a branch (金华市生态环境局
# 武义分局), perhaps the grid company (国网武义县供电公司). English readers get those parts
# translated, place names as the warehouse's regions spell them. A name that is not made of
# known parts is shown as written: a wrong department is worse than a Chinese one.
DEPARTMENT_LEVELS_EN = {"省": "Provincial", "市": "Municipal", "县": "County", "区": "District"}
DEPARTMENTS_EN = {
    "统计局": "Statistics Bureau",
    "发展和改革局": "Development and Reform Bureau", "发展改革局": "Development and Reform Bureau",
    "经济商务局": "Economy and Commerce Bureau",
    "经济和信息化局": "Economy and Information Technology Bureau",
    "商务局": "Commerce Bureau",
    "市场监督管理局": "Administration for Market Regulation",
    "综合行政执法局": "Comprehensive Law Enforcement Bureau",
    "生态环境局": "Ecology and Environment Bureau",
    "社会治理中心": "Social Governance Centre",
    "应急管理局": "Emergency Management Bureau",
    "信访局": "Letters and Visits Bureau",
    "公安局": "Public Security Bureau",
    "行政服务中心": "Administrative Service Centre",
    "政务服务中心": "Government Service Centre",
    "卫生健康局": "Health Bureau",
    "民政局": "Civil Affairs Bureau",
    "文化和广电旅游体育局": "Culture, Radio, Television, Tourism and Sports Bureau",
    "文化和旅游局": "Culture and Tourism Bureau",
    "大数据发展中心": "Big Data Development Centre",
    "大数据发展管理局": "Big Data Development Bureau",
    "数据资源管理局": "Data Resources Bureau",
    "财政局": "Finance Bureau",
    "税务局": "Taxation Bureau",
    "供电公司": "Power Supply Company",
    "政府办公室": "Government Office",
    "人民政府办公室": "People's Government Office",
    "人民政府": "People's Government",
    "农业农村局": "Agriculture and Rural Affairs Bureau",
    "自然资源和规划局": "Natural Resources and Planning Bureau",
    "自然资源局": "Natural Resources Bureau",
    "教育局": "Education Bureau",
    "人力资源和社会保障局": "Human Resources and Social Security Bureau",
    "住房和城乡建设局": "Housing and Urban-Rural Development Bureau",
    "交通运输局": "Transport Bureau",
    "水利局": "Water Resources Bureau",
    "司法局": "Justice Bureau",
    "科学技术局": "Science and Technology Bureau", "科技局": "Science and Technology Bureau",
    "审计局": "Audit Bureau",
    "退役军人事务局": "Veterans Affairs Bureau",
    "医疗保障局": "Healthcare Security Bureau",
    "林业局": "Forestry Bureau",
    "气象局": "Meteorological Bureau",
    "消防救援大队": "Fire and Rescue Brigade",
    "融媒体中心": "Media Centre",
}
_DEPARTMENT_CORES = sorted(DEPARTMENTS_EN, key=len, reverse=True)   # longest match first
# A place's level as a department's name may drop it (武义 for 武义县), and its English word.
_PLACE_SUFFIXES = (("自治县", " Autonomous County"), ("县", " County"), ("区", " District"),
                   ("市", " City"), ("旗", " Banner"))


def place_names(regions) -> dict[str, str]:
    """Chinese place names → English, from (name, name_en) pairs: each full name, and a county's
    or city's name without its level (武义 → Wuyi, as 金华市生态环境局武义分局 writes it)."""
    out: dict[str, str] = {}
    for name, name_en in regions:
        if not name or not name_en:
            continue
        out[name] = name_en
        for suffix, suffix_en in _PLACE_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                out.setdefault(name[:-len(suffix)], name_en.removesuffix(suffix_en))
                break
    return out


def department(name: str | None, lang: str | None, places=None) -> str:
    """A department's name in `lang` (see above); `places`: Chinese → English place names."""
    if not name or lang_of(lang) != "en":
        return name or ""
    return _department_en(name.strip(), places or {}) or name


def _department_en(name: str, places) -> str | None:
    if name.startswith("国网"):            # State Grid's local company
        rest = _department_en(name[2:], places)
        return f"State Grid {rest}" if rest else None
    if name.endswith("分局"):
        parent, _, branch = name[:-2].rpartition("局")
        if parent:                        # 金华市生态环境局武义分局
            parent_en, branch_en = _department_en(parent + "局", places), places.get(branch)
            return f"{parent_en}, {branch_en} Branch" if parent_en and branch_en else None
        whole = _department_en(branch + "局", places)   # 龙游生态环境分局
        return whole[:-len("Bureau")] + "Branch" if whole and whole.endswith("Bureau") else None
    core = next((c for c in _DEPARTMENT_CORES if name.endswith(c)), None)
    if core is None:
        return None
    head = name[:-len(core)]
    head_en = "" if not head else DEPARTMENT_LEVELS_EN.get(head) or places.get(head)
    if head_en is None:
        return None
    return f"{head_en} {DEPARTMENTS_EN[core]}".strip()
