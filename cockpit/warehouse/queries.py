"""Every query the cockpit runs against a snapshot: parameterised SQL in, numpy arrays and small records out.

A selected period is a month. Indicators reported quarterly or yearly answer with their latest
period on or before that month (`effective period`), so one month slider drives every panel.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import cached_property, wraps

import numpy as np

from ..core.catalogue import Indicator
from .store import Snapshot


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    name_en: str | None
    level: str
    kind: str | None
    parent: str | None
    population: float | None
    area_km2: float | None
    label_lon: float | None
    label_lat: float | None
    schematic: bool


@dataclass(frozen=True)
class KpiValue:
    indicator: str
    period: date | None     # the effective period the value belongs to (None: no data)
    value: float | None
    prev_value: float | None
    yoy_value: float | None


@dataclass(frozen=True)
class Series:
    periods: np.ndarray      # datetime64[D]
    values: np.ndarray       # float64


@dataclass(frozen=True)
class TownshipValues:
    """One indicator in one period for every township that reported it."""
    indicator: str
    period: date | None
    regions: np.ndarray      # region codes (object array)
    values: np.ndarray
    prev_values: np.ndarray  # NaN where missing
    yoy_values: np.ndarray


def _to_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return np.datetime64(value, "D").astype(date)


def _nan(values) -> np.ndarray:
    """Masked or object arrays from DuckDB to float with NaN for NULL."""
    if np.ma.isMaskedArray(values):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)


def _frozen(value):
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (Series, TownshipValues)):
        for v in vars(value).values():
            _frozen(v)
    elif isinstance(value, dict):
        for v in value.values():
            _frozen(v)
    return value


_MISSING = object()


def memoised(method):
    """Cache a query's answer for this snapshot (snapshots never change).

    A wall cycling through townships and months asks the same questions again and again; the
    answer is kept (LRU) and handed out read-only: arrays are frozen, dicts and lists are copied.
    """
    @wraps(method)
    def wrapper(self, *args, **kwargs):
        key = (method.__name__, tuple(tuple(a) if isinstance(a, list) else a for a in args),
               tuple(sorted(kwargs.items())))
        cache = self._memo
        with self._memo_lock:
            result = cache.get(key, _MISSING)
            if result is not _MISSING:
                cache.move_to_end(key)
        if result is _MISSING:
            result = _frozen(method(self, *args, **kwargs))
            with self._memo_lock:
                cache[key] = result
                if len(cache) > self.MEMO_SIZE:
                    cache.popitem(last=False)
        if isinstance(result, dict):
            return dict(result)
        if isinstance(result, list):
            return list(result)
        return result
    return wrapper


class Queries:
    MEMO_SIZE = 2048

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self._memo: OrderedDict = OrderedDict()
        self._memo_lock = threading.Lock()

    def _cur(self):
        return self.snapshot.cursor()

    # -- reference data (cached per snapshot: immutable) ---------------------------------
    @cached_property
    def meta(self) -> dict[str, str]:
        return self.snapshot.meta()

    @cached_property
    def regions(self) -> list[Region]:
        rows = self._cur().execute(
            "SELECT code, name, name_en, level, kind, parent, population, area_km2, label_lon,"
            " label_lat, schematic FROM regions ORDER BY sort_order NULLS LAST, code").fetchall()
        return [Region(*row) for row in rows]

    @cached_property
    def region_by_code(self) -> dict[str, Region]:
        return {r.code: r for r in self.regions}

    @cached_property
    def county(self) -> Region:
        code = self.meta.get("county_code")
        if code in self.region_by_code:
            return self.region_by_code[code]
        return next(r for r in self.regions if r.level == "county")

    @cached_property
    def townships(self) -> list[Region]:
        return [r for r in self.regions if r.level == "township" and r.parent == self.county.code]

    @cached_property
    def indicators(self) -> list[Indicator]:
        cur = self._cur().execute("SELECT * FROM indicators ORDER BY sort_order NULLS LAST, code")
        names = [d[0] for d in cur.description]
        return [Indicator.from_row(dict(zip(names, row))) for row in cur.fetchall()]

    @cached_property
    def indicator_by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}

    def geometries_wkb(self, level: str = "township") -> dict[str, bytes]:
        rows = self._cur().execute(
            "SELECT code, geometry FROM regions WHERE level = ? AND geometry IS NOT NULL",
            [level]).fetchall()
        return {code: bytes(wkb) for code, wkb in rows}

    @cached_property
    def months(self) -> list[date]:
        """Every month from the first to the last period in the warehouse."""
        first, last = self._cur().execute(
            "SELECT min(period), max(period) FROM observations").fetchone()
        if first is None:
            return []
        out, y, m = [], first.year, first.month
        while (y, m) <= (last.year, last.month):
            out.append(date(y, m, 1))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    @property
    def as_of(self) -> date | None:
        """The month the data is current to (meta `as_of`, else the last period)."""
        text = self.meta.get("as_of")
        if text:
            y, m = text.split("-")[:2]
            return date(int(y), int(m), 1)
        return self.months[-1] if self.months else None

    # -- facts -------------------------------------------------------------------------------
    @memoised
    def effective_period(self, indicator: str, month: date) -> date | None:
        row = self._cur().execute(
            "SELECT max(period) FROM observations WHERE indicator = ? AND period <= ?",
            [indicator, month]).fetchone()
        return row[0]

    @memoised
    def township_values(self, indicator: str, month: date) -> TownshipValues:
        """The map's and the ranking's data: one indicator, every township, one period."""
        county = self.county.code
        res = self._cur().execute(
            """
            WITH p AS (SELECT max(period) AS period FROM observations
                       WHERE indicator = $ind AND period <= $month)
            SELECT o.region, o.value, o.prev_value, o.yoy_value, o.period
            FROM observations o, p
            WHERE o.indicator = $ind AND o.period = p.period AND o.region <> $county
            """, {"ind": indicator, "month": month, "county": county}).fetchnumpy()
        period = _to_date(res["period"][0]) if len(res["period"]) else None
        return TownshipValues(indicator, period, np.asarray(res["region"], dtype=object),
                              _nan(res["value"]), _nan(res["prev_value"]),
                              _nan(res["yoy_value"]))

    @memoised
    def kpis(self, region: str, indicators: list[str], month: date) -> dict[str, KpiValue]:
        """Value, previous period and same period last year for several indicators at once."""
        rows = self._cur().execute(
            """
            WITH p AS (SELECT indicator, max(period) AS period FROM observations
                       WHERE indicator = ANY($inds) AND period <= $month AND region = $region
                       GROUP BY indicator)
            SELECT o.indicator, o.period, o.value, o.prev_value, o.yoy_value
            FROM observations o JOIN p USING (indicator, period)
            WHERE o.region = $region
            """, {"inds": list(indicators), "month": month, "region": region}).fetchall()
        found = {r[0]: KpiValue(r[0], r[1], r[2], r[3], r[4]) for r in rows}
        return {code: found.get(code, KpiValue(code, None, None, None, None))
                for code in indicators}

    @memoised
    def series(self, region: str, indicator: str, start: date | None = None,
               end: date | None = None) -> Series:
        res = self._cur().execute(
            """
            SELECT period, value FROM observations
            WHERE indicator = ? AND region = ? AND period >= ? AND period <= ?
            ORDER BY period
            """, [indicator, region, start or date(1900, 1, 1), end or date(2999, 12, 1)]
        ).fetchnumpy()
        return Series(np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["value"]))

    @memoised
    def series_many(self, region: str, indicators: list[str], end: date,
                    count: int) -> dict[str, Series]:
        """The last `count` periods up to `end` of several indicators (KPI sparklines)."""
        res = self._cur().execute(
            """
            SELECT indicator, period, value FROM (
                SELECT indicator, period, value,
                       row_number() OVER (PARTITION BY indicator ORDER BY period DESC) AS k
                FROM observations
                WHERE indicator = ANY($inds) AND region = $region AND period <= $end
            ) WHERE k <= $count ORDER BY indicator, period
            """, {"inds": list(indicators), "region": region, "end": end, "count": count}
        ).fetchnumpy()
        codes = np.asarray(res["indicator"], dtype=object)
        periods = np.asarray(res["period"], dtype="datetime64[D]")
        values = _nan(res["value"])
        out = {}
        for code in indicators:
            mask = codes == code
            out[code] = Series(periods[mask], values[mask])
        return out

    @memoised
    def county_aggregate(self, indicator: str, month: date) -> float | None:
        """The county figure recomputed from its townships by the indicator's aggregation rule."""
        row = self._cur().execute(
            """
            WITH p AS (SELECT max(period) AS period FROM observations
                       WHERE indicator = $ind AND period <= $month)
            SELECT CASE i.aggregation
                     WHEN 'sum' THEN sum(o.value)
                     WHEN 'mean' THEN avg(o.value)
                     WHEN 'pop_mean' THEN sum(o.value * r.population) / sum(r.population)
                   END
            FROM observations o, p, indicators i, regions r
            WHERE o.indicator = $ind AND o.period = p.period AND i.code = o.indicator
              AND r.code = o.region AND r.parent = $county
            GROUP BY i.aggregation
            """, {"ind": indicator, "month": month, "county": self.county.code}).fetchone()
        return None if row is None else row[0]

    @memoised
    def township_profile(self, region: str, month: date) -> list[dict]:
        """Every indicator for one township: value, county value, rank, changes, target."""
        county = self.county.code
        rows = self._cur().execute(
            """
            WITH p AS (SELECT indicator, max(period) AS period FROM observations
                       WHERE period <= $month AND region = $region GROUP BY indicator),
            peers AS (
                SELECT o.indicator, o.region, o.value,
                       rank() OVER (PARTITION BY o.indicator ORDER BY
                           CASE i.polarity WHEN 'lower' THEN o.value ELSE -o.value END) AS rank,
                       count(*) OVER (PARTITION BY o.indicator) AS n
                FROM observations o JOIN p USING (indicator, period)
                JOIN indicators i ON i.code = o.indicator
                WHERE o.region <> $county
            )
            SELECT o.indicator, o.period, o.value, o.prev_value, o.yoy_value, c.value AS county,
                   peers.rank, peers.n
            FROM observations o JOIN p USING (indicator, period)
            LEFT JOIN observations c ON c.indicator = o.indicator AND c.period = o.period
                                    AND c.region = $county
            LEFT JOIN peers ON peers.indicator = o.indicator AND peers.region = o.region
            WHERE o.region = $region
            """, {"month": month, "region": region, "county": county}).fetchall()
        keys = ("indicator", "period", "value", "prev_value", "yoy_value", "county_value",
                "rank", "rank_of")
        by_code = {r[0]: dict(zip(keys, r)) for r in rows}
        return [by_code[i.code] for i in self.indicators if i.code in by_code]

    @memoised
    def events(self, region: str | None, start: date | None = None, end: date | None = None,
               limit: int = 200) -> list[dict]:
        """Events in a township (or the county when region is None or the county), newest first."""
        if region == self.county.code:
            region = None
        cur = self._cur().execute(
            """
            SELECT e.id, e.region, r.name AS region_name, e.source, e.category, e.summary,
                   e.reported_at, e.deadline_at, e.closed_at, e.status, e.lon, e.lat
            FROM events e JOIN regions r ON r.code = e.region
            WHERE ($region IS NULL OR e.region = $region)
              AND e.reported_at >= $start AND e.reported_at < $end
            ORDER BY e.reported_at DESC, e.id
            LIMIT $limit
            """, {"region": region, "start": start or date(1900, 1, 1),
                  "end": end or date(2999, 1, 1), "limit": limit})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    @memoised
    def event_points(self, start: date, end: date) -> dict[str, np.ndarray]:
        """Event locations for the map's point layer."""
        res = self._cur().execute(
            """SELECT lon, lat, source, status FROM events
               WHERE reported_at >= ? AND reported_at < ?""", [start, end]).fetchnumpy()
        return {k: np.asarray(v) for k, v in res.items()}

    @memoised
    def event_counts(self, region: str | None, start: date, end: date) -> dict[str, int]:
        if region == self.county.code:
            region = None
        rows = self._cur().execute(
            """SELECT status, count(*) FROM events
               WHERE ($region IS NULL OR region = $region)
                 AND reported_at >= $start AND reported_at < $end GROUP BY status""",
            {"region": region, "start": start, "end": end}).fetchall()
        return dict(rows)

    # -- counts for `cockpit info` ----------------------------------------------------------
    def summary(self) -> dict:
        cur = self._cur()
        levels = dict(cur.execute(
            "SELECT level, count(*) FROM regions GROUP BY level ORDER BY level").fetchall())
        domains = dict(cur.execute(
            "SELECT domain, count(*) FROM indicators GROUP BY domain ORDER BY domain").fetchall())
        n_obs, first, last = cur.execute(
            "SELECT count(*), min(period), max(period) FROM observations").fetchone()
        n_events = cur.execute("SELECT count(*) FROM events").fetchone()[0]
        return {
            "regions_by_level": levels,
            "indicators_by_domain": domains,
            "indicators": sum(domains.values()),
            "observations": n_obs,
            "events": n_events,
            "first_period": first.strftime("%Y-%m") if first else None,
            "last_period": last.strftime("%Y-%m") if last else None,
        }
