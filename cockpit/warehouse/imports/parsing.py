"""Recognising a table's shape and reading its facts: which row is the header and what each column
holds (long tables, wide sheets with merged headings and periods across, event records, a
catalogue, plan targets), periods as departments write them, numbers, units in headers and titles.

Parsing turns a grid of cells (or columns read by a reader) into sources of raw text with their
place in the file; only what stops a table being read at all (no header, a missing column) is a
problem here: `validation` judges the rest.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

from .matching import PAREN_TAIL, IndicatorMatcher, Match, normalise_unit
from .problems import Problem, column_label, display_name, file_problem
from .text import cell_text, normalise

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


_UNIT_IN_TEXT = re.compile(r"(?:计量)?单位\s*[:：]\s*([^\s,，;；)）]+)")


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
    boundaries: object | None = None     # readers.vector.BoundaryFile
    problems: list[Problem] = field(default_factory=list)
    targets: bool = False                # a targets file (规划目标): `targets` reads it
    catalogue: bool = False              # a catalogue file (指标目录): `catalogue` reads it

    @property
    def file(self) -> str:
        return display_name(self.path)


# --- header roles -------------------------------------------------------------------------------
def synonyms(*names: str) -> set[str]:
    return {normalise(n).lower() for n in names}


ROLES: dict[str, set[str]] = {
    "region": synonyms("乡镇", "乡镇街道", "乡镇（街道）", "乡镇(街道)", "街道乡镇", "地区", "区域", "行政区划",
                       "行政区", "地区名称", "乡镇名称", "乡镇街道名称", "所属乡镇", "单位名称", "region",
                       "region_name", "township", "area"),
    "code": synonyms("区划代码", "行政区划代码", "地区代码", "乡镇代码", "代码", "编码", "region_code",
                     "code"),
    "indicator": synonyms("指标", "指标名称", "指标代码", "指标项", "指标项目", "indicator",
                          "indicator_code", "indicator_name"),
    "period": synonyms("期间", "时间", "月份", "统计期", "统计期间", "报告期", "日期", "年月", "统计时间",
                       "所属期", "统计月份", "period", "month", "date"),
    "value": synonyms("数值", "值", "指标值", "数据", "本期值", "本期数", "统计值", "value"),
    "unit": synonyms("单位", "计量单位", "unit"),
}
EVENT_ROLES: dict[str, set[str]] = {
    "id": synonyms("编号", "事件编号", "工单号", "工单编号", "事件id", "id"),
    "region": ROLES["region"],
    "source": synonyms("来源", "事件来源", "渠道", "平台", "来源平台", "source"),
    "category": synonyms("类别", "事件类别", "类型", "事件类型", "分类", "category"),
    "summary": synonyms("摘要", "事件摘要", "内容", "事件内容", "描述", "事件描述", "诉求内容", "summary"),
    "reported_at": synonyms("上报时间", "受理时间", "登记时间", "发生时间", "报送时间", "reported_at"),
    "deadline_at": synonyms("办理期限", "期限", "截止时间", "限办时间", "办结期限", "deadline_at"),
    "closed_at": synonyms("办结时间", "完成时间", "结案时间", "处置完成时间", "closed_at"),
    "status": synonyms("状态", "办理状态", "处置状态", "status"),
    "lon": synonyms("经度", "lon", "lng", "longitude"),
    "lat": synonyms("纬度", "lat", "latitude"),
}
ROLE_NAMES = {"region": "乡镇（街道）", "code": "区划代码", "indicator": "指标", "period": "期间",
              "value": "数值", "unit": "单位", "id": "编号", "source": "来源", "category": "类别",
              "summary": "摘要", "reported_at": "上报时间", "deadline_at": "办理期限",
              "closed_at": "办结时间", "status": "状态", "lon": "经度", "lat": "纬度"}
EVENT_REQUIRED = ("region", "source", "category", "summary", "reported_at")
LONG_REQUIRED = ("region", "indicator", "period", "value")
# Columns of a wide sheet that are not periods and are skipped without a word.
SKIP_HEADERS = synonyms("序号", "编号", "备注", "合计", "小计", "全年", "累计", "全年累计", "年度累计",
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
    if m := PAREN_TAIL.match(n):
        inner_role, _ = _header_role(m.group(1), roles)
        if inner_role is not None:
            return inner_role, normalise_unit(m.group(2))
    bare = re.sub(r"[(（][^()（）]*[)）]", "", n)  # 乡镇（街道）代码 → 乡镇代码
    if bare != n and bare:
        return _header_role(bare, roles)
    return None, None


def roles_in_row(row: Sequence, roles: dict[str, set[str]]) -> dict[str, tuple[int, str | None]]:
    found: dict[str, tuple[int, str | None]] = {}
    for j, v in enumerate(row):
        role, unit = _header_role(cell_text(v), roles)
        if role is not None and role not in found:
            found[role] = (j, unit)
    return found


def is_note(row: Sequence) -> bool:
    first = next((cell_text(v) for v in row if cell_text(v)), "")
    return bool(first) and bool(_NOTE.match(unicodedata.normalize("NFKC", first)))


def is_blank(row: Sequence) -> bool:
    return not any(cell_text(v) for v in row)


@dataclass
class Header:
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


def find_header(head: list[Sequence]) -> Header | None:
    """The header row among the first rows: the one naming the region column."""
    best_partial = None
    for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
        event_roles = roles_in_row(row, EVENT_ROLES)
        if "reported_at" in event_roles and len(event_roles) >= 3:
            return Header(i, "events", event_roles)
        roles = roles_in_row(row, ROLES)
        if "indicator" in roles and "value" in roles:
            return Header(i, "long", roles, _other_columns(row, roles))
        if "region" in roles or "code" in roles:
            if "indicator" in roles or "value" in roles or "period" in roles:
                best_partial = best_partial or Header(i, "long", roles)
                continue
            return Header(i, "wide", roles)
    return best_partial


def missing_columns_problem(file, sheet, header: Header, required, kind) -> Problem | None:
    missing = [r for r in required if r not in header.roles
               and not (r == "region" and "code" in header.roles)]
    if not missing:
        return None
    return columns_missing(file, sheet, header.index, missing, required, ROLE_NAMES)


def columns_missing(file, sheet, header_index: int, missing, required,
                    names: dict[str, str]) -> Problem:
    """表头缺少“…”列, at the header row; `names` are the roles' column names in messages."""
    listed = "、".join(f"“{names[r]}”" for r in missing)
    want = "、".join(names[r] for r in required)
    return file_problem(file, f"表头缺少{listed}列", sheet=sheet, row=header_index + 1,
                        column="表头", expected=f"表头包含 {want} 各列", check="missing_column")


def body_rows(grid: list[Sequence], header_index: int) -> list[tuple[int, Sequence]]:
    """The rows under a header with their numbers as a person counts them (from 1): blank rows
    skipped, none from the first note (注：…, 数据来源：…) on."""
    body = []
    for number, row in enumerate(grid[header_index + 1:], start=header_index + 2):
        if is_blank(row):
            continue
        if is_note(row):
            break
        body.append((number, row))
    return body


# --- long tables -----------------------------------------------------------------------------
def long_from_columns(file: str, path: Path, sheet: str | None, header: Header,
                      header_cells: Sequence, columns: dict[str, pa.Array], rows: pa.Array,
                      kind: str) -> ObservationSource:
    roles = header.roles
    labels = {role: column_label(kind, j, cell_text(header_cells[j]) if j < len(header_cells)
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


def _wide_source(file: str, path: Path, sheet: str | None, grid: list[list], header: Header,
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
        if not cell and is_blank(row):
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
                unit_place = (r + 1, column_label(kind, j, text))
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
        problems.append(file_problem(file, message, sheet=sheet, row=1 if title else None,
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
        label = column_label(kind, j, heading)
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
                problems.append(file_problem(
                    file, "列标题只有月份或季度，标题和表头中都没有年份", sheet=sheet, row=h + 1,
                    column=label, value=heading, check="bad_period",
                    expected="表头或标题写明年份，如“2025年6月”"))
                continue
            if re.search(r"\d|月|季|年", heading):
                problems.append(file_problem(
                    file, "列标题不是可识别的期间", sheet=sheet, row=h + 1, column=label,
                    value=heading, check="bad_period",
                    expected="期间，如 2025年6月、2025-06、2025年二季度、2025年"))
            else:
                ignored.append(label)
            continue
        period_cols.append((j, label, heading))
    if not period_cols:
        problems.append(file_problem(file, "表头中没有期间列", sheet=sheet, row=h + 1, column="表头",
                                     check="missing_column",
                                     expected="乡镇（街道）列右侧每列一个期间，如 2025年1月 … 2025年12月"))
        return None
    # Body rows, until notes begin.
    body = body_rows(grid, d - 1)
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
    labels = {"region": column_label(kind, rcol, region_header),
              "indicator": f"标题“{title}”" if title else f"工作表“{sheet}”",
              "unit": unit_place[1] if unit_place else "单位"}
    return ObservationSource(file, path, sheet, "wide", table, labels, ignored, title, unit_place)


# --- events ----------------------------------------------------------------------------------
def event_source(file: str, path: Path, sheet: str | None, header: Header,
                 header_cells: Sequence, body: Iterable[tuple[int, Sequence]],
                 kind: str) -> EventSource:
    labels = {role: column_label(kind, j, cell_text(header_cells[j]))
              for role, (j, _) in header.roles.items()}
    rows = []
    for number, row in body:
        if is_blank(row):
            continue
        if is_note(row):
            break
        record = {"_row": number}
        for role, (j, _) in header.roles.items():
            v = row[j] if j < len(row) else None
            record[role] = v if isinstance(v, (datetime, date)) else cell_text(v)
        rows.append(record)
    return EventSource(file, path, sheet, rows, labels)


# --- grids to sources --------------------------------------------------------------------------
def read_grid(file: str, path: Path, sheet: str | None, grid: list[list], kind: str,
              out: FileRead, indicators: IndicatorMatcher | None, merges_for=None) -> None:
    """Classify one sheet (or CSV) by its header and read it as long, wide or events."""
    head = grid[:HEADER_SCAN_ROWS]
    header = find_header(head)
    if header is None:
        if all(is_blank(r) for r in head):
            if sheet is not None:
                return  # an empty extra sheet is no problem
            out.problems.append(file_problem(file, "文件中没有数据", sheet=sheet, check="empty_file",
                                             expected="带表头的数据表"))
            return
        out.problems.append(file_problem(
            file, f"前{HEADER_SCAN_ROWS}行中找不到表头", sheet=sheet, row=1, column="表头",
            check="no_header",
            expected="长表表头：乡镇（街道）、指标、期间、数值；或宽表：乡镇（街道）列加各期间列；"
                     "或事件表：乡镇、来源、类别、摘要、上报时间"))
        return
    if (problem := two_columns_problem(file, sheet, header, head[header.index], kind)):
        out.problems.append(problem)
        return
    header_cells = head[header.index]
    first_body = header.index + 1
    if header.layout == "events":
        problem = missing_columns_problem(file, sheet, header, EVENT_REQUIRED, kind)
        if problem:
            out.problems.append(problem)
            return
        body = ((k + 1, grid[k]) for k in range(first_body, len(grid)))
        out.events.append(event_source(file, path, sheet, header, header_cells, body, kind))
        return
    if header.layout == "long":
        problem = missing_columns_problem(file, sheet, header, LONG_REQUIRED, kind)
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
        out.problems.append(file_problem(file, "表中没有数据行", sheet=sheet, row=header.index + 1,
                                         check="empty_file", expected="表头下至少一行数据"))
        return
    out.observations.append(source)


def two_columns_problem(file, sheet, header: Header, cells: Sequence, kind) -> Problem | None:
    """Two columns that could each be the values (数值 and 本期数 …): which one is meant is asked."""
    for role, columns in header.others.items():
        first = header.roles[role][0]
        labels = [column_label(kind, j, cell_text(cells[j])) for j in (first, *columns)]
        return file_problem(
            file, f"表头中有 {len(labels)} 列都可以是“{ROLE_NAMES[role]}”：{'、'.join(labels)}，"
                  "不知道该导入哪一列", sheet=sheet, row=header.index + 1, column=labels[1],
            value=cell_text(cells[columns[0]]), check="ambiguous_column",
            expected=f"只保留一列“{ROLE_NAMES[role]}”，另一列删去或改名（如“备注”）")
    return None


def table_rows(columns: list[pa.Array], rows: pa.Array) -> tuple[list[pa.Array], pa.Array]:
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


def _long_from_grid(file: str, path: Path, sheet: str | None, header: Header,
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
    arrays, rows = table_rows(arrays, rows)
    by_index = dict(zip(wanted, arrays))
    columns = {role: by_index[j] for role, (j, _) in header.roles.items()}
    return long_from_columns(file, path, sheet, header, header_cells, columns, rows, kind)


# --- the other kinds of table: a catalogue (指标目录), plan targets (规划目标) ---------------
CATALOGUE_ROLES = {
    "code": synonyms("代码", "指标代码", "编码", "指标编码", "code"),
    "name": synonyms("名称", "指标名称", "指标", "name"),
    "name_en": synonyms("英文名称", "英文名", "name_en", "english"),
    "domain": synonyms("领域", "所属领域", "板块", "domain"),
    "unit": synonyms("单位", "计量单位", "unit"),
    "polarity": synonyms("方向", "指标方向", "极性", "正负向", "指标属性", "polarity"),
    "frequency": synonyms("频度", "报送频度", "频率", "更新频度", "frequency"),
    "aggregation": synonyms("汇总方式", "汇总", "汇总规则", "乡镇汇总", "汇总口径", "aggregation"),
    "department": synonyms("牵头单位", "来源部门", "责任单位", "数据来源", "责任部门", "department"),
    "definition": synonyms("口径", "指标口径", "定义", "指标解释", "统计口径", "definition"),
    "definition_en": synonyms("英文口径", "口径（英文）", "口径(英文)", "definition_en",
                              "english definition"),
    "sensitivity": synonyms("敏感度", "公开属性", "是否公开", "密级", "sensitivity"),
    "baseline_value": synonyms("基期值", "基期数", "baseline_value", "baseline"),
    "baseline_year": synonyms("基期年份", "基期年", "baseline_year"),
    "target_value": synonyms("目标值", "目标", "target_value", "target"),
    "target_year": synonyms("目标年份", "目标年", "target_year"),
    "decimals": synonyms("小数位", "小数位数", "decimals"),
    "headline": synonyms("核心指标", "重点指标", "首页展示", "headline"),
    "annual": synonyms("年度口径", "年度值", "全年口径", "annual"),
}
# Header cells of a targets table: role → the names a department writes.
TARGETS_ROLES = {
    "indicator": ROLES["indicator"],
    "target_year": synonyms("目标年份", "目标年", "目标年度", "target_year"),
    "target_value": synonyms("目标值", "目标", "目标数", "预计目标", "规划目标", "target_value",
                             "target"),
    "baseline_year": synonyms("基期年份", "基期年", "基期年度", "基期", "baseline_year"),
    "baseline_value": synonyms("基期值", "基期数", "基期完成情况", "基期水平",
                               "baseline_value", "baseline"),
    "source": synonyms("来源文件", "来源", "规划文件", "依据", "出处", "source"),
    "plan": synonyms("规划", "规划名称", "计划", "plan"),
    "unit": ROLES["unit"],
}


def is_catalogue_table(head: list) -> bool:
    """Whether a table's first rows hold a catalogue's header (代码, 领域, 单位, and 汇总方式 or 方向)."""
    return catalogue_header(head) is not None


def catalogue_header(head: list) -> tuple[int, dict] | None:
    for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
        roles = roles_in_row(row, CATALOGUE_ROLES)
        if {"code", "domain", "unit"} <= set(roles) and (
                "aggregation" in roles or "polarity" in roles):
            return i, roles
    return None


def targets_header(head: list) -> tuple[int, dict] | None:
    for i, row in enumerate(head[:HEADER_SCAN_ROWS]):
        roles = roles_in_row(row, TARGETS_ROLES)
        if "target_value" in roles and "target_year" in roles:
            return i, roles
    return None


def is_targets_table(head: list) -> bool:
    """Whether a table's first rows hold a targets table's header (目标值 and 目标年份)."""
    return targets_header(head) is not None
