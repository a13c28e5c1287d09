"""Checking indicator values, each check one query over all rows: names and periods resolved,
numbers, frequencies, unfinished periods, units, impossible and implausible values, duplicates,
jumps from the period before, and a county's figure against its townships' aggregate.
"""
from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Callable

import numpy as np
import pyarrow as pa

from ....core.formatting import period_label
from ...levels import AGGREGATION_WORDS, TOLERANCE, disagreements
from ..matching import normalise_unit
from ..parsing import parse_number, parse_period
from ..problems import MAX_DETAILS, ImportBatch, Problem, Report, SourceSummary

JUMP_RATIO = 10.0         # a value this many times the previous period's is worth a second look
# A value this many times the largest any region of its level (the county: itself) ever had is
# no figure but a slip (a unit, a decimal point, a pasted ID): refused, not warned. The level's
# largest, not the region's own, so that a small township's first big year is not refused.
CEILING_RATIO = 1000.0
# Nothing as large as this is a county's figure, and float64 stops counting whole units here.
VALUE_LIMIT = 1e15
# Flows per resident and month above which a township's figure cannot be true, by base unit;
# the unit's 万/亿 prefix scales it. Levels (year_end) and means have no such ceiling.
PER_RESIDENT = {"元": 1e7, "千瓦时": 1e6, "户": 1e3, "件": 1e3, "件次": 1e3, "起": 1e3, "人": 1e3,
                "人次": 1e3, "张": 1e3, "个": 1e3, "户次": 1e3}
_PREFIX = {"万": 1e4, "亿": 1e8, "千": 1e3, "百": 1e2}
# A TRY_CAST-able value inside the range the warehouse keeps (SQL over imp_rows r).
_PLAIN_VALUE = (f"coalesce(isfinite(TRY_CAST(r.value AS DOUBLE))"
                f" AND abs(TRY_CAST(r.value AS DOUBLE)) < {VALUE_LIMIT:.0e}, false)")
FREQ_NAMES = {"month": "按月", "quarter": "按季度", "year": "按年"}
FREQ_EXPECTED = {
    "month": "月份，如 2025-06 或 2025年6月",
    "quarter": "季度，如 2025年二季度、2025Q2 或季末月份 2025-06",
    "year": "年份，如 2025年 或 2025-12",
}
# Rates of change may be negative or above 100: their names say so.
_CHANGE_WORDS = ("增长率", "增速", "降低率", "下降率", "增幅", "变化率", "变动率", "同比", "环比")


# --- observations ---------------------------------------------------------------------------
def _indicator_table(queries) -> pa.Table:
    rows = []
    for i in queries.indicators:
        change = any(w in i.name for w in _CHANGE_WORDS)
        step = {"month": 1, "quarter": 3, "year": 12}[i.frequency]
        rows.append({"code": i.code, "name": i.name, "unit": i.unit, "frequency": i.frequency,
                     "aggregation": i.aggregation, "nonneg": not change,
                     "max100": i.unit == "%" and not change,
                     "change": i.unit == "%" and change,
                     "per_resident": _per_resident(i, step), "step": step})
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("code", pa.string()), ("name", pa.string()), ("unit", pa.string()),
        ("frequency", pa.string()), ("aggregation", pa.string()), ("nonneg", pa.bool_()),
        ("max100", pa.bool_()), ("change", pa.bool_()), ("per_resident", pa.float64()),
        ("step", pa.int64())]))


def _per_resident(indicator, step: int) -> float | None:
    """The most of a flow indicator one resident can account for in one period, in its unit."""
    if indicator.aggregation != "sum" or indicator.annual == "year_end":
        return None
    unit = indicator.unit
    scale = 1.0
    if unit[:1] in _PREFIX and unit[1:] in PER_RESIDENT:
        scale, unit = _PREFIX[unit[:1]], unit[1:]
    if unit not in PER_RESIDENT:
        return None
    return PER_RESIDENT[unit] * step / scale


def check_observations(report: Report, batch: ImportBatch, sources, queries, regions,
                       indicators, today: date) -> None:
    tables = []
    for k, s in enumerate(sources):
        tables.append(s.rows.append_column("src", pa.array(np.full(s.rows.num_rows, k, np.int32))))
    rows = pa.concat_tables(tables)
    cur = queries.snapshot.cursor().cursor()  # a private connection: temp tables die with it
    try:
        cur.execute(f"USE {queries.snapshot.ALIAS}")
        cur.register("imp_rows", rows)
        cur.register("imp_ind", _indicator_table(queries))

        # Resolve each distinct text once in Python; the rows join the answers in SQL.
        region_matches = {raw: regions.resolve(raw) for (raw,) in
                          cur.execute("SELECT DISTINCT region FROM imp_rows").fetchall()}
        indicator_matches = {raw: indicators.resolve(raw) for (raw,) in
                             cur.execute("SELECT DISTINCT indicator FROM imp_rows").fetchall()}
        periods = {raw: parse_period(raw) for (raw,) in
                   cur.execute("SELECT DISTINCT period FROM imp_rows").fetchall()}
        odd_values = {raw: parse_number(raw) for (raw,) in cur.execute(
            f"SELECT DISTINCT value FROM imp_rows r WHERE NOT ({_PLAIN_VALUE})").fetchall()}
        cur.register("imp_region_map", pa.table({
            "raw": pa.array(list(region_matches), pa.string()),
            "code": pa.array([m.code for m in region_matches.values()], pa.string())}))
        cur.register("imp_indicator_map", pa.table({
            "raw": pa.array(list(indicator_matches), pa.string()),
            "code": pa.array([m.code for m, _ in indicator_matches.values()], pa.string()),
            "unit_hint": pa.array([u for _, u in indicator_matches.values()], pa.string())}))
        cur.register("imp_period_map", pa.table({
            "raw": pa.array(list(periods), pa.string()),
            "period": pa.array([p.period if p else None for p in periods.values()], pa.date32()),
            "grain": pa.array([p.grain if p else None for p in periods.values()], pa.string())}))
        cur.register("imp_value_map", pa.table({
            "raw": pa.array(list(odd_values), pa.string()),
            "num": pa.array([v for v, _ in odd_values.values()], pa.float64()),
            "kind": pa.array([k for _, k in odd_values.values()], pa.string())}))
        cur.execute(f"""
            CREATE TEMP TABLE imp_res AS
            SELECT r.src, r.row, r.cell_col, r.region AS region_raw, r.indicator AS indicator_raw,
                   r.period AS period_raw, r.value AS value_raw,
                   coalesce(r.unit, im.unit_hint) AS unit_seen,
                   rm.code AS region, im.code AS indicator, pm.period, pm.grain,
                   CASE WHEN {_PLAIN_VALUE} THEN TRY_CAST(r.value AS DOUBLE)
                        ELSE vm.num END AS value,
                   CASE WHEN {_PLAIN_VALUE} THEN 'ok' ELSE vm.kind END AS value_kind
            FROM imp_rows r
            LEFT JOIN imp_region_map rm ON rm.raw = r.region
            LEFT JOIN imp_indicator_map im ON im.raw = r.indicator
            LEFT JOIN imp_period_map pm ON pm.raw = r.period
            LEFT JOIN imp_value_map vm ON vm.raw = r.value
        """)
        units = {}
        for raw, code, unit in cur.execute(
                "SELECT DISTINCT r.unit_seen, r.indicator, i.unit FROM imp_res r"
                " JOIN imp_ind i ON i.code = r.indicator"
                " WHERE r.unit_seen IS NOT NULL AND r.unit_seen <> ''").fetchall():
            units[(raw, code)] = normalise_unit(raw) == normalise_unit(unit)
        cur.register("imp_unit_map", pa.table({
            "raw": pa.array([k[0] for k in units], pa.string()),
            "code": pa.array([k[1] for k in units], pa.string()),
            "ok": pa.array(list(units.values()), pa.bool_())}))

        checker = _RowChecker(cur, report, sources, queries, region_matches, indicator_matches)
        checker.run(today)
        _summarise_sources(cur, report, sources, queries)
        if not report.ok:
            return
        batch.observations = _arrow(cur, """
            SELECT indicator, period, region, any_value(value) AS value FROM imp_res
            GROUP BY indicator, period, region ORDER BY indicator, period, region
        """)
        cur.register("imp_final", batch.observations)
        new, updated, same = cur.execute("""
            SELECT count(*) FILTER (WHERE o.value IS NULL),
                   count(*) FILTER (WHERE o.value IS NOT NULL AND o.value <> f.value),
                   count(*) FILTER (WHERE o.value = f.value)
            FROM imp_final f LEFT JOIN observations o
              ON o.indicator = f.indicator AND o.period = f.period AND o.region = f.region
        """).fetchone()
        report.new_observations += new
        report.updated_observations += updated
        report.unchanged_observations += same
        _check_levels(cur, report, sources, queries)
        ind_by_code = queries.indicator_by_code
        for src, code, n, first, last in cur.execute("""
                SELECT src, indicator, count(*), min(period), max(period) FROM imp_res
                GROUP BY src, indicator ORDER BY src, indicator""").fetchall():
            s = sources[src]
            batch.log.append({"file": s.file, "sheet": s.sheet, "kind": "observations",
                              "indicator": code, "department": ind_by_code[code].department,
                              "rows": n, "first_period": first, "last_period": last})
    finally:
        cur.close()


def _check_levels(cur, report: Report, sources, queries) -> None:
    """A warning wherever a county's (or city's) reported figure and its townships' (or
    counties') aggregate disagree beyond `levels.TOLERANCE`, naming both figures; placed at the
    county's row when the file gives it, else at the first township row it gives."""
    # The import's facts as a table of their own: DuckDB 1.5 pushes a join's bloom filter into
    # an Arrow scan it cannot filter ("Pushdown Filter Type BLOOM_FILTER is not … supported").
    cur.execute("CREATE OR REPLACE TEMP TABLE imp_levels AS"
                " SELECT indicator, period, region, value FROM imp_final")
    found = disagreements(cur, "imp_levels")
    if not found:
        return
    h, ind_by_code = queries.hierarchy, queries.indicator_by_code
    listed = 0
    for d in found:
        if listed >= MAX_DETAILS:
            break
        ind = ind_by_code[d["indicator"]]
        if d["parent_imported"]:
            where = cur.execute(
                "SELECT src, row, cell_col FROM imp_res WHERE indicator = ? AND period = ?"
                " AND region = ? ORDER BY src, row LIMIT 1",
                [d["indicator"], d["period"], d["region"]]).fetchone()
        else:
            where = cur.execute(
                "SELECT r.src, r.row, r.cell_col FROM imp_res r JOIN regions g ON g.code = r.region"
                " WHERE r.indicator = ? AND r.period = ? AND g.parent = ? ORDER BY r.src, r.row"
                " LIMIT 1", [d["indicator"], d["period"], d["region"]]).fetchone()
        if where is None:
            continue
        src = sources[where[0]]
        name = h.name(d["region"])
        kids = h.children_noun(d["region"])
        label = period_label(d["period"], ind.frequency)
        gap = d["reported"] - d["derived"]
        share = abs(gap) / abs(d["reported"]) * 100 if d["reported"] else float("inf")
        message = (f"{name}{ind.name} {label} 为 {_num(d['reported'])} {ind.unit}，"
                   f"{d['children']} 个{kids}{AGGREGATION_WORDS.get(ind.aggregation, '汇总')}为 "
                   f"{_num(d['derived'])} {ind.unit}，相差 {_num(abs(gap))} {ind.unit}"
                   + (f"（{share:.1f}%）" if share != float("inf") else ""))
        role = "value" if d["parent_imported"] else "region"
        report.problems.append(Problem(
            "warning", "level_disagreement", src.file, src.sheet, where[1],
            _RowChecker._column(src, role, {"cell_col": where[2]}),
            _num(d["reported"] if d["parent_imported"] else d["derived"]),
            f"两者相差不超过 {TOLERANCE:.0%}；请核对{name}与各{kids}的数据", message))
        listed += 1
    if len(found) > listed:
        src = sources[0]
        report.problems.append(Problem(
            "warning", "level_disagreement", src.file, None, None, None, None, None,
            f"另有 {len(found) - listed:,} 处上下级数据不一致（上面只列出前 {listed} 处）",
            count=len(found) - listed))


def _arrow(cur, query: str) -> pa.Table:
    """A query's result as an Arrow table (the method's name changed in DuckDB 2)."""
    relation = cur.sql(query)
    fetch = getattr(relation, "to_arrow_table", None) or getattr(relation, "arrow")
    return fetch()


def _summarise_sources(cur, report: Report, sources, queries) -> None:
    names = {i.code: i.name for i in queries.indicators}
    stats = {src: (n, first, last) for src, n, first, last in cur.execute(
        "SELECT src, count(*), min(period), max(period) FROM imp_res GROUP BY src").fetchall()}
    codes: dict[int, list[str]] = {}
    for src, code in cur.execute("SELECT DISTINCT src, indicator FROM imp_res"
                                 " WHERE indicator IS NOT NULL ORDER BY src, indicator").fetchall():
        codes.setdefault(src, []).append(names.get(code, code))
    for k, s in enumerate(sources):
        n, first, last = stats.get(k, (0, None, None))
        report.sources.append(SourceSummary(
            s.file, s.sheet, "长表" if s.layout == "long" else "宽表", n, codes.get(k, []),
            first, last, list(s.ignored_columns)))


class _RowChecker:
    """Runs each check as one query over all rows and turns the first hits into Problems."""

    def __init__(self, cur, report: Report, sources, queries, region_matches, indicator_matches):
        self.cur = cur
        self.report = report
        self.sources = sources
        self.queries = queries
        self.region_matches = region_matches
        self.indicator_matches = indicator_matches
        self.county = queries.county.code
        self.county_name = queries.county.name

    # -- plumbing ------------------------------------------------------------------------------
    def _hits(self, where: str, params: dict | None = None, per_row: bool = False) -> list[dict]:
        """Rows matching `where` (a constant condition; values are bound), first ones per table.

        per_row: one hit per row of the file, for problems of the row rather than the cell (a
        wide sheet's unknown township would otherwise be reported once per month).
        """
        once = "QUALIFY row_number() OVER (PARTITION BY r.src, r.row ORDER BY r.cell_col) = 1" \
            if per_row else ""
        cur = self.cur.execute(f"""
            SELECT * FROM (
                SELECT *, count(*) OVER (PARTITION BY src) AS n_total,
                       row_number() OVER (PARTITION BY src ORDER BY row, cell_col) AS k
                FROM (
                    SELECT r.*, i.name AS ind_name, i.unit AS ind_unit, i.frequency AS ind_freq
                    FROM imp_res r LEFT JOIN imp_ind i ON i.code = r.indicator
                    LEFT JOIN imp_unit_map u ON u.raw = r.unit_seen AND u.code = r.indicator
                    WHERE {where} {once}
                )
            ) WHERE k <= {MAX_DETAILS} ORDER BY src, row, cell_col
        """, params or {})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def _add(self, hits: list[dict], check: str, role: str,
             make: Callable[[dict], tuple[str, str | None, str]], severity: str = "error") -> None:
        """make(hit) → (message, value seen, expected)."""
        totals: dict[int, int] = {}
        for hit in hits:
            src = self.sources[hit["src"]]
            message, value, expected = make(hit)
            self.report.problems.append(Problem(
                severity, check, src.file, src.sheet, hit["row"], self._column(src, role, hit),
                value, expected, message))
            totals[hit["src"]] = hit["n_total"]
        for k, total in totals.items():
            if total > MAX_DETAILS:
                src = self.sources[k]
                self.report.problems.append(Problem(
                    severity, check, src.file, src.sheet, None, None, None, None,
                    f"同类问题另有 {total - MAX_DETAILS:,} 处（上面只列出前 {MAX_DETAILS} 处）",
                    count=total - MAX_DETAILS))

    @staticmethod
    def _column(src, role: str, hit: dict) -> str | None:
        if role in ("value", "period") and hit.get("cell_col"):
            return hit["cell_col"]
        return src.labels.get(role)

    # -- the checks ----------------------------------------------------------------------------
    def run(self, today: date) -> None:
        self.unknown_regions()
        self.unknown_indicators()
        self.bad_periods()
        self.bad_values()
        self.frequency(today)
        self.units()
        self.impossible()
        self.implausible()
        self.county_only()
        self.duplicates()
        if self.report.ok:
            self.jumps()

    def unknown_regions(self) -> None:
        def make(hit):
            raw = hit["region_raw"]
            if not raw:
                return "乡镇（街道）为空", raw, "本县乡镇（街道）名称或区划代码"
            m = self.region_matches[raw]
            if m.status == "ambiguous":
                return (f"“{raw}”可能是 {'、'.join(m.candidates)} 中的任何一个，无法确定", raw,
                        "乡镇（街道）全称或区划代码")
            hint = f"，是否为“{m.suggestion}”？" if m.suggestion else ""
            return (f"“{raw}”不是{self.county_name}的乡镇（街道）{hint}", raw,
                    "本县乡镇（街道）名称或区划代码，如 熟溪街道 或 330723001")
        self._add(self._hits("r.region IS NULL", per_row=True), "unknown_region", "region", make)

    def unknown_indicators(self) -> None:
        def make(hit):
            raw = hit["indicator_raw"]
            if not raw:
                return "指标为空", raw, "指标目录中的指标名称或代码"
            m, _ = self.indicator_matches[raw]
            if m.status == "ambiguous":
                return (f"“{raw}”对应多项指标（{'、'.join(m.candidates)}），无法确定", raw,
                        "指标代码或完整的指标名称")
            hint = f"，是否为“{m.suggestion}”？" if m.suggestion else ""
            return (f"“{raw}”不是指标目录中的指标{hint}", raw,
                    "指标目录中的指标名称或代码，如 规上工业增加值 或 eco_industry_va")
        self._add(self._hits("r.indicator IS NULL"), "unknown_indicator", "indicator", make)

    def bad_periods(self) -> None:
        def make(hit):
            raw = hit["period_raw"]
            if not raw:
                return "期间为空", raw, "期间，如 2025-06、2025年6月、2025年二季度、2025年"
            return (f"期间“{raw}”无法识别", raw,
                    "期间，如 2025-06、2025年6月、2025年二季度、2025年")
        self._add(self._hits("r.period IS NULL"), "bad_period", "period", make)

    def bad_values(self) -> None:
        expected = "一个数值（未报送的数据请删去该行，不要用占位符）"

        def make(hit):
            raw = hit["value_raw"]
            if hit["value_kind"] == "placeholder":
                if not (raw or "").strip():
                    if self.sources[hit["src"]].sheet is not None:  # calamine reads #DIV/0! as empty
                        return "数值为空（或是出错的公式，如 #DIV/0!、#N/A）", raw, expected
                    return "数值为空", raw, expected
                return f"数值单元格中是占位符“{raw}”，不是数值", raw, expected
            return f"“{raw}”不是数值", raw, "一个数值，如 1234.5"
        hits = self._hits("r.value IS NULL AND r.value_kind = 'placeholder'")
        self._add(hits, "placeholder", "value", make)
        self._add(self._hits("r.value IS NULL AND r.value_kind = 'not_number'"),
                  "not_a_number", "value", make)

        def too_large(hit):
            return (f"“{hit['value_raw']}”超出数据仓库能保存的范围，不可能是{hit['ind_name'] or '指标'}的数值",
                    hit["value_raw"], "绝对值小于 10¹⁵ 的有限数值（请检查单位与小数点）")
        self._add(self._hits("r.value IS NULL AND r.value_kind = 'too_large'"),
                  "out_of_range", "value", too_large)

    def frequency(self, today: date) -> None:
        freq_ok = """(i.frequency = 'month' AND r.grain = 'month')
            OR (i.frequency = 'quarter' AND (r.grain = 'quarter'
                OR (r.grain = 'month' AND month(r.period) IN (3, 6, 9, 12))))
            OR (i.frequency = 'year' AND (r.grain = 'year'
                OR (r.grain = 'month' AND month(r.period) = 12)))"""

        def make(hit):
            freq = hit["ind_freq"]
            return (f"{hit['ind_name']}{FREQ_NAMES[freq]}报送，期间“{hit['period_raw']}”不是"
                    f"{'一个月份' if freq == 'month' else '一个季度' if freq == 'quarter' else '一个年份'}",
                    hit["period_raw"], FREQ_EXPECTED[freq])
        self._add(self._hits(f"r.period IS NOT NULL AND r.indicator IS NOT NULL AND NOT ({freq_ok})"),
                  "period_frequency", "period", make)

        def unfinished(hit):
            grain = hit["grain"] or "month"
            label = period_label(hit["period"], grain)
            end = _period_end(hit["period"])
            started = _period_start(hit["period"], hit["ind_freq"] or grain) <= today
            message = (f"期间 {label} 还没有结束" if started else f"期间 {label} 还没有开始") + \
                f"（今天是 {_day(today)}），只能导入已经结束的期间"
            return message, hit["period_raw"], f"{label} 的数据最早可在 {_day(end)} 导入"
        self._add(self._hits("last_day(r.period) > $today", {"today": today}), "future_period",
                  "period", unfinished)

    def units(self) -> None:
        def make(hit):
            return (f"单位“{hit['unit_seen']}”与指标目录不符：{hit['ind_name']}的单位是“{hit['ind_unit']}”",
                    hit["unit_seen"], f"“{hit['ind_unit']}”（请换算后再导入）")
        hits = self._hits("u.ok = false", per_row=True)
        per_cell = [h for h in hits if self.sources[h["src"]].unit_place is None]
        self._add(per_cell, "unit_mismatch", "unit", make)
        for k in sorted({h["src"] for h in hits} - {h["src"] for h in per_cell}):
            hit = next(h for h in hits if h["src"] == k)
            src = self.sources[k]
            row, column = src.unit_place
            message, value, expected = make(hit)
            if hit["n_total"] > 1:
                message += f"（本表 {hit['n_total']:,} 行都用这个单位）"
            self.report.problems.append(Problem(
                "error", "unit_mismatch", src.file, src.sheet, row, column, value, expected, message))

        def percent(hit):
            return (f"数值写成了百分数，但{hit['ind_name']}的单位是“{hit['ind_unit']}”",
                    hit["value_raw"], f"以“{hit['ind_unit']}”为单位的数值，不带 %")
        self._add(self._hits("r.value_kind = 'percent' AND i.unit <> '%'"), "unit_mismatch",
                  "value", percent)

    def impossible(self) -> None:
        def negative(hit):
            return (f"{hit['ind_name']}不可能是负数", hit["value_raw"], "不小于 0 的数值")
        self._add(self._hits("r.value < 0 AND i.nonneg"), "negative_value", "value", negative)

        def over(hit):
            return (f"{hit['ind_name']}是比率，不可能超过 100%", hit["value_raw"],
                    "0 到 100 之间的数值（单位 %）")
        self._add(self._hits("r.value > 100 AND i.max100"), "rate_over_100", "value", over)

        def change(hit):
            return (f"{hit['ind_name']} {_num(hit['value'])}% 超出变化率的可能范围", hit["value_raw"],
                    "-100 到 1000 之间的百分数（单位 %）")
        self._add(self._hits("i.change AND (r.value < -100 OR r.value > 1000)"), "rate_out_of_range",
                  "value", change)

    def implausible(self) -> None:
        """Values no region can have: beyond CEILING_RATIO times the largest it (or its level)
        ever had, or more per resident than PER_RESIDENT allows."""
        self.cur.execute("""
            CREATE TEMP TABLE imp_ceiling AS
            WITH wanted AS (
                SELECT DISTINCT r.indicator, r.region FROM imp_res r JOIN imp_ind i ON i.code = r.indicator
                WHERE r.value IS NOT NULL AND r.region IS NOT NULL AND i.unit <> '%'
            ), hist AS (
                SELECT o.indicator, o.region, max(abs(o.value)) AS top FROM observations o
                WHERE o.indicator IN (SELECT indicator FROM wanted) GROUP BY ALL
            ), lvl AS (
                SELECT h.indicator, g.level, max(h.top) AS top
                FROM hist h JOIN regions g ON g.code = h.region GROUP BY ALL
            )
            SELECT w.indicator, w.region, g.name AS region_name, g.population,
                   h.top AS own_top, l.top AS level_top, i.per_resident,
                   CASE WHEN greatest(h.top, l.top) > 0 THEN $ratio * greatest(h.top, l.top) END
                       AS by_history,
                   CASE WHEN g.population > 0 THEN i.per_resident * g.population END
                       AS by_population
            FROM wanted w JOIN imp_ind i ON i.code = w.indicator JOIN regions g ON g.code = w.region
            LEFT JOIN hist h ON h.indicator = w.indicator AND h.region = w.region
            LEFT JOIN lvl l ON l.indicator = w.indicator AND l.level = g.level
        """, {"ratio": CEILING_RATIO})
        cur = self.cur.execute("SELECT * FROM imp_ceiling")
        names = [d[0] for d in cur.description]
        ceilings = {(row[0], row[1]): dict(zip(names, row)) for row in cur.fetchall()}

        def make(hit):
            c = ceilings[(hit["indicator"], hit["region"])]
            unit = hit["ind_unit"]
            reasons, limits = [], []
            if c["by_history"] is not None and hit["value"] > c["by_history"]:
                top = max(t for t in (c["own_top"], c["level_top"]) if t is not None)
                whose = c["region_name"] if c["own_top"] == top else "同级各地区"
                reasons.append(f"是{whose}历来最大值 {_num(top)} {unit}的 {_times(hit['value'] / top)}")
                limits.append(c["by_history"])
            if c["by_population"] is not None and hit["value"] > c["by_population"]:
                reasons.append(f"按常住人口 {_num(c['population'] / 1e4)} 万人计，每人超过 "
                               f"{_num(c['per_resident'] * _unit_scale(unit))} "
                               f"{_base_unit(unit)}")
                limits.append(c["by_population"])
            return (f"{hit['ind_name']} {_num(hit['value'])} {unit}明显不合理："
                    + "，".join(reasons), hit["value_raw"],
                    f"不超过 {_num(min(limits))} {unit}（请检查单位、小数点，或是否粘贴了编号）")
        self._add(self._hits("""r.value > (SELECT least(c.by_history, c.by_population) FROM imp_ceiling c
                                WHERE c.indicator = r.indicator AND c.region = r.region)"""),
                  "implausible", "value", make)

    def county_only(self) -> None:
        def make(hit):
            return (f"{hit['ind_name']}只统计全县，不分乡镇（街道）", hit["region_raw"],
                    f"“全县”或“{self.county_name}”")
        self._add(self._hits("i.aggregation = 'county_only' AND r.region <> $county",
                             {"county": self.county}, per_row=True),
                  "county_only", "region", make)

    def duplicates(self) -> None:
        # Keys first (a plain hash aggregate), the rows' places only for the few repeated keys.
        rows = self.cur.execute("""
            WITH dup AS (
                SELECT indicator, period, region,
                       CASE WHEN min(value) <> max(value) THEN 2 ELSE 1 END AS nv
                FROM imp_res
                WHERE indicator IS NOT NULL AND period IS NOT NULL AND region IS NOT NULL
                  AND value IS NOT NULL
                GROUP BY indicator, period, region HAVING count(*) > 1
            )
            SELECT d.indicator, d.period, d.region, d.nv,
                   list(struct_pack(src := r.src, "row" := r.row, cell_col := r.cell_col,
                                    value := r.value_raw, num := r.value)
                        ORDER BY r.src, r.row, r.cell_col)
            FROM dup d JOIN imp_res r
              ON r.indicator = d.indicator AND r.period = d.period AND r.region = d.region
            GROUP BY d.indicator, d.period, d.region, d.nv
            ORDER BY min(r.src), min(r.row)
        """).fetchall()
        listed = {"error": 0, "warning": 0}
        extra = {"error": 0, "warning": 0}
        for _indicator, _period, _region, _nv, places in rows:
            first = places[0]
            for place in places[1:]:
                # Each later place against the first: the same number again is a harmless
                # repeat even where a third place disagrees.
                severity = "error" if place["num"] != first["num"] else "warning"
                if listed[severity] >= MAX_DETAILS:
                    extra[severity] += 1
                    continue
                listed[severity] += 1
                src = self.sources[place["src"]]
                other = self._place_name(first, src)
                if severity == "error":
                    a, b = first["value"], place["value"]
                    if _text(a) == _text(b):  # the same text, read as two numbers
                        a, b = repr(first["num"]), repr(place["num"])
                    message = (f"与{other}重复：同一乡镇、指标、期间有两个不同的数值"
                               f"（{a} 与 {b}）")
                    expected = "每个乡镇（街道）、指标、期间只有一个数值"
                else:
                    message = f"与{other}完全重复，只导入一次"
                    expected = None
                self.report.problems.append(Problem(
                    severity, "duplicate_conflict" if severity == "error" else "duplicate", src.file,
                    src.sheet, place["row"], self._column(src, "value", place), place["value"],
                    expected, message))
        for severity, n in extra.items():
            if n:
                src = self.sources[0]
                self.report.problems.append(Problem(
                    severity, "duplicate_conflict" if severity == "error" else "duplicate",
                    src.file, None, None, None, None, None,
                    f"另有 {n:,} 处同类重复（上面只列出前 {MAX_DETAILS} 处）", count=n))

    def _place_name(self, place: dict, here) -> str:
        src = self.sources[place["src"]]
        where = f"第{place['row']}行"
        if place.get("cell_col"):
            where += place["cell_col"]
        if src is here:
            return where
        return f"{src.file}{' 工作表“' + src.sheet + '”' if src.sheet else ''} {where}"

    def jumps(self) -> None:
        extra = """, coalesce(p.value, o.value) AS prev, coalesce(p.period, o.period) AS prev_period"""
        where = """r.value IS NOT NULL AND coalesce(p.value, o.value) > 0
                   AND (r.value >= $ratio * coalesce(p.value, o.value)
                        OR (r.value > 0 AND r.value * $ratio <= coalesce(p.value, o.value)))"""
        cur = self.cur.execute(f"""
            WITH fresh AS (SELECT DISTINCT indicator, period, region, value FROM imp_res)
            SELECT * FROM (
                SELECT r.*, i.name AS ind_name, i.unit AS ind_unit, i.frequency AS ind_freq {extra},
                       count(*) OVER (PARTITION BY r.src) AS n_total,
                       row_number() OVER (PARTITION BY r.src ORDER BY r.row, r.cell_col) AS k
                FROM imp_res r JOIN imp_ind i ON i.code = r.indicator
                LEFT JOIN fresh p ON p.indicator = r.indicator AND p.region = r.region
                     AND p.period = CAST(r.period - to_months(i.step) AS DATE)
                LEFT JOIN observations o ON o.indicator = r.indicator AND o.region = r.region
                     AND o.period = CAST(r.period - to_months(i.step) AS DATE)
                WHERE {where}
            ) WHERE k <= {MAX_DETAILS} ORDER BY src, row, cell_col
        """, {"ratio": JUMP_RATIO})
        names = [d[0] for d in cur.description]
        hits = [dict(zip(names, row)) for row in cur.fetchall()]

        def make(hit):
            value, prev = hit["value"], hit["prev"]
            label = period_label(hit["prev_period"], hit["ind_freq"])
            if value >= prev:
                message = (f"{hit['ind_name']} {_num(value)} 是上一期（{label}）{_num(prev)} 的 "
                           f"{value / prev:.1f} 倍")
            else:
                message = (f"{hit['ind_name']} {_num(value)} 只有上一期（{label}）{_num(prev)} 的 "
                           f"1/{prev / value:.0f}")
            return message, hit["value_raw"], "与上一期相近；数据属实可忽略此提示（单位是否有误？）"
        self._add(hits, "jump", "value", make, severity="warning")


def _num(value: float) -> str:
    if abs(value) >= 1e12:
        return f"{value:.3g}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _times(ratio: float) -> str:
    return f"{ratio:.3g} 倍" if ratio >= 1e6 else f"{ratio:,.0f} 倍"


def _unit_scale(unit: str) -> float:
    return _PREFIX.get(unit[:1], 1.0) if unit[1:] in PER_RESIDENT else 1.0


def _base_unit(unit: str) -> str:
    return unit[1:] if unit[:1] in _PREFIX and unit[1:] in PER_RESIDENT else unit


def _text(text) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip()


def _period_end(period: date) -> date:
    """The last day of a period stored as the first day of its last month."""
    following = date(period.year + period.month // 12, period.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _period_start(period: date, grain: str) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}.get(grain, 1)
    index = period.year * 12 + period.month - months
    return date(index // 12, index % 12 + 1, 1)


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"
