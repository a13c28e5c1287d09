"""Every query the cockpit runs against a snapshot: parameterised SQL in, numpy arrays and small records out.

A selected period is a month. Indicators reported quarterly or yearly answer with their latest
period on or before that month (`effective period`), so one month slider drives every panel.

The root region (meta `county_code`, `county` below) is the county of the demo, or a province or
the whole country in the scale datasets; `townships` are every township-level region under it.
Large warehouses may also store the facts in region order (meta `region_order_table`): queries
about one place then read that table, so DuckDB's zone maps skip all but a row group or two
instead of scanning every indicator's slice.
"""
from __future__ import annotations

import sys
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, fields
from datetime import date
from functools import cached_property, wraps
from itertools import repeat

import numpy as np

from ..core.catalogue import Indicator
from ..core.levels import Hierarchy
from ..core.plan import Target
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


_REGION_FIELDS = tuple(f.name for f in fields(Region))


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
class Band:
    """Per period, the lowest and the highest township value of one indicator."""
    periods: np.ndarray      # datetime64[D]
    lo: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class TownshipValues:
    """One indicator in one period for every township that reported it."""
    indicator: str
    period: date | None
    regions: np.ndarray      # region codes (object array)
    values: np.ndarray
    prev_values: np.ndarray  # NaN where missing
    yoy_values: np.ndarray


class _EventIndex:
    """Every event's place (a number), time (µs) and status (a number), sorted by place and
    time: the events of a few places in a window are found by binary search."""

    def __init__(self, number: dict[str, int], places: np.ndarray, times: np.ndarray,
                 statuses: np.ndarray, status_names: list[str]):
        self.number, self.places, self.times = number, places, times
        self.statuses, self.status_names = statuses, status_names

    @staticmethod
    def _us(day: date | None, default: int) -> int:
        return default if day is None else int(np.datetime64(day, "us").view(np.int64))

    def find(self, codes, start: date | None, end: date | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, status numbers, place numbers) of the events of `codes` in [start, end)."""
        lo_t, hi_t = self._us(start, np.iinfo(np.int64).min), self._us(end, np.iinfo(np.int64).max)
        numbers = np.array(sorted(self.number[c] for c in codes if c in self.number), np.int64)
        first = np.searchsorted(self.places, numbers, "left")
        last = np.searchsorted(self.places, numbers, "right")
        parts = [slice(a, b) for a, b in zip(first.tolist(), last.tolist()) if b > a]
        if not parts:
            return np.empty(0, np.int64), np.empty(0, np.int16), np.empty(0, np.int64)
        times = np.concatenate([self.times[p] for p in parts])
        keep = (times >= lo_t) & (times < hi_t)
        return (times[keep], np.concatenate([self.statuses[p] for p in parts])[keep],
                np.concatenate([self.places[p] for p in parts])[keep])


def _to_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return np.datetime64(value, "D").astype(date)


def _no_values(indicator: str) -> TownshipValues:
    """No period of the indicator up to the month asked for: nothing on the map or the ranking."""
    empty = np.empty(0)
    return TownshipValues(indicator, None, np.empty(0, dtype=object), empty, empty, empty)


def _nan(values) -> np.ndarray:
    """Masked or object arrays from DuckDB to float with NaN for NULL."""
    # numpy.ma is imported only by whoever makes a masked array (DuckDB, for a column with
    # NULLs): asking np.ma here would import it (~20 ms at start-up) for nothing.
    ma = sys.modules.get("numpy.ma")
    if ma is not None and ma.isMaskedArray(values):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)


def _frozen(value):
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (Series, TownshipValues, Band)):
        for v in vars(value).values():
            _frozen(v)
    elif isinstance(value, dict):
        for v in value.values():
            _frozen(v)
    return value


_MISSING = object()


def _one_of(column: str, count: int) -> str:
    """SQL for `column` equal to one of `count` positional parameters: equalities joined by OR.

    Not `column = ANY($list)` nor `IN (…)`: in DuckDB 2.0.1 every query carrying a list of
    values (a LIST parameter, an IN list of five or more, unnest of a list) kept ~2 KB (~6 KB
    with 60 values) that was never given back. The KPI cards ask two such queries per
    selection: the cockpit grew ~4 KB per selection without bound (130 MB/h in the fast soak).
    Equalities joined by OR are not turned into a list and leave nothing behind."""
    return "(" + " OR ".join([f"{column} = ?"] * count) + ")" if count else "FALSE"


def _or_none(value) -> float | None:
    """A figure as SQL gave it: None where it was NULL (NaN here)."""
    return None if np.isnan(value) else float(value)


def _nbytes(value) -> int:
    """Roughly what an answer holds in memory: arrays by size, containers by their items."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (Series, TownshipValues, Band)):
        return 64 + sum(_nbytes(v) for v in vars(value).values())
    if isinstance(value, dict):
        return 64 + sum(64 + _nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return 64 + sum(64 + _nbytes(v) for v in value)
    return 64


def memoised(method):
    """Cache a query's answer for this snapshot (snapshots never change).

    A wall cycling through townships and months asks the same questions again and again; the
    answer is kept (LRU) and handed out read-only: arrays are frozen, dicts and lists are copied.
    The cache is bounded by answers (MEMO_SIZE) and by bytes (MEMO_BYTES): one township_values
    answer of a nation warehouse holds 40,000 townships, a county's 18.
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
            size = _nbytes(result)
            with self._memo_lock:
                sizes = self._memo_sizes
                self._memo_bytes += size - sizes.get(key, 0)
                cache[key] = result
                sizes[key] = size
                while len(cache) > 1 and (len(cache) > self.MEMO_SIZE
                                          or self._memo_bytes > self.MEMO_BYTES):
                    old, _ = cache.popitem(last=False)
                    self._memo_bytes -= sizes.pop(old, 0)
        if isinstance(result, dict):
            return dict(result)
        if isinstance(result, list):
            return list(result)
        return result
    return wrapper


def _runs(keys: np.ndarray):
    """(start, end) of each run of equal keys in an array sorted by them."""
    if not len(keys):
        return []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return zip(starts, np.r_[starts[1:], len(keys)])


class Queries:
    # Enough for a wall rotating through every township of a county in one month (≈10 answers
    # per township) with room to spare, small enough that memory stays flat over months: an
    # answer can be a few hundred events.
    MEMO_SIZE = 384
    MEMO_BYTES = 192 * 2**20

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self._memo: OrderedDict = OrderedDict()
        self._memo_sizes: dict = {}
        self._memo_bytes = 0
        self._memo_lock = threading.Lock()
        # How many times these answers went to the warehouse (what the memo and the read-ahead
        # did not save); a statistic, counted without a lock.
        self.reads = 0
        self._event_index_lock = threading.Lock()
        self._event_index_read = _MISSING

    def _cur(self):
        self.reads += 1
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
        # The frozen dataclass's __init__ sets each field through object.__setattr__: for the
        # country's 43,000 regions that was ~0.3 s of the first paint; filled directly, ~0.1 s.
        make, names = object.__new__, _REGION_FIELDS
        out = []
        for row in rows:
            region = make(Region)
            region.__dict__.update(zip(names, row))
            out.append(region)
        return out

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
    def hierarchy(self) -> Hierarchy:
        """The levels under the root: which regions a view shows, paths, level words."""
        return Hierarchy(self.regions, self.county.code)

    @cached_property
    def townships(self) -> list[Region]:
        """Every township-level region under the root (its children, or deeper: county → city →
        province warehouses), in storage order."""
        townships = [r for r in self.regions if r.level == "township"]
        if not townships:   # (an empty warehouse has no root to be under either)
            return []
        under = self.hierarchy
        return [r for r in townships if r.code in under and r.code != under.root]

    @cached_property
    def _code_objects(self) -> dict[str, str]:
        return {r.code: r.code for r in self.regions}

    @cached_property
    def _township_codes(self) -> frozenset:
        return frozenset(r.code for r in self.townships)

    @cached_property
    def _only_township_level(self) -> bool:
        """True when every township-level region is under the root (SQL can filter by level)."""
        return len(self.townships) == sum(r.level == "township" for r in self.regions)

    @cached_property
    def _by_region(self) -> str:
        """The facts table to read for one region: the region-ordered copy where there is one."""
        name = self.meta.get("region_order_table")
        if name != "observations_by_region":   # an identifier, checked, never a value
            return "observations"
        found = self._cur().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = ?",
            [name, self.snapshot.ALIAS]).fetchone()[0]
        return name if found else "observations"

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

    def child_geometries_wkb(self, parent: str) -> dict[str, bytes]:
        """The outlines of a region's children (the map of one level), in storage order."""
        rows = self._cur().execute(
            "SELECT code, geometry FROM regions WHERE parent = ? AND geometry IS NOT NULL"
            " ORDER BY sort_order NULLS LAST, code", [parent]).fetchall()
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
        # From the indicator's periods, read once: stepping through months asks nothing more.
        periods = self._periods(indicator)
        k = bisect_right(periods, month)
        return periods[k - 1] if k else None

    @memoised
    def _periods(self, indicator: str) -> list[date]:
        """The periods with figures of an indicator, oldest first."""
        return [row[0] for row in self._cur().execute(
            "SELECT DISTINCT period FROM observations WHERE indicator = ? ORDER BY period",
            [indicator]).fetchall()]

    @memoised
    def township_values(self, indicator: str, month: date) -> TownshipValues:
        """The map's and the ranking's data: one indicator, every township, one period."""
        period = self.effective_period(indicator, month)
        if period is None:
            return _no_values(indicator)
        # One (indicator, period) slice of the facts, stored contiguously: zone maps skip the
        # rest. Only townships: a province or nation warehouse also holds its aggregates, and
        # leaving out those few thousand codes is cheaper than matching 40,000 townships.
        res = self._cur().execute(
            """
            SELECT o.region, o.value, o.prev_value, o.yoy_value
            FROM observations o
            ANTI JOIN (SELECT code FROM regions WHERE level <> 'township') a ON a.code = o.region
            WHERE o.indicator = $ind AND o.period = $period
            """, {"ind": indicator, "period": period}).fetchnumpy()
        # The warehouse's own code strings, not 40,000 fresh copies per answer: kept answers
        # share them, and lookups by code hit on identity.
        raw, codes = res["region"], self._code_objects
        try:
            regions = np.fromiter(map(codes.__getitem__, raw), dtype=object, count=len(raw))
        except KeyError:
            regions = np.asarray(raw, dtype=object)
        keep = slice(None)
        if not self._only_township_level:
            codes = self._township_codes
            keep = np.fromiter((c in codes for c in regions), bool, len(regions))
        regions = regions[keep]
        return TownshipValues(indicator, _to_date(period) if len(regions) else None, regions,
                              _nan(res["value"])[keep], _nan(res["prev_value"])[keep],
                              _nan(res["yoy_value"])[keep])

    # Up to this many regions with children (a province's cities and counties), a level's
    # figures are read for every level at once: the scan of the indicator's slice costs what
    # one level's does (8-12 ms against 5-15 ms at province scale), so drilling from county to
    # county after an indicator or period change reads nothing more.
    EVERY_LEVEL_MAX = 256

    @cached_property
    def _every_level_at_once(self) -> bool:
        parents = sum(1 for r in self.regions if self.hierarchy.has_children(r.code))
        return self.hierarchy.multi_level and parents <= self.EVERY_LEVEL_MAX

    @memoised
    def _every_child_values(self, indicator: str, month: date) -> dict[str, TownshipValues]:
        """child_values of every region with children, in one query."""
        period = self.effective_period(indicator, month)
        if period is None:
            return {}
        res = self._cur().execute(
            """
            SELECT r.parent, o.region, o.value, o.prev_value, o.yoy_value
            FROM observations o JOIN regions r ON r.code = o.region
            WHERE o.indicator = $ind AND o.period = $period AND r.parent IS NOT NULL
            ORDER BY r.parent, r.sort_order NULLS LAST, r.code
            """, {"ind": indicator, "period": period}).fetchnumpy()
        codes, out = self._code_objects, {}
        parents = np.asarray(res["parent"], dtype=object)
        regions = np.array([codes.get(c, c) for c in res["region"]], dtype=object)
        values, prev, yoy = _nan(res["value"]), _nan(res["prev_value"]), _nan(res["yoy_value"])
        for start, end in _runs(parents):
            out[codes.get(parents[start], parents[start])] = TownshipValues(
                indicator, _to_date(period), regions[start:end], values[start:end],
                prev[start:end], yoy[start:end])
        return out

    @memoised
    def _every_child_band(self, indicator: str) -> dict[str, Band]:
        """child_band of every region with children, in one query."""
        res = self._cur().execute(
            """
            SELECT r.parent, o.period, min(o.value) AS lo, max(o.value) AS hi
            FROM observations o JOIN regions r ON r.code = o.region
            WHERE o.indicator = ? AND r.parent IS NOT NULL
            GROUP BY r.parent, o.period ORDER BY r.parent, o.period
            """, [indicator]).fetchnumpy()
        parents = np.asarray(res["parent"], dtype=object)
        periods = np.asarray(res["period"], dtype="datetime64[D]")
        lo, hi = _nan(res["lo"]), _nan(res["hi"])
        out = {}
        for start, end in _runs(parents):
            out[parents[start]] = Band(periods[start:end], lo[start:end], hi[start:end])
        return out

    @cached_property
    def _level_blocks(self) -> bool:
        """A county's figures are read with its townships' (the country: its 3,000 counties
        and cities are too many to read every level at once)."""
        return self.hierarchy.multi_level and not self._every_level_at_once

    def _in_blocks(self, parent: str) -> bool:
        """`parent`'s level is read as a block: its children are townships, whose rows lie
        together in region order. (The provinces of the country span every region's rows:
        there one period's slice in indicator order is cheaper, ~100 ms against ~300.)"""
        h = self.hierarchy
        return (self._level_blocks and h.has_children(parent)
                and not h.has_children(h.children(parent)[0]))

    @memoised
    def _level_block(self, parent: str, indicator: str) -> dict[str, tuple[np.ndarray, ...]]:
        """Every figure of one indicator of `parent` and its children, every period, in one
        read of the region-ordered facts (a county and its few dozen townships: a row group
        or two): the level's map, ranking and band and every line of its trend, which asked a
        query each (~10 ms each at nation scale however little they read). region →
        (periods, values, previous values, year-ago values)."""
        places = [parent, *self.hierarchy.children(parent)]
        # The range is implied by the equalities; said, it lets the zone maps skip the rest.
        res = self._cur().execute(
            f"""
            SELECT region, period, value, prev_value, yoy_value FROM {self._by_region}
            WHERE indicator = ? AND region >= ? AND region <= ?
              AND {_one_of("region", len(places))}
            ORDER BY region, period
            """, [indicator, min(places), max(places), *places]).fetchnumpy()
        regions = np.asarray(res["region"], dtype=object)
        columns = (np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["value"]),
                   _nan(res["prev_value"]), _nan(res["yoy_value"]))
        for column in columns:
            column.setflags(write=False)
        return {regions[a]: tuple(c[a:b] for c in columns) for a, b in _runs(regions)}

    def _block_values(self, parent: str, indicator: str, period) -> TownshipValues:
        """child_values from the level's block."""
        block, day = self._level_block(parent, indicator), np.datetime64(_to_date(period), "D")
        regions, rows = [], []
        for child in self.hierarchy.children(parent):
            found = block.get(child)
            if found is not None:
                k = int(np.searchsorted(found[0], day))
                if k < len(found[0]) and found[0][k] == day:
                    regions.append(child)
                    rows.append((found[1][k], found[2][k], found[3][k]))
        codes = self._code_objects
        figures = np.array(rows, dtype=float).reshape(len(rows), 3)
        return TownshipValues(indicator, _to_date(period) if regions else None,
                              np.array([codes.get(c, c) for c in regions], dtype=object),
                              figures[:, 0].copy(), figures[:, 1].copy(), figures[:, 2].copy())

    def _block_band(self, parent: str, indicator: str) -> Band | None:
        """child_band from the level's block: per period, the children's lowest and highest
        figure (NaN where none reported one, as SQL's min of NULLs)."""
        block = self._level_block(parent, indicator)
        parts = [block[c] for c in self.hierarchy.children(parent) if c in block]
        if not parts:
            return None
        periods, at = np.unique(np.concatenate([p[0] for p in parts]), return_inverse=True)
        values = np.concatenate([p[1] for p in parts])
        lo, hi = np.full(len(periods), np.inf), np.full(len(periods), -np.inf)
        np.fmin.at(lo, at, values)
        np.fmax.at(hi, at, values)
        lo[np.isinf(lo)] = np.nan
        hi[np.isinf(hi)] = np.nan
        return Band(periods, lo, hi)

    @memoised
    def child_values(self, parent: str, indicator: str, month: date) -> TownshipValues:
        """One indicator in one period for every child of `parent`: the map and the ranking of
        one level (a city's counties, a county's townships)."""
        if parent == self.county.code and not self.hierarchy.multi_level:
            return self.township_values(indicator, month)   # the one-level warehouse
        if self._every_level_at_once:
            return self._every_child_values(indicator, month).get(parent) \
                or _no_values(indicator)
        period = self.effective_period(indicator, month)
        if period is None:
            return _no_values(indicator)
        if self._in_blocks(parent):
            return self._block_values(parent, indicator, period)
        res = self._cur().execute(
            """
            SELECT o.region, o.value, o.prev_value, o.yoy_value
            FROM observations o JOIN regions r ON r.code = o.region
            WHERE o.indicator = $ind AND o.period = $period AND r.parent = $parent
            ORDER BY r.sort_order NULLS LAST, r.code
            """, {"ind": indicator, "period": period, "parent": parent}).fetchnumpy()
        codes = self._code_objects
        regions = np.array([codes.get(c, c) for c in res["region"]], dtype=object)
        return TownshipValues(indicator, _to_date(period) if len(regions) else None, regions,
                              _nan(res["value"]), _nan(res["prev_value"]),
                              _nan(res["yoy_value"]))

    @memoised
    def child_band(self, parent: str, indicator: str) -> Band | None:
        """Per period, the lowest and highest figure of `parent`'s children (the trend's band
        behind a county or a city). None without data."""
        if parent == self.county.code and not self.hierarchy.multi_level:
            return self.township_band(indicator)
        children = self.hierarchy.children(parent)
        if not children:
            return None
        if self._every_level_at_once:
            return self._every_child_band(indicator).get(parent)
        if self._in_blocks(parent):
            return self._block_band(parent, indicator)
        # A few dozen places: their rows in region order (a row group or two each).
        res = self._cur().execute(
            f"""
            SELECT period, min(value) AS lo, max(value) AS hi FROM {self._by_region}
            WHERE indicator = ? AND {_one_of("region", len(children))}
            GROUP BY period ORDER BY period
            """, [indicator, *children]).fetchnumpy()
        if not len(res["period"]):
            return None
        return Band(np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["lo"]),
                    _nan(res["hi"]))

    @cached_property
    def _has_derived(self) -> bool:
        """Whether the snapshot records derived figures (asked once, not per place)."""
        return bool(self._cur().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'derived_figures'"
            " AND database_name = ?", [self.snapshot.ALIAS]).fetchone()[0])

    def provenance(self, region: str) -> dict[tuple[str, date], tuple[int, int]]:
        """The figures of a region that were derived from the level below at import or build
        time: (indicator, period) → (children counted, children in all)."""
        cache = self.__dict__.setdefault("_provenance", {})
        if region not in cache:
            rows = self._cur().execute(
                "SELECT indicator, period, children, of_children FROM derived_figures"
                " WHERE region = ?", [region]).fetchall() if self._has_derived else []
            cache[region] = {(ind, period): (n, of) for ind, period, n, of in rows}
        return cache[region]

    def derived(self, region: str, indicator: str, period: date | None) -> tuple[int, int] | None:
        """(children counted, children in all) when that figure was derived, else None."""
        if period is None:
            return None
        return self.provenance(region).get((indicator, _to_date(period)))

    @memoised
    def township_band(self, indicator: str) -> Band | None:
        """Per period, the lowest and highest township value (the trend's band), in one query
        (not one series per township: 40,000 of them at nation scale). None without data."""
        res = self._cur().execute(
            """
            SELECT o.period, min(o.value) AS lo, max(o.value) AS hi FROM observations o
            ANTI JOIN (SELECT code FROM regions WHERE level <> 'township') a ON a.code = o.region
            WHERE o.indicator = ?
            GROUP BY o.period ORDER BY o.period
            """, [indicator]).fetchnumpy()
        if not len(res["period"]):
            return None
        return Band(np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["lo"]),
                    _nan(res["hi"]))

    @memoised
    def _place_rows(self, region: str, indicators: list[str], month: date) -> tuple:
        """(indicators, periods, values, previous, year-ago) of one place's rows of several
        indicators up to `month`, by indicator and period: the KPI cards' figures and their
        sparklines in one read (they asked one each, ~10 ms each at nation scale)."""
        # One place's rows (a row group or two in region order); the latest per indicator and
        # the last few periods picked here: a window function costs more than the few dozen
        # rows it saves.
        res = self._cur().execute(
            f"""
            SELECT indicator, period, value, prev_value, yoy_value FROM {self._by_region}
            WHERE region = ? AND {_one_of("indicator", len(indicators))} AND period <= ?
            ORDER BY indicator, period
            """, [region, *indicators, month]).fetchnumpy()
        return (np.asarray(res["indicator"], dtype=object),
                np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["value"]),
                _nan(res["prev_value"]), _nan(res["yoy_value"]))

    @memoised
    def kpis(self, region: str, indicators: list[str], month: date) -> dict[str, KpiValue]:
        """Value, previous period and same period last year for several indicators at once."""
        codes, periods, values, prev, yoy = self._place_rows(region, indicators, month)
        out = {}
        for code in indicators:
            at = np.flatnonzero(codes == code)
            if not len(at):
                out[code] = KpiValue(code, None, None, None, None)
                continue
            k = at[-1]   # the latest period up to the month
            out[code] = KpiValue(code, periods[k].item(), *(_or_none(a[k])
                                                          for a in (values, prev, yoy)))
        return out

    @memoised
    def series(self, region: str, indicator: str, start: date | None = None,
               end: date | None = None) -> Series:
        view = self.hierarchy.view_of(region) if self._level_blocks else None
        if view is not None and region in self.hierarchy.by_code and self._in_blocks(view):
            found = self._level_block(view, indicator).get(region)
            if found is None:
                return Series(np.empty(0, "datetime64[D]"), np.empty(0))
            periods = found[0]
            keep = ((periods >= np.datetime64(start or date(1900, 1, 1), "D"))
                    & (periods <= np.datetime64(end or date(2999, 12, 1), "D")))
            return Series(periods[keep], found[1][keep])
        res = self._cur().execute(
            f"""
            SELECT period, value FROM {self._by_region}
            WHERE indicator = ? AND region = ? AND period >= ? AND period <= ?
            ORDER BY period
            """, [indicator, region, start or date(1900, 1, 1), end or date(2999, 12, 1)]
        ).fetchnumpy()
        return Series(np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["value"]))

    @memoised
    def series_many(self, region: str, indicators: list[str], end: date,
                    count: int) -> dict[str, Series]:
        """The last `count` periods up to `end` of several indicators (KPI sparklines)."""
        codes, periods, values, _, _ = self._place_rows(region, indicators, end)
        out = {}
        for code in indicators:
            mask = codes == code
            n = int(mask.sum())
            first = n - count if count > 0 else n
            out[code] = Series(periods[mask][max(first, 0):], values[mask][max(first, 0):])
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
              AND r.code = o.region AND r.level = 'township'
              AND (r.parent = $county OR $deep)
            GROUP BY i.aggregation
            """, {"ind": indicator, "month": month, "county": self.county.code,
                  "deep": self._only_township_level}).fetchone()
        return None if row is None else row[0]

    @memoised
    def township_profile(self, region: str, month: date, parent: str | None = None
                         ) -> list[dict]:
        """Every indicator for one region: value, its parent's value (the county's, by default
        the root's), its rank among its peers, changes, target.

        Peers are the root's townships in a one-level warehouse, else the region's siblings
        (a township among its county's townships, a county among the city's counties)."""
        h = self.hierarchy
        if parent is None:
            parent = h.parent(region) if h.multi_level else None
            parent = parent or self.county.code
        facts = self._by_region
        siblings = h.multi_level and parent in h.by_code and region != self.county.code
        if siblings:
            peers_from = "JOIN regions pr ON pr.code = o.region AND pr.parent = $parent"
            peers_where = "TRUE"
        else:
            # Peers are the townships (not the county, city or province aggregates); counting
            # the better ones per indicator ranks without a window over every township's row.
            peers_from = ("ANTI JOIN (SELECT code FROM regions WHERE level <> 'township') a"
                          " ON a.code = o.region")
            peers_where = "$township"
        params = {"month": month, "region": region, "county": parent}
        if siblings:
            params["parent"] = parent
        else:
            params["township"] = region in self._township_codes
        rows = self._cur().execute(
            f"""
            WITH p AS (SELECT indicator, max(period) AS period FROM {facts}
                       WHERE period <= $month AND region = $region GROUP BY indicator),
            me AS (SELECT o.indicator, o.period, o.value, o.prev_value, o.yoy_value
                   FROM {facts} o JOIN p USING (indicator, period) WHERE o.region = $region),
            peers AS (
                SELECT me.indicator,
                       count(*) FILTER (WHERE CASE i.polarity WHEN 'lower' THEN o.value < me.value
                                                          ELSE o.value > me.value END) + 1 AS rank,
                       count(*) AS n
                FROM me JOIN observations o USING (indicator, period)
                JOIN indicators i ON i.code = me.indicator
                {peers_from}
                WHERE {peers_where}
                GROUP BY me.indicator
            )
            SELECT me.indicator, me.period, me.value, me.prev_value, me.yoy_value,
                   c.value AS county, peers.rank, peers.n
            FROM me
            LEFT JOIN {facts} c ON c.indicator = me.indicator AND c.period = me.period
                                AND c.region = $county
            LEFT JOIN peers ON peers.indicator = me.indicator
            """, params).fetchall()
        keys = ("indicator", "period", "value", "prev_value", "yoy_value", "county_value",
                "rank", "rank_of")
        by_code = {r[0]: dict(zip(keys, r)) for r in rows}
        return [by_code[i.code] for i in self.indicators if i.code in by_code]

    def _under_sql(self, region: str) -> str:
        """SQL for "column `region` is at or below $region" (events are recorded where they happen)."""
        if not self.hierarchy.has_children(region):
            return "region = $region"
        return ("region IN (WITH RECURSIVE under(code) AS (SELECT CAST($region AS VARCHAR)"
                " UNION ALL SELECT r.code FROM regions r JOIN under u ON r.parent = u.code)"
                " SELECT code FROM under)")

    # A month's events are few (a province's ~150, a county's few hundred): read once for every
    # place, they answer each township's list and counts of that month without a query each
    # (a query costs 1-4 ms here however little it reads; a selection asked two or three).
    WINDOW_EVENTS_MAX = 5000
    _EVENT_KEYS = ("id", "region", "region_name", "source", "category", "summary",
                   "reported_at", "deadline_at", "closed_at", "status", "lon", "lat")

    @memoised
    def _window_events(self, start: date, end: date) -> list[dict] | None:
        """Every event reported in [start, end), newest first, with its place's name (None for
        a place the warehouse does not know); None when there are more than
        WINDOW_EVENTS_MAX (each place then asks the database)."""
        rows = self._cur().execute(
            """
            SELECT id, region, source, category, summary, reported_at, deadline_at, closed_at,
                   status, lon, lat
            FROM events WHERE reported_at >= $start AND reported_at < $end
            ORDER BY reported_at DESC, id
            LIMIT $limit
            """, {"start": start, "end": end, "limit": self.WINDOW_EVENTS_MAX + 1}).fetchall()
        if len(rows) > self.WINDOW_EVENTS_MAX:
            return None
        by_code = self.region_by_code
        return [dict(zip(self._EVENT_KEYS, (row[0], row[1], by_code[row[1]].name
                                            if row[1] in by_code else None, *row[2:])))
                for row in rows]

    # From this many events on (a province's quarter, the country's ~70,000 a month) a place's
    # events are found through an index of every event's place, time and status, read once
    # (~0.3 s and ~40 MB for the country's 215,000): there a month's events are too many to
    # read whole (_window_events), and each count of one township scanned the table (~65 ms
    # per selection, two or three of them).
    EVENT_INDEX_MIN = 20000
    # Regions with more places under them ask the database: the rows of a list are read back
    # by their places' codes, and a city's newest 200 events lie in as many places.
    EVENT_INDEX_PLACES = 64

    def prepare(self) -> None:
        """Read ahead what a large warehouse's later questions share (its event index), so
        that the first of them does not wait for it."""
        _ = self._event_index

    @property
    def _event_index(self) -> _EventIndex | None:
        with self._event_index_lock:   # (the GUI thread and the query worker may both ask)
            if self._event_index_read is _MISSING:
                self._event_index_read = self._read_event_index()
            return self._event_index_read

    def _read_event_index(self) -> _EventIndex | None:
        if self._cur().execute("SELECT count(*) FROM events").fetchone()[0] \
                < self.EVENT_INDEX_MIN:
            return None
        res = self._cur().execute(
            "SELECT region, reported_at, status FROM events").fetchnumpy()
        number = {r.code: k for k, r in enumerate(self.regions)}
        raw, status = res["region"], res["status"]
        places = np.fromiter(map(number.get, raw, repeat(-1)), np.int64, len(raw))
        times = np.asarray(res["reported_at"], "datetime64[us]").view(np.int64)
        order = np.lexsort((times, places))
        names = sorted(set(status.tolist()))   # (np.unique sorts 215,000 strings: ~1 s)
        status_of = {name: k for k, name in enumerate(names)}
        statuses = np.fromiter(map(status_of.__getitem__, status), np.int16, len(status))
        return _EventIndex(number, places[order], times[order], statuses[order], names)

    def _indexed_events(self, region: str | None, start: date | None, end: date | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(times, status numbers, place numbers) of the events under `region` in
        [start, end), from the event index; None where the index is not used (a small
        warehouse, the root, a province)."""
        if region is None:
            return None
        under = self._places_under(region)
        if len(under) > self.EVENT_INDEX_PLACES:
            return None
        index = self._event_index
        if index is None:
            return None
        return index.find(under, start, end)

    def _places_under(self, region: str) -> frozenset:
        """`region` and every region below it (where its events are recorded)."""
        cache = self.__dict__.setdefault("_under", {})
        found = cache.get(region)
        if found is None:
            out, todo = set(), [region]
            while todo:
                code = todo.pop()
                out.add(code)
                todo += self.hierarchy.children(code)
            found = cache[region] = frozenset(out)
        return found

    @memoised
    def events(self, region: str | None, start: date | None = None, end: date | None = None,
               limit: int = 200) -> list[dict]:
        """Events in a region and everywhere under it (every event for the root or None),
        newest first."""
        if region == self.county.code:
            region = None
        found = self._indexed_events(region, start, end)
        if found is not None:
            return self._events_found(found, limit)
        window = (self._window_events(start, end) if start is not None and end is not None
                  else None)
        if window is not None:
            under = None if region is None else self._places_under(region)
            # (events of places the warehouse does not know are left out, as below)
            return [e for e in window if e["region_name"] is not None
                    and (under is None or e["region"] in under)][:limit]
        # The newest `limit` first, their township names looked up here: joining every event
        # of a province or the country to 40,000 regions before the limit costs tens of ms.
        params = {"start": start or date(1900, 1, 1), "end": end or date(2999, 1, 1),
                  "limit": limit}
        where = "reported_at >= $start AND reported_at < $end"
        if region is not None:
            where = self._under_sql(region) + " AND " + where
            params["region"] = region
        cur = self._cur().execute(
            f"""
            SELECT id, region, source, category, summary, reported_at, deadline_at, closed_at,
                   status, lon, lat
            FROM events WHERE {where}
            ORDER BY reported_at DESC, id
            LIMIT $limit
            """, params)
        rows = cur.fetchall()
        by_code = self.region_by_code
        if all(row[1] in by_code for row in rows):
            keys = ("id", "region", "region_name", "source", "category", "summary",
                    "reported_at", "deadline_at", "closed_at", "status", "lon", "lat")
            return [dict(zip(keys, (row[0], row[1], by_code[row[1]].name, *row[2:])))
                    for row in rows]
        # Events of regions the warehouse does not know: leave them out before the limit.
        place = "TRUE" if region is None else self._under_sql(region)
        cur = self._cur().execute(
            f"""
            WITH e AS (
                SELECT * FROM events
                WHERE {place}
                  AND reported_at >= $start AND reported_at < $end
                ORDER BY reported_at DESC, id
                LIMIT $limit)
            SELECT e.id, e.region, r.name AS region_name, e.source, e.category, e.summary,
                   e.reported_at, e.deadline_at, e.closed_at, e.status, e.lon, e.lat
            FROM e JOIN regions r ON r.code = e.region
            ORDER BY e.reported_at DESC, e.id
            """, {"start": start or date(1900, 1, 1), "end": end or date(2999, 1, 1),
                  "limit": limit, **({} if region is None else {"region": region})})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def _events_found(self, found, limit: int) -> list[dict]:
        """The newest `limit` of the events the index found, read from the table: only the
        places and the time span they have (zone maps skip the rest of the table)."""
        times, _, places = found
        if not len(times) or limit <= 0:
            return []
        newest = np.sort(times)[::-1][:limit]
        first, last = (np.datetime64(int(t), "us").astype(object)
                       for t in (newest[-1], newest[0]))
        regions = self.regions   # (the places of every event from the first time on: ties)
        codes = sorted({regions[k].code for k in places[times >= newest[-1]].tolist()})
        rows = self._cur().execute(
            f"""
            SELECT id, region, source, category, summary, reported_at, deadline_at, closed_at,
                   status, lon, lat
            FROM events WHERE reported_at >= ? AND reported_at <= ?
              AND {_one_of("region", len(codes))}
            ORDER BY reported_at DESC, id
            LIMIT ?
            """, [first, last, *codes, limit]).fetchall()
        by_code = self.region_by_code
        return [dict(zip(self._EVENT_KEYS, (row[0], row[1], by_code[row[1]].name, *row[2:])))
                for row in rows]

    @memoised
    def event_points(self, start: date, end: date, region: str | None = None
                     ) -> dict[str, np.ndarray]:
        """Event locations for the map's point layer (only those under `region` if given)."""
        if region == self.county.code:
            region = None
        place = "TRUE" if region is None else self._under_sql(region)
        res = self._cur().execute(
            f"""SELECT lon, lat, source, status FROM events
               WHERE reported_at >= $start AND reported_at < $end AND {place}""",
            {"start": start, "end": end,
             **({} if region is None else {"region": region})}).fetchnumpy()
        return {k: np.asarray(v) for k, v in res.items()}

    @memoised
    def event_counts(self, region: str | None, start: date, end: date) -> dict[str, int]:
        if region == self.county.code:
            region = None
        found = self._indexed_events(region, start, end)
        if found is not None:
            names = self._event_index.status_names
            numbers, counted = np.unique(found[1], return_counts=True)
            return {names[k]: int(n) for k, n in zip(numbers.tolist(), counted.tolist())}
        window = self._window_events(start, end)
        if window is not None:
            under = None if region is None else self._places_under(region)
            counts: dict[str, int] = {}
            for e in window:
                if under is None or e["region"] in under:
                    counts[e["status"]] = counts.get(e["status"], 0) + 1
            return counts
        place = "TRUE" if region is None else self._under_sql(region)
        rows = self._cur().execute(
            f"""SELECT status, count(*) FROM events
               WHERE {place} AND reported_at >= $start AND reported_at < $end GROUP BY status""",
            {"start": start, "end": end,
             **({} if region is None else {"region": region})}).fetchall()
        return dict(rows)

    @memoised
    def event_categories(self, region: str | None, start: date, end: date,
                         limit: int = 3) -> list[tuple[str, int]]:
        """The most frequent event categories in a township (or the county), most first."""
        if region == self.county.code:
            region = None
        place = "TRUE" if region is None else self._under_sql(region)
        return self._cur().execute(
            f"""SELECT category, count(*) AS n FROM events
               WHERE {place} AND reported_at >= $start AND reported_at < $end
               GROUP BY category ORDER BY n DESC, category LIMIT $limit""",
            {"start": start, "end": end, "limit": limit,
             **({} if region is None else {"region": region})}).fetchall()

    # -- plan targets --------------------------------------------------------------------------
    @cached_property
    def stored_targets(self) -> list[Target]:
        """Targets loaded from targets files (the `targets` table; absent in older snapshots)."""
        found = self._cur().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'targets'"
            " AND database_name = ?", [self.snapshot.ALIAS]).fetchone()[0]
        if not found:
            return []
        rows = self._cur().execute(
            "SELECT indicator, plan, target_year, target_value, baseline_year, baseline_value,"
            " source FROM targets ORDER BY target_year, plan, indicator").fetchall()
        return [Target(*row) for row in rows]

    @memoised
    def township_window(self, indicator: str, start: date, end: date) -> dict[str, np.ndarray]:
        """Every township's values of one indicator for periods in [start, end]: the plan
        page's contributions compare each township's baseline year with its latest year."""
        res = self._cur().execute(
            """
            SELECT o.region, o.period, o.value FROM observations o
            ANTI JOIN (SELECT code FROM regions WHERE level <> 'township') a ON a.code = o.region
            WHERE o.indicator = $ind AND o.period >= $start AND o.period <= $end
            ORDER BY o.region, o.period
            """, {"ind": indicator, "start": start, "end": end}).fetchnumpy()
        regions = np.asarray(res["region"], dtype=object)
        if not self._only_township_level and len(regions):
            codes = self._township_codes
            keep = np.fromiter((c in codes for c in regions), bool, len(regions))
        else:
            keep = slice(None)
        return {"region": regions[keep],
                "period": np.asarray(res["period"], dtype="datetime64[D]")[keep],
                "value": _nan(res["value"])[keep]}

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
