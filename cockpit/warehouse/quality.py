"""Data quality (数据质量) per department and per indicator: how complete, how late, last updated.

The plan's own complaint is that data is incomplete, inaccurate and late; this is the measure of it.

- completeness: reported township × period cells over the cells expected in a window of months
  ending at the warehouse's as-of month (county-only indicators expect one region, the county);
- timeliness: for each expected region, how many months its latest report lags the latest period
  due by the as-of month under the indicator's frequency (a quarterly indicator is due for
  2025-09 in 2025-11); an indicator is as late as its latest township;
- last update: the latest period reported, and when it was last imported (if it ever was).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..core.formatting import period_label
from ..core.i18n import plural

_ALIGNED = """(i.frequency = 'month'
    OR (i.frequency = 'quarter' AND month(o.period) IN (3, 6, 9, 12))
    OR (i.frequency = 'year' AND month(o.period) = 12))"""


def _add_months(d: date, months: int) -> date:
    k = d.year * 12 + d.month - 1 + months
    return date(k // 12, k % 12 + 1, 1)


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def due_period(frequency: str, as_of: date) -> date:
    """The latest period of this frequency that has ended by the as-of month."""
    if frequency == "quarter":
        return date(as_of.year, as_of.month - as_of.month % 3, 1) if as_of.month >= 3 \
            else date(as_of.year - 1, 12, 1)
    if frequency == "year":
        return as_of if as_of.month == 12 else date(as_of.year - 1, 12, 1)
    return as_of


def expected_periods(frequency: str, start: date, end: date) -> list[date]:
    """Periods of this frequency whose (last) month lies in [start, end]."""
    out = []
    d = start
    while d <= end:
        if frequency == "month" or (frequency == "quarter" and d.month % 3 == 0) or \
                (frequency == "year" and d.month == 12):
            out.append(d)
        d = _add_months(d, 1)
    return out


class _Completeness:
    """Share of the expected region × period cells that were reported."""
    expected: int
    reported: int

    @property
    def completeness(self) -> float | None:
        return self.reported / self.expected if self.expected else None

    @property
    def completeness_label(self) -> str:
        c = self.completeness
        return "—" if c is None else f"{c * 100:.1f}%"


@dataclass(frozen=True)
class IndicatorQuality(_Completeness):
    code: str
    name: str
    department: str
    domain: str
    frequency: str
    expected: int                          # region × period cells expected in the window
    reported: int                          # of which reported
    last_period: date | None               # latest period any expected region reported
    due_period: date                       # latest period due by the as-of month
    months_late: int | None                # worst region's lag in months; None: no data at all
    late_regions: tuple[tuple[str, int], ...]  # (region name, months late), worst first
    last_imported_at: datetime | None

    @property
    def timeliness_label(self) -> str:
        return self.timeliness_text()

    def timeliness_text(self, lang: str = "zh_CN", name_of=lambda name: name) -> str:
        """按时 / 三港乡迟报 3 个月 / 17 个地区迟报，最长 1 个月 (or in English; `name_of` turns a
        region's name into the UI's language)."""
        en = lang == "en"
        if self.months_late is None:
            return "No data" if en else "无数据"
        if self.months_late == 0:
            return "On time" if en else "按时"
        if len(self.late_regions) == 1:
            name, months = self.late_regions[0]
            return (f"{name_of(name)} {months} month{plural(months)} late" if en
                    else f"{name}迟报 {months} 个月")
        n, worst = len(self.late_regions), self.months_late
        return (f"{n} region{plural(n)} late, up to {worst} month{plural(worst)}" if en
                else f"{n} 个地区迟报，最长 {worst} 个月")

    @property
    def last_update_label(self) -> str:
        return period_label(self.last_period, self.frequency)


@dataclass(frozen=True)
class DepartmentQuality(_Completeness):
    department: str
    indicators: int
    expected: int
    reported: int
    late_indicators: int                   # indicators with any region late
    months_late: int | None                # worst over its indicators
    last_period: date | None               # the latest period any of its indicators reported
    last_imported_at: datetime | None


@dataclass(frozen=True)
class QualityReport:
    as_of: date
    window_start: date
    window_end: date
    indicators: list[IndicatorQuality]
    departments: list[DepartmentQuality]     # worst completeness first

    def indicator(self, code: str) -> IndicatorQuality:
        return next(i for i in self.indicators if i.code == code)

    def department(self, name: str) -> DepartmentQuality:
        return next(d for d in self.departments if d.department == name)


def _has_import_log(cur, alias: str) -> bool:
    return cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'import_log'",
        [alias]).fetchone()[0] > 0


def data_quality(queries_or_snapshot, *, as_of: date | None = None,
                 months: int = 12) -> QualityReport:
    """Completeness, timeliness and last update of every indicator and department.

    `queries_or_snapshot` is a `Queries` or a `Snapshot`; `as_of` defaults to the warehouse's as-of
    month; completeness counts the `months` months ending there.
    """
    from .queries import Queries

    queries = queries_or_snapshot if isinstance(queries_or_snapshot, Queries) \
        else Queries(queries_or_snapshot)
    as_of = as_of or queries.as_of or date.today().replace(day=1)
    as_of = as_of.replace(day=1)
    start = _add_months(as_of, -(months - 1))
    county = queries.county.code
    cur = queries.snapshot.cursor()
    rows = cur.execute(f"""
        WITH expected AS (
            SELECT i.code AS indicator, r.code AS region, r.name AS region_name,
                   r.sort_order AS region_order
            FROM indicators i JOIN regions r
              ON (i.aggregation = 'county_only' AND r.code = $county)
              OR (i.aggregation <> 'county_only' AND r.level = 'township' AND r.parent = $county)
        )
        SELECT e.indicator, e.region_name, max(o.period) AS last_period,
               count(o.period) FILTER (WHERE o.period >= $start AND {_ALIGNED}) AS reported
        FROM expected e JOIN indicators i ON i.code = e.indicator
        LEFT JOIN observations o
               ON o.indicator = e.indicator AND o.region = e.region AND o.period <= $end
        GROUP BY e.indicator, e.region_name, e.region_order
        ORDER BY e.indicator, e.region_order
    """, {"county": county, "start": start, "end": as_of}).fetchall()
    imported: dict[str, datetime] = {}
    if _has_import_log(cur, queries.snapshot.ALIAS):
        imported = dict(cur.execute(
            "SELECT indicator, max(imported_at) FROM import_log WHERE indicator IS NOT NULL"
            " GROUP BY indicator").fetchall())
    per_indicator: dict[str, list] = {}
    for code, region_name, last, reported in rows:
        per_indicator.setdefault(code, []).append((region_name, last, reported))

    indicators = []
    for ind in queries.indicators:
        regions = per_indicator.get(ind.code, [])
        due = due_period(ind.frequency, as_of)
        n_periods = len(expected_periods(ind.frequency, start, as_of))
        lasts = [last for _, last, _ in regions if last is not None]
        late = []
        for name, last, _ in regions:
            lag = _months_between(last, due) if last is not None else None
            if lag is None or lag > 0:
                late.append((name, lag if lag is not None else _months_between(start, due) + 1))
        late.sort(key=lambda nl: -nl[1])
        months_late = None if not lasts else (late[0][1] if late else 0)
        indicators.append(IndicatorQuality(
            ind.code, ind.name, ind.department, ind.domain, ind.frequency,
            expected=n_periods * len(regions), reported=sum(r for _, _, r in regions),
            last_period=max(lasts) if lasts else None, due_period=due, months_late=months_late,
            late_regions=tuple(late), last_imported_at=imported.get(ind.code)))

    by_department: dict[str, list[IndicatorQuality]] = {}
    for q in indicators:
        by_department.setdefault(q.department, []).append(q)
    departments = []
    for name, items in by_department.items():
        lates = [q.months_late for q in items if q.months_late is not None]
        lasts = [q.last_period for q in items if q.last_period is not None]
        stamps = [q.last_imported_at for q in items if q.last_imported_at is not None]
        departments.append(DepartmentQuality(
            name, len(items), sum(q.expected for q in items), sum(q.reported for q in items),
            sum(1 for q in items if q.months_late is None or q.months_late > 0),
            max(lates) if lates else None, max(lasts) if lasts else None,
            max(stamps) if stamps else None))
    departments.sort(key=lambda d: (d.completeness if d.completeness is not None else -1.0,
                                    -(d.months_late or 0), d.department))
    return QualityReport(as_of, start, as_of, indicators, departments)
