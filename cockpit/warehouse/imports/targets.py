"""Targets files (规划目标): a plan's targets as a table, read, judged and turned into `targets` rows.

One row per indicator: 指标 (name or code), 目标年份, 目标值, and optionally 基期年份, 基期值 (empty
or “/”: the baseline year's figure in the data), 来源文件 (the plan document), 规划 (its name; else
read from the source, 《…“十五五”…》, or from the target year: 2030 → 十五五) and 单位. A file is
recognised by its header (目标值 and 目标年份), so `cockpit import`, `cockpit watch` and the import
dialog take it like any other file; every problem is named by file, sheet, row and column, and
one import replaces every target of each plan the file names. Targets are years' figures
(`core.plan.annual_basis`): a warning says so when a value looks like a month's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from ...core import plan as core
from .matching import normalise_unit
from .parsing import PLACEHOLDERS, body_rows, parse_number, targets_header
from .problems import ImportBatch, Problem, Report, SourceSummary, column_label, display_name
from .readers import headed_tables
from .text import cell_text, normalise

_KIND = "规划目标"
_NAMES = {"indicator": "指标", "target_year": "目标年份", "target_value": "目标值",
          "baseline_year": "基期年份", "baseline_value": "基期值", "source": "来源文件",
          "plan": "规划", "unit": "单位"}
REQUIRED = ("indicator", "target_year", "target_value")
_PLAN_IN_TEXT = re.compile(r"十[一二三四五六七八九]五")            # “十五五”
_PLAN_IN_TITLE = re.compile(r"第十([一二三四五六七八九])个五年")     # 第十五个五年规划
_COMPARISON = re.compile(r"^[>≥＞≧<≤＜≦]=?")
TARGETS_SCHEMA = pa.schema([
    ("plan", pa.string()), ("indicator", pa.string()), ("baseline_year", pa.int32()),
    ("baseline_value", pa.float64()), ("target_year", pa.int32()),
    ("target_value", pa.float64()), ("source", pa.string()), ("file", pa.string())])
# A baseline or target this many times (or this fraction of) the data's year figure is probably
# a month's figure, or in another unit.
SUSPECT_RATIO = 3.0


@dataclass
class _Table:
    file: str
    sheet: str | None
    kind: str                       # csv / xlsx
    header_row: int                 # 1-based
    roles: dict[str, tuple[int, str | None]]
    header_cells: list
    rows: list[tuple[int, list]]    # (1-based row, cells)


def _read(path: Path, problems: list[Problem]) -> list[_Table]:
    file = display_name(path)
    return [_Table(file, sheet, kind, index + 1, roles, rows[index], body_rows(rows, index))
            for sheet, kind, rows, index, roles
            in headed_tables(path, targets_header, REQUIRED, _NAMES, "目标表", problems)]


def _label(table: _Table, role: str) -> str:
    j = table.roles[role][0]
    header = cell_text(table.header_cells[j]) if j < len(table.header_cells) else ""
    return column_label(table.kind, j, header)


def _cell(table: _Table, row: list, role: str) -> str:
    if role not in table.roles:
        return ""
    j = table.roles[role][0]
    return cell_text(row[j]) if j < len(row) else ""


def _year(text: str) -> int | None:
    t = normalise(text).removesuffix("年度").removesuffix("年")
    if re.fullmatch(r"\d{4}", t) and 1900 <= int(t) <= 2200:
        return int(t)
    return None


def check_targets(report: Report, batch: ImportBatch, paths, queries, indicators) -> None:
    """Read and judge targets files; append problems and summaries to `report` and, when the
    files have no error, their rows to `batch.targets`."""
    problems = report.problems
    rows: list[dict] = []
    seen: dict[tuple[str, str], str] = {}
    errors_before = len(report.errors)
    for path in paths:
        path = Path(path)
        for table in _read(path, problems):
            plans_here: set[str] = set()
            for number, cells in table.rows:
                row = _check_row(table, number, cells, queries, indicators, problems)
                if row is None:
                    continue
                key = (row["plan"], row["indicator"])
                where = f"{table.file} 第{number}行"
                if key in seen:
                    name = queries.indicator_by_code[row["indicator"]].name
                    problems.append(Problem(
                        "error", "duplicate_conflict", table.file, table.sheet, number,
                        _label(table, "indicator"), name, "每个规划中每项指标只有一个目标",
                        f"与{seen[key]}重复：{row['plan']}规划中“{name}”有两个目标"))
                    continue
                seen[key] = where
                rows.append(row)
                plans_here.add(row["plan"])
            names = list(dict.fromkeys(queries.indicator_by_code[r["indicator"]].name
                                       for r in rows if r["file"] == table.file))
            report.sources.append(SourceSummary(table.file, table.sheet,
                                                f"{_KIND}：{'、'.join(sorted(plans_here))}"
                                                if plans_here else _KIND, len(table.rows),
                                                names))
            batch.log.append({"file": table.file, "sheet": table.sheet, "kind": "targets",
                              "indicator": None, "department": None,
                              "rows": len(table.rows),
                              "first_period": None, "last_period": None})
    if rows and len(report.errors) == errors_before:
        batch.targets = pa.Table.from_pylist(rows, schema=TARGETS_SCHEMA)


def _check_row(table: _Table, number: int, cells: list, queries, indicators,
               problems: list[Problem]) -> dict | None:
    """One row as a `targets` row, or None after adding its problems."""
    def error(role, message, value, expected, check):
        problems.append(Problem("error", check, table.file, table.sheet, number,
                                _label(table, role), value, expected, message))

    ok = True
    raw_indicator = _cell(table, cells, "indicator")
    match, unit_hint = indicators.resolve(raw_indicator)
    ind = queries.indicator_by_code.get(match.code) if match.code else None
    if ind is None:
        if match.status == "ambiguous":
            message = "指标名称不唯一：" + "、".join(match.candidates)
        elif raw_indicator:
            hint = f"，是否为“{match.suggestion}”？" if match.suggestion else ""
            message = f"指标“{raw_indicator}”不在指标目录中{hint}"
        else:
            message = "指标为空"
        error("indicator", message, raw_indicator, "指标目录中的指标名称或代码",
              "unknown_indicator")
        return None
    unit_seen = _cell(table, cells, "unit") or table.roles.get("target_value", (0, None))[1] \
        or unit_hint
    if unit_seen and normalise_unit(unit_seen) != normalise_unit(ind.unit):
        role = "unit" if "unit" in table.roles else "target_value"
        error(role, f"{ind.name}的单位是“{ind.unit}”，不是“{unit_seen}”", unit_seen,
              f"“{ind.unit}”（按指标目录的单位填写目标）", "wrong_unit")
        ok = False

    values = {}
    for role in ("target_value", "baseline_value"):
        text = _COMPARISON.sub("", normalise(_cell(table, cells, role)))
        value, kind = parse_number(text)
        if kind == "placeholder":
            values[role] = None
            if role == "target_value":
                error(role, "目标值为空", _cell(table, cells, role), "数值，如 95 或 95%",
                      "missing_value")
                ok = False
            continue
        if kind == "not_number":
            error(role, f"{_NAMES[role]}不是数值", _cell(table, cells, role),
                  "数值，如 95、95% 或 1,250.5", "not_number")
            ok = False
            continue
        if kind == "percent" and not ind.is_rate:
            error(role, f"{ind.name}的单位是“{ind.unit}”，不是百分比", _cell(table, cells, role),
                  f"以“{ind.unit}”计的数值", "wrong_unit")
            ok = False
            continue
        if ind.is_rate and not any(w in ind.name for w in ("增长", "降低", "下降", "增幅")) \
                and not 0 <= value <= 100:
            error(role, f"{ind.name}是百分比，{value:g} 不在 0–100 之间",
                  _cell(table, cells, role), "0 到 100 之间的百分比", "out_of_range")
            ok = False
            continue
        values[role] = value

    years = {}
    for role in ("target_year", "baseline_year"):
        text = _cell(table, cells, role)
        if not text or normalise(text).upper() in PLACEHOLDERS:
            years[role] = None
            if role == "target_year":
                error(role, "目标年份为空", text, "四位年份，如 2030", "missing_value")
                ok = False
            continue
        year = _year(text)
        if year is None:
            error(role, f"{_NAMES[role]}“{text}”不是年份", text, "四位年份，如 2030 或 2030年",
                  "bad_period")
            ok = False
        years[role] = year
    if values.get("baseline_value") is not None and not _cell(table, cells, "baseline_year"):
        error("baseline_value", "给了基期值却没有基期年份", _cell(table, cells, "baseline_value"),
              "同一行填写基期年份（如 2025）", "missing_value")
        ok = False
    target_year, baseline_year = years.get("target_year"), years.get("baseline_year")
    if target_year is not None and baseline_year is not None and target_year <= baseline_year:
        error("target_year", f"目标年份 {target_year} 不晚于基期年份 {baseline_year}",
              _cell(table, cells, "target_year"), f"晚于基期年份 {baseline_year} 的年份",
              "bad_period")
        ok = False
    if not ok:
        return None

    source = _cell(table, cells, "source") or Path(table.file).stem
    plan = _cell(table, cells, "plan")
    if not plan:
        found = _PLAN_IN_TEXT.search(source)
        titled = _PLAN_IN_TITLE.search(source)
        plan = found.group(0) if found else (f"十{titled.group(1)}五" if titled
                                             else core.plan_name(target_year))
    _warn_if_not_a_year_figure(table, number, ind, values, baseline_year, queries, problems)
    return {"plan": plan, "indicator": ind.code, "baseline_year": baseline_year,
            "baseline_value": values.get("baseline_value"), "target_year": target_year,
            "target_value": values["target_value"], "source": source, "file": table.file}


def _warn_if_not_a_year_figure(table: _Table, number: int, ind, values: dict,
                               baseline_year: int | None, queries,
                               problems: list[Problem]) -> None:
    """A flow's baseline and target are annual totals: one far from the data's year figure
    (the baseline year's, the last complete year's) gets a warning naming that figure."""
    if core.annual_basis(ind) != core.TOTAL:
        return
    series = queries.series(queries.county.code, ind.code)
    if not len(series.periods):
        return
    last = series.periods[-1].astype(object)
    last_year = last.year if last.month == 12 else last.year - 1
    words = core.BASIS_WORDS[core.TOTAL][0]
    for role, year in (("baseline_value", baseline_year), ("target_value", last_year)):
        value = values.get(role)
        if value is None or value <= 0 or year is None:
            continue
        figure = core.year_figure(ind, series.periods, series.values, date(year, 12, 1))
        if figure is None or not figure.complete or figure.value <= 0:
            continue
        ratio = value / figure.value
        if 1 / SUSPECT_RATIO <= ratio <= SUSPECT_RATIO:
            continue
        problems.append(Problem(
            "warning", "not_a_year_figure", table.file, table.sheet, number, _label(table, role),
            f"{value:g}", f"年度口径的数值（{ind.name}按{words}计）",
            f"{_NAMES[role]} {value:g} 与数据中 {year} 年{words} "
            f"{figure.value:,.{ind.decimals}f} {ind.unit} 相差悬殊，目标与基期应为全年数，而不是单月数"))


def write_targets(con, batch: ImportBatch) -> None:
    """Replace every target of each plan in the batch (inside the publishing transaction)."""
    if batch.targets is None or batch.targets.num_rows == 0:
        return
    con.register("import_targets", batch.targets)
    con.execute("DELETE FROM targets WHERE plan IN (SELECT DISTINCT plan FROM import_targets)")
    con.execute("INSERT INTO targets BY NAME SELECT * FROM import_targets")
    con.unregister("import_targets")
