"""Indicator catalogue files (指标目录): a county's indicator definitions as a sheet, read, judged and
written as the `indicators` table.

One row per indicator: 代码, 名称, 领域, 单位, 方向, 频度, 汇总方式, and optionally 牵头单位, 口径, 敏感度,
基期值, 基期年份, 目标值, 目标年份, 英文名称, 小数位, 核心指标, 年度口径. Values may be written in Chinese
(越高越好, 月度, 人口加权平均, 内部) or as the codes the warehouse stores (higher, month, pop_mean,
internal). A file is recognised by its header (代码, 领域, 单位 and 汇总方式 or 方向), so `cockpit new
--catalogue`, `cockpit import`, `cockpit watch` and the import dialog all take it; every problem
is named by file, sheet, row and column. An import adds or updates indicators by code and is
judged against the data: an indicator that has observations keeps its unit and frequency.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa

from ...core.catalogue import DOMAINS, Indicator
from .parsing import PLACEHOLDERS, body_rows, catalogue_header, parse_number
from .problems import ImportBatch, Problem, Report, SourceSummary, column_label, display_name
from .readers import headed_tables
from .text import cell_text, normalise

_KIND = "指标目录"
NAMES = {"code": "代码", "name": "名称", "name_en": "英文名称", "domain": "领域", "unit": "单位",
         "polarity": "方向", "frequency": "频度", "aggregation": "汇总方式",
         "department": "牵头单位", "definition": "口径", "definition_en": "英文口径",
         "sensitivity": "敏感度",
         "baseline_value": "基期值", "baseline_year": "基期年份", "target_value": "目标值",
         "target_year": "目标年份", "decimals": "小数位", "headline": "核心指标",
         "annual": "年度口径"}
REQUIRED = ("code", "name", "domain", "unit", "polarity", "frequency", "aggregation")


def _words(**table: tuple[str, ...]) -> dict[str, str]:
    return {normalise(w).lower(): code for code, words in table.items()
            for w in (code, *words)}


DOMAIN_WORDS = _words(**{code: (zh, en) for code, (zh, en) in DOMAINS.items()})
POLARITY_WORDS = _words(higher=("越高越好", "越大越好", "正向", "正向指标", "正", "↑"),
                        lower=("越低越好", "越小越好", "负向", "逆向", "负向指标", "负", "↓"),
                        neutral=("中性", "适度", "无方向", "中性指标"))
FREQUENCY_WORDS = _words(month=("月", "月度", "按月", "每月", "monthly"),
                         quarter=("季", "季度", "按季", "按季度", "每季", "quarterly"),
                         year=("年", "年度", "按年", "每年", "yearly", "annual"))
AGGREGATION_WORDS = _words(sum=("合计", "求和", "加总", "累加", "总和", "total"),
                           mean=("平均", "算术平均", "均值", "平均值", "avg"),
                           pop_mean=("人口加权平均", "按人口加权", "加权平均", "人口加权"),
                           county_only=("仅全县", "只统计全县", "不分乡镇", "县级", "仅县级"))
SENSITIVITY_WORDS = _words(public=("公开", "是", "可公开"), internal=("内部", "不公开", "否", "敏感"))
ANNUAL_WORDS = _words(total=("全年合计", "合计", "累计值"), mean=("全年平均", "平均"),
                      year_end=("年末", "年末值", "期末"), ytd=("年内累计", "12月值", "累计"))
_EXPECTED = {
    "domain": "、".join(zh for zh, _ in DOMAINS.values()),
    "polarity": "越高越好、越低越好 或 中性",
    "frequency": "月度、季度 或 年度",
    "aggregation": "合计、平均、人口加权平均 或 仅全县",
    "sensitivity": "公开 或 内部",
    "annual": "全年合计、全年平均、年末 或 年内累计",
}
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
# Counts are whole numbers; everything else gets one decimal unless the sheet says otherwise.
_WHOLE_UNITS = {"件", "件次", "起", "个", "户", "人", "人次", "张", "次", "家", "项", "天"}
_TRUE = {"是", "√", "✓", "y", "yes", "true", "1", "核心"}


@dataclass
class _Table:
    file: str
    sheet: str | None
    kind: str
    roles: dict
    header_cells: list
    rows: list[tuple[int, list]]

    def label(self, role: str) -> str:
        j = self.roles[role][0]
        header = cell_text(self.header_cells[j]) if j < len(self.header_cells) else ""
        return column_label(self.kind, j, header)

    def cell(self, row: list, role: str) -> str:
        if role not in self.roles:
            return ""
        j = self.roles[role][0]
        return cell_text(row[j]) if j < len(row) else ""


def _tables(path: Path, problems: list[Problem]) -> list[_Table]:
    file = display_name(path)
    tables = [_Table(file, sheet, kind, roles, rows[index], body_rows(rows, index))
              for sheet, kind, rows, index, roles
              in headed_tables(path, catalogue_header, REQUIRED, NAMES, "指标目录", problems)]
    if not tables and not problems:
        problems.append(Problem("error", "no_header", file, message="文件中没有指标目录表",
                                expected="表头包含 " + "、".join(NAMES[r] for r in REQUIRED)))
    return tables


def read_catalogue(path) -> tuple[list[Indicator], list[Problem], list[SourceSummary]]:
    """Indicators of a catalogue file in its order, the problems found, and what was read.

    Judged on its own (names, codes, the words of each column); `check_catalogue` also judges
    it against a warehouse's data."""
    path = Path(path)
    problems: list[Problem] = []
    out: list[Indicator] = []
    summaries: list[SourceSummary] = []
    seen_code: dict[str, str] = {}
    seen_name: dict[str, str] = {}
    for table in _tables(path, problems):
        headline_given = "headline" in table.roles
        here: list[Indicator] = []
        for number, cells in table.rows:
            ind = _row(table, number, cells, problems)
            if ind is None:
                continue
            where = f"第{number}行" + (f"（工作表“{table.sheet}”）" if table.sheet else "")
            for key, seen, what in ((ind.code, seen_code, "代码"), (ind.name, seen_name, "名称")):
                if key in seen:
                    role = "code" if what == "代码" else "name"
                    problems.append(Problem(
                        "error", "duplicate_conflict", table.file, table.sheet, number,
                        table.label(role), key, f"每项指标的{what}只出现一次",
                        f"指标{what}“{key}”与{seen[key]}重复"))
                    ind = None
                    break
            if ind is None:
                continue
            seen_code[ind.code] = seen_name[ind.name] = where
            here.append(ind)
        if not headline_given:
            # No 核心指标 column: the first four of each domain go on the KPI cards.
            count: dict[str, int] = {}
            for k, ind in enumerate(here):
                count[ind.domain] = count.get(ind.domain, 0) + 1
                here[k] = replace(ind, headline=count[ind.domain] <= 4)
        out += here
        summaries.append(SourceSummary(table.file, table.sheet, _KIND, len(table.rows),
                                       [i.name for i in here]))
    if not out and not any(p.is_error for p in problems):
        problems.append(Problem("error", "empty_file", display_name(path),
                                message="指标目录中没有指标", expected="每行一项指标"))
    return out, problems, summaries


def _row(table: _Table, number: int, cells: list, problems: list[Problem]) -> Indicator | None:
    def error(role, message, value, expected, check="bad_value"):
        problems.append(Problem("error", check, table.file, table.sheet, number,
                                table.label(role), value, expected, message))

    ok = True
    code = normalise(table.cell(cells, "code"))
    name = table.cell(cells, "name").strip()
    if not code:
        error("code", "指标代码为空", code, "字母开头的代码，如 eco_industry_va", "missing_value")
        ok = False
    elif not _CODE.match(code):
        error("code", f"指标代码“{code}”只能由字母、数字和下划线组成，且以字母开头", code,
              "如 eco_industry_va")
        ok = False
    if not name:
        error("name", "指标名称为空", name, "指标的中文名称", "missing_value")
        ok = False
    chosen = {}
    for role, words in (("domain", DOMAIN_WORDS), ("polarity", POLARITY_WORDS),
                        ("frequency", FREQUENCY_WORDS), ("aggregation", AGGREGATION_WORDS),
                        ("sensitivity", SENSITIVITY_WORDS), ("annual", ANNUAL_WORDS)):
        text = table.cell(cells, role)
        if not text and role in ("sensitivity", "annual"):
            chosen[role] = "public" if role == "sensitivity" else None
            continue
        found = words.get(normalise(text).lower())
        if found is None:
            what = "为空" if not text else f"“{text}”无法识别"
            error(role, f"{NAMES[role]}{what}", text, _EXPECTED[role],
                  "missing_value" if not text else "unknown_value")
            ok = False
        chosen[role] = found
    unit = normalise(table.cell(cells, "unit"))
    if unit in ("—", "-", "无", "/"):
        unit = ""
    if unit == "" and not table.cell(cells, "unit"):
        error("unit", "单位为空", "", "如 亿元、%、件；没有单位的指标写“无”", "missing_value")
        ok = False
    numbers = {}
    for role in ("baseline_value", "target_value"):
        text = table.cell(cells, role)
        value, kind = parse_number(text)
        if kind in ("not_number", "too_large"):
            error(role, f"{NAMES[role]}“{text}”不是数值", text, "数值，如 95 或 1,250.5")
            ok = False
        numbers[role] = value
    years = {}
    for role in ("baseline_year", "target_year"):
        text = table.cell(cells, role)
        if not text or normalise(text).upper() in PLACEHOLDERS:
            years[role] = None
            continue
        t = normalise(text).removesuffix("年度").removesuffix("年")
        if not (re.fullmatch(r"\d{4}", t) and 1900 <= int(t) <= 2200):
            error(role, f"{NAMES[role]}“{text}”不是年份", text, "四位年份，如 2025")
            ok = False
            continue
        years[role] = int(t)
    for value_role, year_role in (("baseline_value", "baseline_year"),
                                  ("target_value", "target_year")):
        if numbers.get(value_role) is not None and not table.cell(cells, year_role):
            error(year_role if year_role in table.roles else value_role,
                  f"给了{NAMES[value_role]}却没有{NAMES[year_role]}",
                  table.cell(cells, value_role), f"同一行填写{NAMES[year_role]}", "missing_value")
            ok = False
    decimals = 0 if unit in _WHOLE_UNITS else 1
    text = normalise(table.cell(cells, "decimals"))
    if text:
        if text.isdigit() and int(text) <= 6:
            decimals = int(text)
        else:
            error("decimals", f"小数位“{text}”不是 0 到 6 的整数", text, "0 到 6 的整数")
            ok = False
    if not ok:
        return None
    return Indicator(
        code=code, name=name, name_en=table.cell(cells, "name_en"), domain=chosen["domain"],
        unit=unit, polarity=chosen["polarity"], frequency=chosen["frequency"],
        aggregation=chosen["aggregation"], department=table.cell(cells, "department"),
        definition=table.cell(cells, "definition"),
        definition_en=table.cell(cells, "definition_en"), sensitivity=chosen["sensitivity"],
        baseline_value=numbers["baseline_value"], baseline_year=years["baseline_year"],
        target_value=numbers["target_value"], target_year=years["target_year"],
        decimals=decimals,
        headline=normalise(table.cell(cells, "headline")).lower() in _TRUE,
        annual=chosen["annual"])


def check_catalogue(report: Report, batch: ImportBatch, paths, queries) -> None:
    """Read and judge catalogue files against the warehouse's data; append problems and
    summaries to `report` and, when there is no error, the indicators to `batch.indicators`."""
    errors_before = len(report.errors)
    found: list[Indicator] = []
    rows_of: dict[str, tuple[str, str | None, int | None]] = {}
    for path in paths:
        indicators, problems, summaries = read_catalogue(path)
        report.problems += problems
        report.sources += summaries
        found += indicators
        for s in summaries:
            batch.log.append({"file": s.file, "sheet": s.sheet, "kind": "catalogue",
                              "indicator": None, "department": None, "rows": s.rows,
                              "first_period": None, "last_period": None})
        file = display_name(path)
        for table in _tables(path, []):
            for number, cells in table.rows:
                rows_of.setdefault(normalise(table.cell(cells, "code")),
                                   (file, table.sheet, number))
    counts = dict(queries.snapshot.cursor().execute(
        "SELECT indicator, count(*) FROM observations GROUP BY indicator").fetchall())
    township_rows = dict(queries.snapshot.cursor().execute(
        "SELECT o.indicator, count(*) FROM observations o JOIN regions r ON r.code = o.region"
        " WHERE r.level = 'township' GROUP BY o.indicator").fetchall())
    for ind in found:
        old = queries.indicator_by_code.get(ind.code)
        n = counts.get(ind.code, 0)
        if old is None or not n:
            continue
        file, sheet, number = rows_of.get(ind.code, (None, None, None))
        for field, label in (("unit", "单位"), ("frequency", "频度")):
            before, after = getattr(old, field), getattr(ind, field)
            if before != after:
                shown = {"month": "月度", "quarter": "季度", "year": "年度"}
                report.problems.append(Problem(
                    "error", f"{field}_change", file or "", sheet, number, NAMES[field],
                    shown.get(after, after),
                    f"“{shown.get(before, before)}”（与已有数据一致）",
                    f"指标“{old.name}”已有 {n:,} 条数据，{label}不能由“{shown.get(before, before)}”"
                    f"改为“{shown.get(after, after)}”：请另设新的指标代码，或先换算全部数据后用"
                    f" cockpit import --replace 重新导入"))
        if ind.county_only and not old.county_only and township_rows.get(ind.code):
            report.problems.append(Problem(
                "error", "aggregation_change", file or "", sheet, number, NAMES["aggregation"],
                "仅全县", "合计、平均或人口加权平均（与已有乡镇数据一致）",
                f"指标“{old.name}”已有 {township_rows[ind.code]:,} 条乡镇数据，不能改为仅全县"))
    if found and len(report.errors) == errors_before:
        batch.indicators = indicators_table(found)


def indicators_table(indicators: list[Indicator]) -> pa.Table:
    """Indicators as rows of the `indicators` table (sort_order: their order)."""
    rows = [dict(i.as_row(), sort_order=k) for k, i in enumerate(indicators)]
    return pa.Table.from_pylist(rows)


def write_catalogue(con, batch: ImportBatch) -> None:
    """Add or update the batch's indicators by code (inside the publishing transaction): an
    indicator already there keeps its place in the catalogue, a new one goes to the end."""
    if batch.indicators is None or batch.indicators.num_rows == 0:
        return
    con.register("import_indicators", batch.indicators)
    con.execute("""
        CREATE TEMP TABLE catalogue_in AS
        SELECT n.* REPLACE (coalesce(o.sort_order,
                   (SELECT coalesce(max(sort_order), -1) FROM indicators) + 1 + n.sort_order)
                   AS sort_order)
        FROM import_indicators n LEFT JOIN indicators o ON o.code = n.code
    """)
    con.execute("DELETE FROM indicators WHERE code IN (SELECT code FROM catalogue_in)")
    con.execute("INSERT INTO indicators BY NAME SELECT * FROM catalogue_in")
    con.execute("DROP TABLE catalogue_in")
    con.unregister("import_indicators")
