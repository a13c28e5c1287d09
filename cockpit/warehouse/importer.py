"""Reading departments' files as they really come: long tables and wide sheets in CSV (UTF-8, GBK or
UTF-16), spreadsheets (.xlsx, .xls, .xlsb, .ods, WPS .et) and Parquet, event records, and the
matching of their region and indicator names to the warehouse's codes.

Nothing here decides whether a file may be imported; readers turn every table into rows of raw text
with their place in the file (sheet, row, column), and `validation` judges them. Only problems that
stop a table from being read at all (no header, a missing column, an unreadable file) are reported
here, and `read_file` turns any failure inside a reader into such a problem, so no file can crash an
import. Long tables are read column-wise (pyarrow for CSV and Parquet; calamine, a Rust reader,
for spreadsheets: about ten times openpyxl's speed) because a department's file can hold a
million rows.
"""
from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

from .validation import Problem

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
# WPS Spreadsheets' .et/.ett are BIFF (like .xls) or OOXML inside: calamine tells by the content.
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et", ".ett"}
PARQUET_SUFFIXES = {".parquet", ".pq"}

HEADER_SCAN_ROWS = 30

# The raw observation rows every reader produces: text as seen, with its row in the file.
# cell_col names the cell's column where it differs per row (wide sheets: one column per period).
RAW_SCHEMA = pa.schema([
    ("row", pa.int32()),
    ("region", pa.string()),
    ("indicator", pa.string()),
    ("period", pa.string()),
    ("value", pa.string()),
    ("unit", pa.string()),
    ("cell_col", pa.string()),
])


# --- normalising text -------------------------------------------------------------------------
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
_QUOTES = re.compile(r"[\"'“”‘’「」『』《》〈〉、·•．]")


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


def column_letter(index: int) -> str:
    """0 → A, 26 → AA (Excel's column names)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


# --- periods ----------------------------------------------------------------------------------
_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
           "十": 10, "十一": 11, "十二": 12}


def _num(text: str) -> int:
    return int(text) if text.isdigit() else _CN_NUM[text]


_MONTH_NUM = r"(\d{1,2}|十[一二]?|[一二三四五六七八九])"
_QUARTER_NUM = r"([1-4一二三四])"
_P_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2})(?:日)?)?"
                    r"(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_P_CN_MONTH = re.compile(r"^(\d{4})年" + _MONTH_NUM + r"月份?(?:\d{1,2}日)?$")
_P_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
_P_Q = re.compile(r"^(\d{4})(?:年|-|/|\.)?第?Q" + _QUARTER_NUM + r"$")
_P_CN_Q = re.compile(r"^(\d{4})年?第?" + _QUARTER_NUM + r"季度?$")
_P_YEAR = re.compile(r"^(\d{4})(?:年|年度|年全年|全年)?$")
_P_BARE_MONTH = re.compile(r"^" + _MONTH_NUM + r"月份?$")
_P_BARE_Q = re.compile(r"^(?:第?Q" + _QUARTER_NUM + r"|第?" + _QUARTER_NUM + r"季度?)$")


@dataclass(frozen=True)
class ParsedPeriod:
    """A period as the warehouse stores it: the first day of its last month, and how it was written."""
    period: date
    grain: str  # month / quarter / year


def parse_period(value) -> ParsedPeriod | None:
    """2025-06, 2025/6, 202506, 2025年6月, 2025年二季度, 2025Q2, 2025年, a date cell … or None."""
    if isinstance(value, (datetime, date)):
        return ParsedPeriod(date(value.year, value.month, 1), "month")
    text = normalise(cell_text(value)).upper()
    if not text:
        return None
    year = month = None
    grain = "month"
    if m := _P_ISO.match(text):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _P_CN_MONTH.match(text.replace("Q", "q")):
        year, month = int(m.group(1)), _num(m.group(2))
    elif m := _P_COMPACT.match(text):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := (_P_Q.match(text) or _P_CN_Q.match(text)):
        year, month, grain = int(m.group(1)), 3 * _num(m.group(2)), "quarter"
    elif m := _P_YEAR.match(text):
        year, month, grain = int(m.group(1)), 12, "year"
    if year is None or not (1 <= month <= 12) or not (1900 <= year <= 2200):
        return None
    return ParsedPeriod(date(year, month, 1), grain)


def _bare_period(text: str) -> tuple[int, str] | None:
    """A column header without its year: 6月 → (6, month), 二季度 → (6, quarter)."""
    t = normalise(text).upper()
    if m := _P_BARE_MONTH.match(t):
        month = _num(m.group(1))
        return (month, "month") if 1 <= month <= 12 else None
    if m := _P_BARE_Q.match(t):
        q = m.group(1) or m.group(2)
        return 3 * _num(q), "quarter"
    return None


_YEAR_IN_TEXT = re.compile(r"(\d{4})\s*年")


# --- numbers and units ------------------------------------------------------------------------
PLACEHOLDERS = {"", "—", "–", "-", "--", "——", "―", "/", "\\", "暂无", "无", "空", "缺", "未报",
                "未报送", "未填报", "待报", "NA", "N/A", "#N/A", "NULL", "NONE", "NAN", "…", "...",
                "……", "X", "*", "**", "***"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?%?$")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text) -> tuple[float | None, str]:
    """(value, kind): kind is ok, percent (written with %), placeholder, not_number, or too_large
    (infinite, or 10¹⁵ and beyond: no county's figure, and past what float64 counts exactly)."""
    t = normalise(text)
    if t.upper() in PLACEHOLDERS:
        return None, "placeholder"
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    kind = "ok"
    if t.endswith("%"):
        t, kind = t[:-1], "percent"
    if not _PLAIN_NUMBER.match(t):
        return None, "not_number"
    value = float(t)
    if not abs(value) < 1e15:
        return None, "too_large"
    return value, kind


_UNIT_ALIASES = {"百分比": "%", "百分点": "%", "ug/m3": "μg/m3", "微克/立方米": "μg/m3",
                 "mg/m3": "mg/m3", "人次数": "人次"}


def normalise_unit(text) -> str:
    u = normalise(text)
    u = u.replace("µ", "μ")  # micro sign → Greek mu
    u = u.strip("()（）[]【】")
    u = re.sub(r"^(计量)?单位[:：]?", "", u)
    return _UNIT_ALIASES.get(u.lower(), _UNIT_ALIASES.get(u, u))


_UNIT_IN_TEXT = re.compile(r"(?:计量)?单位\s*[:：]\s*([^\s,，;；)）]+)")
_PAREN_TAIL = re.compile(r"^(.*?)[(（]([^()（）]*)[)）]$")


# --- matching regions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """How a name was matched: code set when exactly one candidate fits; never a guess."""
    code: str | None
    status: str                      # ok / unknown / ambiguous
    candidates: tuple[str, ...] = ()  # names, when ambiguous
    suggestion: str | None = None    # a close name, offered in the message only


_ETHNIC = re.compile(r"(畲族|回族|苗族|瑶族|壮族|土家族|满族|蒙古族|侗族|彝族|藏族|维吾尔族|"
                     r"布依族|白族|哈尼族|傣族|黎族|朝鲜族|各族|民族)(?=(镇|乡|苏木)$)")
_TOWNSHIP_SUFFIX = re.compile(r"(街道办事处|街道|办事处|镇人民政府|乡人民政府|镇|乡|苏木)$")
COUNTY_ALIASES = ("全县", "合计", "总计", "全县合计", "全县总计", "县本级合计")


def _region_key(name: str) -> str:
    """The normal form of a township name: full-width folded, no spaces, 街道办事处 → 街道, no ethnic part."""
    n = normalise(name)
    n = re.sub(r"(街道办事处|办事处)$", "街道", n)
    n = re.sub(r"(镇|乡)人民政府$", r"\1", n)
    return _ETHNIC.sub("", n)


def _region_base(key: str) -> str:
    return _TOWNSHIP_SUFFIX.sub("", key)


class RegionMatcher:
    """Matches region text to codes: by code, by normalised name, or by the name without its suffix.

    柳城镇, 柳城畲族镇, ＂柳城畲族镇 ＂ and 330723004 all match 柳城畲族镇; 柳城 (no suffix) matches too as
    long as only one region is called 柳城…; 柳城乡 does not (a different suffix is a different
    place as far as the matcher may tell) and is reported with 柳城畲族镇 as a suggestion.
    """

    def __init__(self, regions: Iterable, county_code: str | None = None):
        self.regions = list(regions)
        self._by_code: dict[str, str] = {}
        self._by_key: dict[str, set[str]] = {}
        self._by_base: dict[str, set[str]] = {}
        self._names = {r.code: r.name for r in self.regions}
        self._prefixes: list[str] = []
        for r in self.regions:
            self._by_code[normalise(r.code).upper()] = r.code
            key = _region_key(r.name)
            self._by_key.setdefault(key, set()).add(r.code)
            self._by_base.setdefault(_region_base(key), set()).add(r.code)
            if r.level in ("county", "city", "province"):
                self._prefixes.append(normalise(r.name))
        county = county_code or next((r.code for r in self.regions if r.level == "county"), None)
        if county is not None:
            for alias in COUNTY_ALIASES:
                self._by_key.setdefault(alias, set()).add(county)
        self._prefixes.sort(key=len, reverse=True)

    def name(self, code: str) -> str:
        return self._names.get(code, code)

    def resolve(self, text) -> Match:
        raw = normalise(cell_text(text))
        if not raw:
            return Match(None, "unknown")
        code = self._by_code.get(raw.upper())
        if code is None and re.fullmatch(r"\d{12}", raw) and raw.endswith("000"):
            code = self._by_code.get(raw[:9])  # 12-digit statistical code of a township
        if code is not None:
            return Match(code, "ok")
        key = _region_key(raw)
        for prefix in self._prefixes:  # 武义县熟溪街道 → 熟溪街道
            if key.startswith(prefix) and len(key) > len(prefix):
                key = _region_key(key[len(prefix):])
                break
        found = self._by_key.get(key)
        if not found and _region_base(key) == key:  # written without 镇/乡/街道
            found = self._by_base.get(key)
        if found and len(found) == 1:
            return Match(next(iter(found)), "ok")
        if found:
            return Match(None, "ambiguous", tuple(sorted(self.name(c) for c in found)))
        return Match(None, "unknown", suggestion=self._suggest(key))

    def _suggest(self, key: str) -> str | None:
        names = {_region_key(r.name): r.name for r in self.regions}
        bases = {_region_base(k): n for k, n in names.items()}
        close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
        if close:
            return names[close[0]]
        close = difflib.get_close_matches(_region_base(key), list(bases), n=1, cutoff=0.6)
        return bases[close[0]] if close else None


# --- matching indicators ------------------------------------------------------------------------
def _indicator_key(name: str) -> str:
    return _QUOTES.sub("", normalise(name)).lower()


class IndicatorMatcher:
    """Matches indicator text to codes: by code, or by name (quotes, spaces and width ignored).

    A unit in trailing parentheses is split off: 规上工业增加值（亿元） is 规上工业增加值 in 亿元.
    """

    def __init__(self, indicators: Iterable):
        self.indicators = list(indicators)
        self.by_code = {i.code: i for i in self.indicators}
        self._codes = {i.code.lower(): i.code for i in self.indicators}
        self._by_key: dict[str, set[str]] = {}
        for i in self.indicators:
            self._by_key.setdefault(_indicator_key(i.name), set()).add(i.code)

    def resolve(self, text) -> tuple[Match, str | None]:
        """(match, unit written with the name or None)."""
        raw = normalise(cell_text(text))
        if not raw:
            return Match(None, "unknown"), None
        code = self._codes.get(raw.lower())
        if code is not None:
            return Match(code, "ok"), None
        unit = None
        key = _indicator_key(raw)
        found = self._by_key.get(key)
        if not found and (m := _PAREN_TAIL.match(raw)):
            found = self._by_key.get(_indicator_key(m.group(1)))
            if found:
                unit = normalise_unit(m.group(2))
        if found and len(found) == 1:
            return Match(next(iter(found)), "ok"), unit
        if found:
            return Match(None, "ambiguous", tuple(sorted(found))), unit
        close = difflib.get_close_matches(key, list(self._by_key), n=1, cutoff=0.6)
        suggestion = None
        if close:
            suggestion = self.by_code[sorted(self._by_key[close[0]])[0]].name
        return Match(None, "unknown", suggestion=suggestion), None

    def find_in_text(self, text) -> Match:
        """The one indicator named in a title or a sheet name (the longest name found in it)."""
        exact, _ = self.resolve(text)
        if exact.status != "unknown":
            return exact
        key = _indicator_key(text)
        if not key:
            return Match(None, "unknown")
        hits = [(k, codes) for k, codes in self._by_key.items() if k and k in key]
        if not hits:
            return exact
        hits.sort(key=lambda kc: len(kc[0]), reverse=True)
        longest, codes = hits[0]
        others = {c for k, cs in hits[1:] if k not in longest for c in cs}
        if len(codes) == 1 and not others:
            return Match(next(iter(codes)), "ok")
        names = sorted({self.by_code[c].name for c in codes | others})
        return Match(None, "ambiguous", tuple(names))


# --- what readers hand to validation ---------------------------------------------------------
@dataclass
class ObservationSource:
    """One table of indicator values from a file (a CSV, a Parquet file or one sheet)."""
    file: str
    path: Path
    sheet: str | None
    layout: str                          # long / wide
    rows: pa.Table                       # RAW_SCHEMA
    labels: dict[str, str]               # role → column label used in messages
    ignored_columns: list[str] = field(default_factory=list)
    title: str | None = None
    # (row, column) of the one cell that gives every row's unit (a 单位：万元 line, a 数值（亿元）
    # header): a wrong unit there is one mistake, reported once, at that cell.
    unit_place: tuple[int, str] | None = None


@dataclass
class EventSource:
    """Event records from a file or sheet: one dict of cell texts per row, with `_row`."""
    file: str
    path: Path
    sheet: str | None
    rows: list[dict]
    labels: dict[str, str]


@dataclass
class FileRead:
    path: Path
    observations: list[ObservationSource] = field(default_factory=list)
    events: list[EventSource] = field(default_factory=list)
    boundaries: object | None = None     # boundaries.BoundaryFile
    problems: list[Problem] = field(default_factory=list)
    targets: bool = False                # a targets file (规划目标): `targets` reads it
    catalogue: bool = False              # a catalogue file (指标目录): `catalogue_file` reads it

    @property
    def file(self) -> str:
        return display_name(self.path)


def _problem(file: str, message: str, *, sheet=None, row=None, column=None, value=None,
             expected=None, check="unreadable", severity="error") -> Problem:
    return Problem(severity=severity, check=check, file=file, sheet=sheet, row=row,
                   column=column, value=value, expected=expected, message=message)


# --- header roles -------------------------------------------------------------------------------
def _syn(*names: str) -> set[str]:
    return {normalise(n).lower() for n in names}


ROLES: dict[str, set[str]] = {
    "region": _syn("乡镇", "乡镇街道", "乡镇（街道）", "乡镇(街道)", "街道乡镇", "地区", "区域", "行政区划",
                   "行政区", "地区名称", "乡镇名称", "乡镇街道名称", "所属乡镇", "单位名称", "region",
                   "region_name", "township", "area"),
    "code": _syn("区划代码", "行政区划代码", "地区代码", "乡镇代码", "代码", "编码", "region_code",
                 "code"),
    "indicator": _syn("指标", "指标名称", "指标代码", "指标项", "指标项目", "indicator",
                      "indicator_code", "indicator_name"),
    "period": _syn("期间", "时间", "月份", "统计期", "统计期间", "报告期", "日期", "年月", "统计时间",
                   "所属期", "统计月份", "period", "month", "date"),
    "value": _syn("数值", "值", "指标值", "数据", "本期值", "本期数", "统计值", "value"),
    "unit": _syn("单位", "计量单位", "unit"),
}
EVENT_ROLES: dict[str, set[str]] = {
    "id": _syn("编号", "事件编号", "工单号", "工单编号", "事件id", "id"),
    "region": ROLES["region"],
    "source": _syn("来源", "事件来源", "渠道", "平台", "来源平台", "source"),
    "category": _syn("类别", "事件类别", "类型", "事件类型", "分类", "category"),
    "summary": _syn("摘要", "事件摘要", "内容", "事件内容", "描述", "事件描述", "诉求内容", "summary"),
    "reported_at": _syn("上报时间", "受理时间", "登记时间", "发生时间", "报送时间", "reported_at"),
    "deadline_at": _syn("办理期限", "期限", "截止时间", "限办时间", "办结期限", "deadline_at"),
    "closed_at": _syn("办结时间", "完成时间", "结案时间", "处置完成时间", "closed_at"),
    "status": _syn("状态", "办理状态", "处置状态", "status"),
    "lon": _syn("经度", "lon", "lng", "longitude"),
    "lat": _syn("纬度", "lat", "latitude"),
}
ROLE_NAMES = {"region": "乡镇（街道）", "code": "区划代码", "indicator": "指标", "period": "期间",
              "value": "数值", "unit": "单位", "id": "编号", "source": "来源", "category": "类别",
              "summary": "摘要", "reported_at": "上报时间", "deadline_at": "办理期限",
              "closed_at": "办结时间", "status": "状态", "lon": "经度", "lat": "纬度"}
EVENT_REQUIRED = ("region", "source", "category", "summary", "reported_at")
LONG_REQUIRED = ("region", "indicator", "period", "value")
# Columns of a wide sheet that are not periods and are skipped without a word.
SKIP_HEADERS = _syn("序号", "编号", "备注", "合计", "小计", "全年", "累计", "全年累计", "年度累计",
                    "同比", "环比", "增幅", "增速", "同比增长", "同比增幅", "排名", "位次", "说明")
_NOTE_WORDS = "注|备注|说明|数据来源|来源|资料来源|填报|填表|制表|审核|联系人|负责人"
_NOTE = re.compile(rf"^({_NOTE_WORDS})\s*[:：0-9一二三、.]")
_NOTE_RE2 = rf"^({_NOTE_WORDS})\s*[:：0-9一二三、.]"  # the same, for pyarrow (RE2)


def _header_role(text: str, roles: dict[str, set[str]]) -> tuple[str | None, str | None]:
    """(role, unit in parentheses) of one header cell: 数值（亿元） → (value, 亿元)."""
    n = normalise(text).lower()
    if not n:
        return None, None
    for role, names in roles.items():
        if n in names:
            return role, None
    if m := _PAREN_TAIL.match(n):
        inner_role, _ = _header_role(m.group(1), roles)
        if inner_role is not None:
            return inner_role, normalise_unit(m.group(2))
    bare = re.sub(r"[(（][^()（）]*[)）]", "", n)  # 乡镇（街道）代码 → 乡镇代码
    if bare != n and bare:
        return _header_role(bare, roles)
    return None, None


def _roles_in_row(row: Sequence, roles: dict[str, set[str]]) -> dict[str, tuple[int, str | None]]:
    found: dict[str, tuple[int, str | None]] = {}
    for j, v in enumerate(row):
        role, unit = _header_role(cell_text(v), roles)
        if role is not None and role not in found:
            found[role] = (j, unit)
    return found


def _is_note(row: Sequence) -> bool:
    first = next((cell_text(v) for v in row if cell_text(v)), "")
    return bool(first) and bool(_NOTE.match(unicodedata.normalize("NFKC", first)))


def _is_blank(row: Sequence) -> bool:
    return not any(cell_text(v) for v in row)


@dataclass
class _Header:
    index: int                          # 0-based row index of the header in the grid
    layout: str                         # long / wide / events
    roles: dict[str, tuple[int, str | None]]
    others: dict[str, list[int]] = field(default_factory=dict)  # more columns of one role


def _other_columns(row: Sequence, roles: dict[str, tuple[int, str | None]]) -> dict[str, list[int]]:
    """Columns naming a role already taken by a column to their left (数值 … 本期数)."""
    others: dict[str, list[int]] = {}
    for j, v in enumerate(row):
        role, _ = _header_role(cell_text(v), ROLES)
        if role in roles and roles[role][0] != j:
            others.setdefault(role, []).append(j)
    return others


def _find_header(head: list[Sequence]) -> _Header | None:
    """The header row among the first rows: the one naming the region column."""
    best_partial = None
    for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
        event_roles = _roles_in_row(row, EVENT_ROLES)
        if "reported_at" in event_roles and len(event_roles) >= 3:
            return _Header(i, "events", event_roles)
        roles = _roles_in_row(row, ROLES)
        if "indicator" in roles and "value" in roles:
            return _Header(i, "long", roles, _other_columns(row, roles))
        if "region" in roles or "code" in roles:
            if "indicator" in roles or "value" in roles or "period" in roles:
                best_partial = best_partial or _Header(i, "long", roles)
                continue
            return _Header(i, "wide", roles)
    return best_partial


def _column_label(kind: str, index: int, header: str) -> str:
    header = header or "（无标题）"
    if kind == "xlsx":
        return f"{column_letter(index)}列“{header}”"
    return f"第{index + 1}列“{header}”"


def _missing_columns_problem(file, sheet, header: _Header, required, kind) -> Problem | None:
    missing = [r for r in required if r not in header.roles
               and not (r == "region" and "code" in header.roles)]
    if not missing:
        return None
    names = "、".join(f"“{ROLE_NAMES[r]}”" for r in missing)
    want = "、".join(ROLE_NAMES[r] for r in required)
    return _problem(file, f"表头缺少{names}列", sheet=sheet, row=header.index + 1,
                    column="表头", expected=f"表头包含 {want} 各列", check="missing_column")


# --- long tables -----------------------------------------------------------------------------
def _long_from_columns(file: str, path: Path, sheet: str | None, header: _Header,
                       header_cells: Sequence, columns: dict[str, pa.Array], rows: pa.Array,
                       kind: str) -> ObservationSource:
    roles = header.roles
    labels = {role: _column_label(kind, j, cell_text(header_cells[j]) if j < len(header_cells)
                                  else "") for role, (j, _) in roles.items()}
    region_role = "region" if "region" in roles else "code"
    labels["region"] = labels[region_role]
    n = len(rows)
    unit_col = columns.get("unit")
    value_unit = roles["value"][1] or (roles["indicator"][1] if "indicator" in roles else None)
    unit_place = None
    if unit_col is None:
        unit_col = pa.repeat(pa.scalar(value_unit, pa.string()), n)
        if value_unit:
            labels["unit"] = labels["value"]
            unit_place = (header.index + 1, labels["value" if roles["value"][1] else "indicator"])
    table = pa.table({
        "row": rows.cast(pa.int32()),
        "region": columns["region"] if "region" in columns else columns["code"],
        "indicator": columns["indicator"],
        "period": columns["period"],
        "value": columns["value"],
        "unit": unit_col,
        "cell_col": pa.nulls(n, pa.string()),
    }, schema=RAW_SCHEMA)
    return ObservationSource(file, path, sheet, "long", table, labels, unit_place=unit_place)


# --- wide sheets -----------------------------------------------------------------------------
def _fill_merges(grid: list[list], merges: Iterable[tuple[int, int, int, int]]) -> None:
    """Give every cell of a merged range the value of its top-left cell (0-based, inclusive)."""
    for r0, c0, r1, c1 in merges:
        if r0 >= len(grid):
            continue
        top = grid[r0][c0] if c0 < len(grid[r0]) else None
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[r]
            if len(row) <= c1:
                row.extend([None] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if r != r0 or c != c0:
                    row[c] = top


def _wide_source(file: str, path: Path, sheet: str | None, grid: list[list], header: _Header,
                 kind: str, indicators: IndicatorMatcher | None,
                 problems: list[Problem]) -> ObservationSource | None:
    """One indicator's sheet: townships down, periods across, title and unit above, notes below."""
    h = header.index
    region_role = "region" if "region" in header.roles else "code"
    rcol = header.roles[region_role][0]
    region_header = cell_text(grid[h][rcol])
    skip_cols = {j for role, (j, _) in header.roles.items()}
    # Header rows: from the header row down to the first row naming a region.
    d = h + 1
    while d < len(grid):
        row = grid[d]
        cell = cell_text(row[rcol]) if rcol < len(row) else ""
        if cell and cell != region_header:
            break
        if not cell and _is_blank(row):
            break
        d += 1
    above = [cell_text(v) for row in grid[:h] for v in row if cell_text(v)]
    title = next(iter(above), None)
    unit = unit_place = None
    for r, row in enumerate(grid[:h + 1]):
        for j, v in enumerate(row):
            text = cell_text(v)
            if text and (m := _UNIT_IN_TEXT.search(unicodedata.normalize("NFKC", text))):
                unit = normalise_unit(m.group(1))
                unit_place = (r + 1, _column_label(kind, j, text))
                break
        if unit is not None:
            break
    title_years = [int(y) for y in _YEAR_IN_TEXT.findall(" ".join(above))]
    # Which indicator: the sheet's name, else the title, else the file's name.
    match = Match(None, "unknown")
    if indicators is not None:
        for text in (sheet, title, Path(file).stem):
            if text:
                match = indicators.find_in_text(text)
                if match.status != "unknown":
                    break
    indicator_text = match.code or (title or sheet or Path(file).stem)
    if match.status != "ok":
        where = "标题" if title else "工作表名"
        if match.status == "ambiguous":
            message = f"无法确定本表是哪一项指标：{where}中同时出现了 " + "、".join(
                f"“{n}”" for n in match.candidates)
        else:
            message = f"无法确定本表是哪一项指标：工作表名“{sheet or ''}”和标题中都没有指标目录里的指标名称"
        problems.append(_problem(file, message, sheet=sheet, row=1 if title else None,
                                 column=where, value=title or sheet, check="unknown_indicator",
                                 expected="工作表名或标题写明指标名称，如“规上工业增加值”"))
        return None
    width = max((len(r) for r in grid[h:d]), default=0)
    period_cols: list[tuple[int, str, str]] = []  # (column, header text, period text)
    ignored: list[str] = []
    for j in range(width):
        if j in skip_cols:
            continue
        parts: list[str] = []
        for r in range(h, d):
            text = cell_text(grid[r][j]) if j < len(grid[r]) else ""
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        if not parts:
            continue
        heading = "".join(parts)
        if _UNIT_IN_TEXT.search(unicodedata.normalize("NFKC", heading)):
            continue
        label = _column_label(kind, j, heading)
        if normalise(parts[-1]).lower() in SKIP_HEADERS or normalise(heading).lower() in SKIP_HEADERS:
            ignored.append(label)
            continue
        parsed = parse_period(heading)
        if parsed is None and len(parts) > 1:
            parsed = parse_period(parts[-1])
        if parsed is None:
            bare = _bare_period(parts[-1])
            years = [int(y) for y in _YEAR_IN_TEXT.findall("".join(parts[:-1]))] or title_years
            if bare is not None and years:
                month, grain = bare
                period_text = (f"{years[0]}-{month:02d}" if grain == "month"
                               else f"{years[0]}Q{month // 3}")
                period_cols.append((j, label, period_text))
                continue
            if bare is not None:
                problems.append(_problem(
                    file, "列标题只有月份或季度，标题和表头中都没有年份", sheet=sheet, row=h + 1,
                    column=label, value=heading, check="bad_period",
                    expected="表头或标题写明年份，如“2025年6月”"))
                continue
            if re.search(r"\d|月|季|年", heading):
                problems.append(_problem(
                    file, "列标题不是可识别的期间", sheet=sheet, row=h + 1, column=label,
                    value=heading, check="bad_period",
                    expected="期间，如 2025年6月、2025-06、2025年二季度、2025年"))
            else:
                ignored.append(label)
            continue
        period_cols.append((j, label, heading))
    if not period_cols:
        problems.append(_problem(file, "表头中没有期间列", sheet=sheet, row=h + 1, column="表头",
                                 check="missing_column",
                                 expected="乡镇（街道）列右侧每列一个期间，如 2025年1月 … 2025年12月"))
        return None
    # Body rows, until notes begin.
    body: list[tuple[int, list]] = []
    for i in range(d, len(grid)):
        row = grid[i]
        if _is_note(row):
            break
        if _is_blank(row):
            continue
        body.append((i + 1, row))
    # A period column nobody filled in (months not reported yet) is not a column of placeholders.
    used = [(j, label, text) for j, label, text in period_cols
            if any(j < len(row) and cell_text(row[j]) for _, row in body)]
    cols: dict[str, list] = {"row": [], "region": [], "period": [], "value": [], "cell_col": []}
    for number, row in body:
        region = cell_text(row[rcol]) if rcol < len(row) else ""
        for j, label, text in used:
            cols["row"].append(number)
            cols["region"].append(region)
            cols["period"].append(text)
            cols["value"].append(cell_text(row[j]) if j < len(row) else "")
            cols["cell_col"].append(label)
    n = len(cols["row"])
    table = pa.table({
        "row": pa.array(cols["row"], pa.int32()),
        "region": pa.array(cols["region"], pa.string()),
        "indicator": pa.array([indicator_text] * n, pa.string()),
        "period": pa.array(cols["period"], pa.string()),
        "value": pa.array(cols["value"], pa.string()),
        "unit": pa.array([unit] * n, pa.string()),
        "cell_col": pa.array(cols["cell_col"], pa.string()),
    }, schema=RAW_SCHEMA)
    labels = {"region": _column_label(kind, rcol, region_header),
              "indicator": f"标题“{title}”" if title else f"工作表“{sheet}”",
              "unit": unit_place[1] if unit_place else "单位"}
    return ObservationSource(file, path, sheet, "wide", table, labels, ignored, title, unit_place)


# --- events ----------------------------------------------------------------------------------
def _event_source(file: str, path: Path, sheet: str | None, header: _Header,
                  header_cells: Sequence, body: Iterable[tuple[int, Sequence]],
                  kind: str) -> EventSource:
    labels = {role: _column_label(kind, j, cell_text(header_cells[j]))
              for role, (j, _) in header.roles.items()}
    rows = []
    for number, row in body:
        if _is_blank(row):
            continue
        if _is_note(row):
            break
        record = {"_row": number}
        for role, (j, _) in header.roles.items():
            v = row[j] if j < len(row) else None
            record[role] = v if isinstance(v, (datetime, date)) else cell_text(v)
        rows.append(record)
    return EventSource(file, path, sheet, rows, labels)


# --- grids to sources --------------------------------------------------------------------------
def _read_grid(file: str, path: Path, sheet: str | None, grid: list[list], kind: str,
               out: FileRead, indicators: IndicatorMatcher | None, merges_for=None) -> None:
    """Classify one sheet (or CSV) by its header and read it as long, wide or events."""
    head = grid[:HEADER_SCAN_ROWS]
    header = _find_header(head)
    if header is None:
        if all(_is_blank(r) for r in head):
            if sheet is not None:
                return  # an empty extra sheet is no problem
            out.problems.append(_problem(file, "文件中没有数据", sheet=sheet, check="empty_file",
                                         expected="带表头的数据表"))
            return
        out.problems.append(_problem(
            file, f"前{HEADER_SCAN_ROWS}行中找不到表头", sheet=sheet, row=1, column="表头",
            check="no_header",
            expected="长表表头：乡镇（街道）、指标、期间、数值；或宽表：乡镇（街道）列加各期间列；"
                     "或事件表：乡镇、来源、类别、摘要、上报时间"))
        return
    if (problem := _two_columns_problem(file, sheet, header, head[header.index], kind)):
        out.problems.append(problem)
        return
    header_cells = head[header.index]
    first_body = header.index + 1
    if header.layout == "events":
        problem = _missing_columns_problem(file, sheet, header, EVENT_REQUIRED, kind)
        if problem:
            out.problems.append(problem)
            return
        body = ((k + 1, grid[k]) for k in range(first_body, len(grid)))
        out.events.append(_event_source(file, path, sheet, header, header_cells, body, kind))
        return
    if header.layout == "long":
        problem = _missing_columns_problem(file, sheet, header, LONG_REQUIRED, kind)
        if problem:
            out.problems.append(problem)
            return
        source = _long_from_grid(file, path, sheet, header, header_cells, grid, kind)
    else:
        if merges_for is not None:
            _fill_merges(grid, merges_for())
        source = _wide_source(file, path, sheet, grid, header, kind, indicators, out.problems)
        if source is None:
            return
    if source.rows.num_rows == 0:
        out.problems.append(_problem(file, "表中没有数据行", sheet=sheet, row=header.index + 1,
                                     check="empty_file", expected="表头下至少一行数据"))
        return
    out.observations.append(source)


def _two_columns_problem(file, sheet, header: _Header, cells: Sequence, kind) -> Problem | None:
    """Two columns that could each be the values (数值 and 本期数 …): which one is meant is asked."""
    for role, columns in header.others.items():
        first = header.roles[role][0]
        labels = [_column_label(kind, j, cell_text(cells[j])) for j in (first, *columns)]
        return _problem(
            file, f"表头中有 {len(labels)} 列都可以是“{ROLE_NAMES[role]}”：{'、'.join(labels)}，"
                  "不知道该导入哪一列", sheet=sheet, row=header.index + 1, column=labels[1],
            value=cell_text(cells[columns[0]]), check="ambiguous_column",
            expected=f"只保留一列“{ROLE_NAMES[role]}”，另一列删去或改名（如“备注”）")
    return None


def _table_rows(columns: list[pa.Array], rows: pa.Array) -> tuple[list[pa.Array], pa.Array]:
    """Drop empty rows; a note (注：…, 数据来源：…) with nothing beside it ends the table."""
    import pyarrow.compute as pc

    nonempty = pc.not_equal(columns[0], "")
    others_empty = None
    for col in columns[1:]:
        nonempty = pc.or_(nonempty, pc.not_equal(col, ""))
        empty = pc.equal(col, "")
        others_empty = empty if others_empty is None else pc.and_(others_empty, empty)
    is_note = pc.match_substring_regex(columns[0], _NOTE_RE2)
    if others_empty is not None:
        is_note = pc.and_(is_note, others_empty)
    keep = nonempty
    if pc.any(is_note).as_py():
        first_note = pc.index(is_note, True).as_py()
        keep = pc.and_(keep, pa.array(np.arange(len(rows)) < first_note))
    if not pc.all(keep).as_py():
        columns = [col.filter(keep) for col in columns]
        rows = rows.filter(keep)
    return columns, rows


def _text_array(values: list) -> pa.Array:
    """A column of cells as the text a person sees (`cell_text`), converted at once where it can."""
    import pyarrow.compute as pc

    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        arr = None
    if arr is not None:
        kind = arr.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return pc.utf8_trim_whitespace(arr.cast(pa.string()))
        if pa.types.is_floating(kind) or pa.types.is_integer(kind):
            return pc.fill_null(pc.cast(arr, pa.string()), "")  # 2025.0 → "2025"
        if pa.types.is_null(kind):
            return pa.array([""] * len(values), pa.string())
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            timed = pa.types.is_timestamp(kind) and pc.any(pc.not_equal(
                pc.cast(pc.cast(arr, pa.date32()), kind), arr)).as_py()
            return pc.fill_null(pc.strftime(arr, "%Y-%m-%d %H:%M:%S" if timed else "%Y-%m-%d"), "")
    return pa.array([cell_text(v) for v in values], pa.string())


def _long_from_grid(file: str, path: Path, sheet: str | None, header: _Header,
                    header_cells: Sequence, grid: list[list], kind: str) -> ObservationSource:
    """A long table from rows of cells (spreadsheets, or a CSV read row by row), column by column:
    a million rows in about a second."""
    first = header.index + 1
    body = grid[first:]
    wanted = sorted({j for j, _ in header.roles.values()})
    if all(len(r) > wanted[-1] for r in body):  # a spreadsheet's rows are all as wide as its sheet
        arrays = [_text_array([r[j] for r in body]) for j in wanted]
    else:
        arrays = [_text_array([r[j] if j < len(r) else "" for r in body]) for j in wanted]
    rows = pa.array(np.arange(first + 1, first + 1 + len(body), dtype=np.int32))
    arrays, rows = _table_rows(arrays, rows)
    by_index = dict(zip(wanted, arrays))
    columns = {role: by_index[j] for role, (j, _) in header.roles.items()}
    return _long_from_columns(file, path, sheet, header, header_cells, columns, rows, kind)


# --- text: CSV, TSV, Excel's "Unicode text" ---------------------------------------------------
class TextEncodingError(ValueError):
    """Bytes that are no one encoding: `row` is the first line that does not fit."""

    def __init__(self, message: str, row: int | None, value: str | None, expected: str):
        super().__init__(message)
        self.message, self.row, self.value, self.expected = message, row, value, expected


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of mostly-ASCII text is zero."""
    sample = data[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * len(sample) / 2 and even < 0.05 * len(sample) / 2:
        return "utf-16-le"
    if even > 0.4 * len(sample) / 2 and odd < 0.05 * len(sample) / 2:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-16 (Excel's "Unicode text"), else UTF-8 (with or without BOM), else
    GB18030 (⊃ GBK). A file mixing UTF-8 and GBK lines, or with bytes no encoding reads, raises
    TextEncodingError naming the first line that does not fit."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (utf16 := _looks_utf16(data)):
        try:
            return data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else utf16), \
                "UTF-16"
        except UnicodeDecodeError as exc:
            raise TextEncodingError("UTF-16 文本中有无效字节", None, f"第{exc.start}字节",
                                    "完整的 UTF-16 文本（Excel“Unicode 文本”）") from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole: GBK, unless some lines are UTF-8 (files pasted together) or neither.
    utf8_line = other_line = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
            utf8_line = utf8_line or number
        except UnicodeDecodeError:
            try:
                line.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise TextEncodingError(
                    "这一行有既不是 UTF-8 也不是 GBK 的字节", number,
                    line[max(0, exc.start - 8):exc.start + 8].hex(" "),
                    "整个文件用同一种编码（UTF-8 或 GBK）保存") from None
            other_line = other_line or number
        if utf8_line and other_line:
            first, second = sorted((utf8_line, other_line))
            names = ("UTF-8", "GBK") if first == utf8_line else ("GBK", "UTF-8")
            raise TextEncodingError(
                f"文件混用了两种文字编码：第{first}行是 {names[0]}，第{second}行是 {names[1]}",
                second, None, "整个文件用同一种编码保存（建议另存为 UTF-8）")
    return data.decode("gb18030"), "GB18030"


def _sniff_delimiter(lines: list[str]) -> str:
    best, best_count = ",", 0
    for delim in (",", "\t", ";", "|"):
        count = sum(line.count(delim) for line in lines)
        if count > best_count:
            best, best_count = delim, count
    return best


def _head_lines(text: str) -> list[str]:
    """The first lines of a text, however long they are (a header can have 100,000 cells)."""
    lines, start = [], 0
    while len(lines) < HEADER_SCAN_ROWS and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        lines.append(text[start:end].rstrip("\r\n"))
        start = end
    return lines


def read_csv(path: Path, indicators: IndicatorMatcher | None = None) -> FileRead:
    out = FileRead(path)
    file = out.file
    data = path.read_bytes()
    if not data.strip():
        out.problems.append(_problem(file, "文件是空的", check="empty_file",
                                     expected="带表头的 CSV 数据表"))
        return out
    if b"\x00" in data[:65536] and not (data.startswith((b"\xff\xfe", b"\xfe\xff"))
                                        or _looks_utf16(data)):
        out.problems.append(_problem(file, "不是文本格式的 CSV 文件（含二进制内容）",
                                     value=path.suffix, check="unreadable",
                                     expected="UTF-8、GBK 或 UTF-16 编码的 CSV 文本；"
                                              "Excel 文件请用 .xlsx/.xls 扩展名"))
        return out
    try:
        text, encoding = decode_text(data)
    except TextEncodingError as exc:
        out.problems.append(_problem(file, exc.message, row=exc.row, column="整行",
                                     value=exc.value, check="encoding", expected=exc.expected))
        return out
    if "\x00" in text:
        out.problems.append(_problem(file, "文本中含有空字符（\\0），不是正常的 CSV 文件",
                                     check="unreadable", expected="UTF-8、GBK 或 UTF-16 编码的 CSV 文本"))
        return out
    head_lines = _head_lines(text)
    delimiter = _sniff_delimiter(head_lines)
    head = list(csv.reader(head_lines, delimiter=delimiter))
    if _is_catalogue(head):
        out.catalogue = True
        return out
    if _is_targets(head):
        out.targets = True
        return out
    header = _find_header(head)
    if header is not None and header.layout == "long" and not header.others and \
            _missing_columns_problem(file, None, header, LONG_REQUIRED, "csv") is None:
        source = _read_long_csv(path, text if encoding != "UTF-8" else None, data, header,
                                head[header.index], delimiter, out)
        if source is not None:
            if source.rows.num_rows == 0:
                out.problems.append(_problem(file, "表中没有数据行", row=header.index + 1,
                                             check="empty_file", expected="表头下至少一行数据"))
            else:
                out.observations.append(source)
        return out
    grid = list(csv.reader(text.splitlines(), delimiter=delimiter))
    _read_grid(file, path, None, grid, "csv", out, indicators)
    return out


def _read_long_csv(path: Path, decoded: str | None, data: bytes, header: _Header,
                   header_cells: list, delimiter: str, out: FileRead) -> ObservationSource | None:
    """The fast path for big long tables: pyarrow parses the columns, rows are numbered after."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    file = out.file
    raw = decoded.encode("utf-8") if decoded is not None else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # Start at the header line (titles above it are not part of the table).
    offset = 0
    for _ in range(header.index):
        offset = raw.index(b"\n", offset) + 1
    body = raw[offset:]
    width = len(header_cells)
    names = [f"c{j}" for j in range(width)]
    wanted = sorted({j for j, _ in header.roles.values()})
    skipped: list[tuple[int | None, str]] = []

    def on_invalid(row) -> str:
        skipped.append((row.number, row.text))
        return "skip"

    def parse(threads: bool):
        skipped.clear()
        return pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=threads,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={names[j]: pa.string() for j in wanted},
                include_columns=[names[j] for j in wanted],
                strings_can_be_null=False, quoted_strings_can_be_null=False))

    try:
        table = parse(True)
        if skipped:  # numbers of skipped rows are only known when parsing on one thread
            table = parse(False)
    except (pa.ArrowInvalid, ValueError) as exc:
        out.problems.append(_problem(file, f"无法解析 CSV：{str(exc).splitlines()[0]}",
                                     check="unreadable", expected="规范的 CSV 表格"))
        return None
    first_data_line = header.index + 2
    skipped_lines = sorted(header.index + n for n, _ in skipped if n is not None)
    total = table.num_rows + len(skipped_lines)
    line_numbers = np.arange(first_data_line, first_data_line + total, dtype=np.int64)
    if skipped_lines:
        line_numbers = line_numbers[~np.isin(line_numbers, skipped_lines)]
    # A row of another width is still a row of the table when every column the import reads is
    # there and nothing stands beyond the header's width (hand-edited files, trailing commas).
    kept: list[tuple[int, list[str]]] = []
    notes_from = None
    for number, text in sorted(((header.index + n, t) for n, t in skipped if n is not None)):
        fields = next(csv.reader([text], delimiter=delimiter), [])
        if not any(f.strip() for f in fields):
            continue
        if notes_from is not None or _is_note(fields):
            notes_from = notes_from or number  # notes under the table: nothing after is data
            continue
        if len(fields) > wanted[-1] and not any(f.strip() for f in fields[width:]):
            kept.append((number, fields))
            continue
        out.problems.append(_problem(
            file, f"这一行有 {len(fields)} 列，表头有 {width} 列", row=number, column="整行",
            value=text[:60], check="bad_row", expected=f"{width} 列，与表头一致"))
    columns = [pc.utf8_trim_whitespace(table.column(names[j]).combine_chunks()) for j in wanted]
    rows = pa.array(line_numbers[:table.num_rows], pa.int32())
    if notes_from is not None:
        before = pc.less(rows, notes_from)
        columns, rows = [col.filter(before) for col in columns], rows.filter(before)
    if kept:
        columns = [pa.concat_arrays([col, pa.array([f[j].strip() for _, f in kept], pa.string())])
                   for col, j in zip(columns, wanted)]
        rows = pa.concat_arrays([rows, pa.array([n for n, _ in kept], pa.int32())])
    columns, rows = _table_rows(columns, rows)
    by_index = dict(zip(wanted, columns))
    roles = {role: by_index[j] for role, (j, _) in header.roles.items()}
    return _long_from_columns(file, path, None, header, header_cells, roles, rows, "csv")


# --- spreadsheets: .xlsx .xls .xlsb .ods .et ----------------------------------------------------
def _ods_merges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges of one OpenDocument sheet, from content.xml (calamine reports none for ODS)."""
    import xml.etree.ElementTree as ET

    t = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    merges = []
    with zipfile.ZipFile(path) as zf, zf.open("content.xml") as xml:
        inside = False
        r = c = 0
        for event, el in ET.iterparse(xml, events=("start", "end")):
            if el.tag == t + "table":
                if event == "start":
                    inside = el.get(t + "name") == sheet
                    r = 0
                elif inside:
                    break
                continue
            if not inside:
                continue
            if el.tag == t + "table-row":
                if event == "start":
                    c = 0
                else:
                    r += int(el.get(t + "number-rows-repeated", "1"))
                    el.clear()
            elif el.tag in (t + "table-cell", t + "covered-table-cell") and event == "start":
                cols = int(el.get(t + "number-columns-spanned", "1"))
                rows = int(el.get(t + "number-rows-spanned", "1"))
                if cols > 1 or rows > 1:
                    merges.append((r, c, r + rows - 1, c + cols - 1))
                c += int(el.get(t + "number-columns-repeated", "1"))
    return merges


def _forward_filled_header(grid: list[list], header: _Header) -> list[tuple[int, int, int, int]]:
    """For files whose reader reports no merged cells (.xlsb): in the header rows above the last,
    an empty cell right of a heading, over a column the last header row names, is taken as
    covered by that heading, as a merged 2025年 over 1月…12月 is."""
    rcol = header.roles["region" if "region" in header.roles else "code"][0]
    region_header = cell_text(grid[header.index][rcol])
    last = header.index
    while last + 1 < len(grid) and cell_text(grid[last + 1][rcol] if rcol < len(grid[last + 1])
                                             else "") in ("", region_header) \
            and not _is_blank(grid[last + 1]):
        last += 1
    named = grid[last]
    merges = []
    for r in range(header.index, last):
        row = grid[r]
        j = 0
        while j < len(row):
            k = j + 1
            if cell_text(row[j]):
                while k < len(row) and not cell_text(row[k]) and k < len(named) \
                        and cell_text(named[k]):
                    k += 1
                if k - 1 > j:
                    merges.append((r, j, r, k - 1))
            j = k
    return merges


def _sheet_merges(path: Path, sheet, name: str, grid: list[list]):
    ranges = sheet.merged_cell_ranges
    if ranges is not None:
        return [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            is_ods = "content.xml" in zf.namelist()
        if is_ods:
            return _ods_merges(path, name)
    header = _find_header(grid[:HEADER_SCAN_ROWS])
    return [] if header is None else _forward_filled_header(grid, header)


def read_spreadsheet(path: Path, indicators: IndicatorMatcher | None = None) -> FileRead:
    """Every visible worksheet of a workbook: .xlsx/.xlsm, .xls, .xlsb, .ods, or WPS's .et."""
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    out = FileRead(path)
    file = out.file
    try:
        with open(path, "rb") as f:  # by content, not by name: a WPS .et is BIFF or OOXML inside
            wb = CalamineWorkbook.from_filelike(f)
    except PasswordError:
        out.problems.append(_problem(file, "工作簿设置了打开密码，无法读取", value=path.suffix,
                                     check="unreadable", expected="去掉打开密码后另存的工作簿"))
        return out
    except Exception as exc:  # calamine's errors for a file that is no workbook at all
        out.problems.append(_problem(
            file, f"无法读取电子表格（{str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__}）",
            value=path.suffix, check="unreadable",
            expected="Excel（.xlsx、.xls、.xlsb）、WPS（.et）或 OpenDocument（.ods）工作簿"))
        return out
    sheets = []
    with wb:
        for meta in wb.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible or meta.typ != SheetTypeEnum.WorkSheet:
                continue
            try:
                sheet = wb.get_sheet_by_name(meta.name)
                sheets.append((meta.name, sheet, sheet.to_python(skip_empty_area=False)))
            except Exception as exc:  # one damaged sheet: the others can still be judged
                out.problems.append(_problem(
                    file, f"工作表无法读取（{str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__}）",
                    sheet=meta.name, check="unreadable", expected="完好的工作表"))
    # Parsing a sheet is the slow part: the targets header is looked for in what was read.
    if any(_is_catalogue(grid[:HEADER_SCAN_ROWS]) for _, _, grid in sheets):
        out.catalogue = True
        out.problems = []
        return out
    if any(_is_targets(grid[:HEADER_SCAN_ROWS]) for _, _, grid in sheets):
        out.targets = True
        out.problems = []
        return out
    for name, sheet, grid in sheets:
        _read_grid(file, path, name, grid, "xlsx", out, indicators,
                   merges_for=lambda s=sheet, n=name, g=grid: _sheet_merges(path, s, n, g))
    if out.observations or out.events:
        # A workbook's extra sheets (填报说明, 目录 …) are not tables: skip them, say so.
        out.problems = [dataclasses.replace(
            p, severity="warning", message="工作表中没有可识别的表头，已跳过", expected=None)
            if p.check == "no_header" else p for p in out.problems]
    if not out.observations and not out.events and not out.problems:
        out.problems.append(_problem(file, "工作簿中没有数据", check="empty_file",
                                     expected="至少一个带表头的工作表"))
    return out


def _is_catalogue(head: list) -> bool:
    from .catalogue_file import is_catalogue_table

    return is_catalogue_table(head)


def _is_targets(head: list) -> bool:
    from .targets import is_targets_table

    return is_targets_table(head)


def sheet_grids(path: Path):
    """(sheet, kind, rows) of each table-like part of a text or spreadsheet file (targets files)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        text, _ = decode_text(path.read_bytes())
        lines = text.splitlines()
        delimiter = _sniff_delimiter(lines[:HEADER_SCAN_ROWS])
        yield None, "csv", list(csv.reader(lines, delimiter=delimiter))
    elif suffix in SPREADSHEET_SUFFIXES:
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

        with open(path, "rb") as f:
            wb = CalamineWorkbook.from_filelike(f)
        with wb:
            for meta in wb.sheets_metadata:
                if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet:
                    yield meta.name, "xlsx", wb.get_sheet_by_name(meta.name).to_python(
                        skip_empty_area=False)


# --- Parquet -----------------------------------------------------------------------------
def _parquet_column_problem(file: str, name: str, col: pa.ChunkedArray) -> Problem | None:
    """A column the import cannot read as text: nested (struct, list), binary, or broken UTF-8."""
    kind = col.type
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind) \
            or pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type):
        return _problem(file, f"列“{name}”的类型是 {kind}，不是文字或数值", column=f"列“{name}”",
                        value=str(kind), check="unreadable", expected="文字（string）或数值列")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        offset = 0
        for chunk in col.chunks:
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                for k, v in enumerate(chunk.cast(pa.binary()).to_pylist()):
                    try:
                        (v or b"").decode("utf-8")
                    except UnicodeDecodeError:
                        return _problem(file, f"列“{name}”中有无效的 UTF-8 文字", row=offset + k + 1,
                                        column=f"列“{name}”", value=v[:24].hex(" "),
                                        check="encoding", expected="UTF-8 文字")
            offset += len(chunk)
    return None


def read_parquet(path: Path, indicators: IndicatorMatcher | None = None) -> FileRead:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = FileRead(path)
    file = out.file
    try:
        table = pq.read_table(path)
    except Exception as exc:  # ArrowInvalid, OSError …: a file that is not Parquet
        out.problems.append(_problem(file, f"无法读取 Parquet 文件：{str(exc).splitlines()[0][:120]}",
                                     check="unreadable", expected="Parquet 格式的长表"))
        return out
    names = table.column_names
    header = _find_header([names])
    if header is None or header.layout == "wide":
        out.problems.append(_problem(
            file, "Parquet 文件的列名不是长表", row=None, column="列名", value="、".join(names[:8]),
            check="missing_column", expected="列 region、indicator、period、value（或 乡镇、指标、期间、数值）"))
        return out
    if (problem := _two_columns_problem(file, None, header, names, "parquet")):
        out.problems.append(dataclasses.replace(problem, row=None))
        return out
    required = EVENT_REQUIRED if header.layout == "events" else LONG_REQUIRED
    problem = _missing_columns_problem(file, None, header, required, "parquet")
    if problem:
        problem = dataclasses.replace(problem, row=None, column="列名")
        out.problems.append(problem)
        return out
    for j, _ in header.roles.values():
        if (problem := _parquet_column_problem(file, names[j], table.column(j))):
            out.problems.append(problem)
            return out
    if header.layout == "events":
        body = ((k + 1, list(r.values())) for k, r in enumerate(table.to_pylist()))
        header = _Header(-1, "events", header.roles)
        out.events.append(_event_source(file, path, None, header, names, body, "parquet"))
        return out

    def text(col: pa.ChunkedArray) -> pa.ChunkedArray:
        if pa.types.is_floating(col.type):  # 2025.0 → "2025"; values keep their digits
            return pc.cast(col, pa.string())
        if pa.types.is_timestamp(col.type):
            col = pc.cast(col, pa.date32())
        return pc.fill_null(pc.utf8_trim_whitespace(pc.cast(col, pa.string())), "")

    columns = {}
    for role, (j, _) in header.roles.items():
        col = table.column(j)
        columns[role] = pc.fill_null(pc.cast(col, pa.string()), "") if role == "value" \
            else text(col)
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int32))
    source = _long_from_columns(file, path, None, header, names, columns, rows, "parquet")
    source.labels = {role: f"列“{names[j]}”" for role, (j, _) in header.roles.items()}
    source.labels.setdefault("region", source.labels.get("code", "列"))
    if source.unit_place is not None:  # a unit in a column's name: the names are not a row
        source.unit_place = (None, source.labels["value" if header.roles["value"][1]
                                                 else "indicator"])
        source.labels["unit"] = source.unit_place[1]
    if source.rows.num_rows == 0:
        out.problems.append(_problem(file, "表中没有数据行", check="empty_file",
                                     expected="至少一行数据"))
        return out
    out.observations.append(source)
    return out


# --- entry point ---------------------------------------------------------------------------
def display_name(path) -> str:
    """A file's name as a person should read it, also when the name's bytes are not UTF-8 (a zip
    made on a Chinese Windows holds GBK names): GBK when they read as GBK, else escaped bytes."""
    name = Path(path).name
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def read_file(path, indicators: IndicatorMatcher | None = None, *,
              layer: str | None = None) -> FileRead:
    """Read one file of any supported kind; problems that stop it being read are in `.problems`.

    This is the one place a failure inside a reader is caught: whatever a broken or hostile file
    does to a parser becomes a problem with the file, never a traceback. `layer` names the layer
    of a multi-layer boundary file (GeoPackage, KML).
    """
    path = Path(path)
    try:
        return _read_file(path, indicators, layer)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # MemoryError, RecursionError, a parser's own bug …
        out = FileRead(path)
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        out.problems.append(_problem(
            out.file, f"文件无法读取：读取时出错（{type(exc).__name__}{'：' + detail if detail else ''}）",
            value=path.suffix, check="unreadable",
            expected="完好的文件（可用制作它的软件重新打开、另存后再导入）"))
        return out


def _read_file(path: Path, indicators: IndicatorMatcher | None, layer: str | None) -> FileRead:
    from . import boundaries

    suffix = path.suffix.lower()
    if not path.is_file():
        out = FileRead(path)
        out.problems.append(_problem(out.file, "文件不存在", value=display_name(path.parent) + "/",
                                     check="unreadable", expected="一个存在的文件"))
        return out
    if suffix in CSV_SUFFIXES:
        return read_csv(path, indicators)
    if suffix in SPREADSHEET_SUFFIXES:
        return read_spreadsheet(path, indicators)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path, indicators)
    if suffix in boundaries.BOUNDARY_SUFFIXES:
        out = FileRead(path)
        result = boundaries.read_boundaries(path, layer=layer)
        out.boundaries = result
        out.problems.extend(result.problems)
        return out
    out = FileRead(path)
    out.problems.append(_problem(
        out.file, f"不支持的文件类型“{suffix or '（无扩展名）'}”", value=out.file,
        check="unsupported",
        expected="CSV（.csv/.txt）、Excel（.xlsx/.xls/.xlsb）、WPS（.et）、OpenDocument（.ods）、"
                 "Parquet，或边界文件 GeoJSON、Shapefile（.shp）、GeoPackage（.gpkg）、KML、"
                 "MapInfo（.tab/.mif）"))
    return out
