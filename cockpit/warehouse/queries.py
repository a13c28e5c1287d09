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
from functools import cached_property, partial, wraps
from itertools import islice, repeat
from typing import Callable

import numpy as np

from ..core import i18n
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


def _memo_key(name: str, *args) -> tuple:
    """The key `memoised` files an answer under (positional arguments only)."""
    return (name, tuple(tuple(a) if isinstance(a, list) else a for a in args), ())


@dataclass(frozen=True)
class _EveryPlace:
    """Rows of several indicators for every region (or one), sorted by region, indicator and
    period; `runs` gives each (region, indicator)'s rows."""
    periods: np.ndarray      # datetime64[D]
    values: np.ndarray
    prev_values: np.ndarray
    yoy_values: np.ndarray
    runs: dict               # (region code, indicator code) -> (start, end)

    def until(self, region: str, indicator: str, month: date) -> tuple[int, int]:
        """The rows of `region` and `indicator` up to `month`: (start, end)."""
        start, end = self.runs.get((region, indicator), (0, 0))
        return start, start + int(np.searchsorted(self.periods[start:end],
                                                  np.datetime64(month, "D"), "right"))


def _nan(values) -> np.ndarray:
    """Masked or object arrays from DuckDB to float with NaN for NULL."""
    # numpy.ma is imported only by whoever makes a masked array (DuckDB, for a column with
    # NULLs): asking np.ma here would import it (~20 ms at start-up) for nothing.
    ma = sys.modules.get("numpy.ma")
    if ma is not None and ma.isMaskedArray(values):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)


def _runs(keys: np.ndarray):
    """(start, end) of each run of equal keys in an array sorted by them."""
    if not len(keys):
        return []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return zip(starts, np.r_[starts[1:], len(keys)])


def _none_if_nan(value: float):
    return None if value != value else value   # NULL read through numpy comes back as NaN


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


def _frozen(value):
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (Series, TownshipValues, Band, _EveryPlace)):
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


def _nbytes(value) -> int:
    """Roughly what an answer holds in memory: arrays by size, containers by their items."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (Series, TownshipValues, Band, _EveryPlace)):
        return 64 + sum(_nbytes(v) for v in vars(value).values())
    if isinstance(value, dict):
        return 64 + sum(64 + _nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        # Items of one answer have one shape (a month's events: hundreds of dicts): the first
        # stands for all, or the estimate costs more than the query (5 ms a period step).
        return 64 + len(value) * (64 + _nbytes(value[0])) if value else 64
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
        # The indicator lists read_every_place read (a few: one per domain tab).
        self._every_figures_read: list[tuple] = []
        # What read_every_place keeps for the snapshot's life (None until it has run).
        self._every_event: tuple[list[dict], np.ndarray] | None = None
        self._every_child_geometry: dict[str, dict[str, bytes]] | None = None
        self._every_event_by_place: dict | None = None   # see _window_of_place

        self._event_index_lock = threading.Lock()
        self._event_index_read = _MISSING
        self._every_period: dict[str, list[date]] | None = None   # see read_every_period

    def _cur(self):
        self.reads += 1
        return self.snapshot.cursor()

    def _kept(self, name: str, *args):
        """The memoised answer of `name(*args)` if it is kept, else None (nothing is read);
        found, it counts as used (the memo forgets the least recently used first)."""
        key = _memo_key(name, *args)
        with self._memo_lock:
            found = self._memo.get(key)
            if found is not None:
                self._memo.move_to_end(key)
            return found

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
    def _place_names_en(self) -> dict[str, str]:
        """Chinese place names → English: the regions', and the city above a county warehouse
        (meta city_name / city_name_en), as departments' names use them."""
        meta = self.meta
        pairs = [(r.name, r.name_en) for r in self.regions]
        return i18n.place_names(pairs + [(meta.get("city_name"), meta.get("city_name_en"))])

    def department(self, name: str | None, lang: str | None) -> str:
        """A source department's name in `lang` (i18n.department), with this warehouse's places."""
        if i18n.lang_of(lang) != "en":
            return name or ""
        return i18n.department(name, lang, self._place_names_en)

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

    def _township_level_codes(self, every_one: bool) -> list[str]:
        """The township-level regions in storage order: every one, or those under the root."""
        if every_one:
            return [r.code for r in self.regions if r.level == "township"]
        return [r.code for r in self.townships]

    @cached_property
    def _only_township_level(self) -> bool:
        """True when every township-level region is under the root (SQL can filter by level)."""
        return len(self.townships) == sum(r.level == "township" for r in self.regions)

    # Up to this many observations in all (a county with a decade of monthly figures for a few
    # hundred indicators), an indicator's figures are read for every place at once the first
    # time they are asked for, and every later question about them (a township, a month, the
    # band) is answered from those columns: a query costs 2.5-10 ms here however little it
    # reads, and a period step on the county asked about ten (38 ms of its 112).
    SMALL_ROWS = 400_000

    @cached_property
    def small(self) -> bool:
        """True when this warehouse's figures are read every place at once, on first use."""
        count = self._cur().execute("SELECT count(*) FROM observations").fetchone()[0]
        return count <= self.SMALL_ROWS

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
        if self._every_child_geometry is not None:
            return dict(self._every_child_geometry.get(parent, {}))
        rows = self._cur().execute(
            "SELECT code, geometry FROM regions WHERE parent = ? AND geometry IS NOT NULL"
            " ORDER BY sort_order NULLS LAST, code", [parent]).fetchall()
        return {code: bytes(wkb) for code, wkb in rows}

    def _read_every_child_geometry(self) -> None:
        """(read_every_place:) every level's outlines by parent, kept in
        `_every_child_geometry` (a province's: 2 MB, ~20 ms once; a query per drill cost 2-4 ms
        of each first visit to a county)."""
        if self._every_child_geometry is not None:
            return
        out: dict[str, dict[str, bytes]] = {}
        for parent, code, wkb in self._cur().execute(
                "SELECT parent, code, geometry FROM regions"
                " WHERE parent IS NOT NULL AND geometry IS NOT NULL"
                " ORDER BY parent, sort_order NULLS LAST, code").fetchall():
            out.setdefault(parent, {})[code] = bytes(wkb)
        self._every_child_geometry = out

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
        if self.small:   # from the figures read for every place (read anyway for the map)
            return np.unique(self._every_series(indicator).periods).astype(date).tolist()
        every = self._every_period   # (read_every_period, once read)
        if every is not None:
            return list(every.get(indicator, ()))
        return [row[0] for row in self._cur().execute(
            "SELECT DISTINCT period FROM observations WHERE indicator = ? ORDER BY period",
            [indicator]).fetchall()]

    @memoised
    def township_values(self, indicator: str, month: date) -> TownshipValues:
        """The map's and the ranking's data: one indicator, every township, one period."""
        period = self.effective_period(indicator, month)
        if period is None:
            return _no_values(indicator)
        if self.small:
            every, day = self._every_series(indicator), np.datetime64(period, "D")
            regions, rows = [], []
            for code in self._township_level_codes(self._only_township_level):
                start, end = every.runs.get((code, indicator), (0, 0))
                k = start + int(np.searchsorted(every.periods[start:end], day))
                if k < end and every.periods[k] == day:
                    regions.append(code)
                    rows.append(k)
            return TownshipValues(indicator, _to_date(period) if rows else None,
                                  np.array(regions, dtype=object), every.values[rows],
                                  every.prev_values[rows], every.yoy_values[rows])
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
        """child_values of every region with children, in one query (or none: cut from the
        indicator's every-place series)."""
        if self.every_place_at_once or self.small:
            return self._child_values_of_every_place(indicator, month)
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
        """child_band of every region with children, in one query (or none, as above)."""
        if self.every_place_at_once or self.small:
            return self._child_band_of_every_place(indicator)
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
        # Where every child's code extends its parent's (GB codes do), the range holds only
        # the parent and what lies below it: the equalities are left out of the SQL and the
        # places picked here, as DuckDB tested each row of the row groups read against each
        # of the county's few dozen codes (12-24 ms per new county in the country, now ~5).
        nested = all(code.startswith(parent) for code in places)
        res = self._cur().execute(
            f"""
            SELECT region, period, value, prev_value, yoy_value FROM {self._by_region}
            WHERE indicator = ? AND region >= ? AND region <= ?
              {"" if nested else "AND " + _one_of("region", len(places))}
            ORDER BY region, period
            """, [indicator, min(places), max(places),
                  *(() if nested else places)]).fetchnumpy()
        if nested:
            keep = np.isin(np.asarray(res["region"], dtype=object), places)
            if not keep.all():
                res = {name: column[keep] for name, column in res.items()}
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
        if self._every_level_at_once or self.small:
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
        if self._every_level_at_once or self.small:
            return self._every_child_band(indicator).get(parent)
        if self._in_blocks(parent):
            return self._block_band(parent, indicator)
        if parent != self.county.code:
            # A few dozen places: their rows in region order (a row group or two each).
            res = self._cur().execute(
                f"""
                SELECT period, min(value) AS lo, max(value) AS hi FROM {self._by_region}
                WHERE indicator = ? AND {_one_of("region", len(children))}
                GROUP BY period ORDER BY period
                """, [indicator, *children]).fetchnumpy()
        else:
            # The root's children (the country's provinces) and what lies below them are the
            # whole table, so no row group can be skipped: the indicator's rows matched to
            # the children by a join rather than each row tested against each code (~90-120
            # ms of the country's first paint instead of ~130-240).
            res = self._cur().execute(
                """
                SELECT period, min(value) AS lo, max(value) AS hi FROM observations
                WHERE indicator = ? AND region IN (SELECT code FROM regions WHERE parent = ?)
                GROUP BY period ORDER BY period
                """, [indicator, parent]).fetchnumpy()
        if not len(res["period"]):
            return None
        return Band(np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["lo"]),
                    _nan(res["hi"]))

    def provenance(self, region: str) -> dict[tuple[str, date], tuple[int, int]]:
        """The figures of a region that were derived from the level below at import or build
        time: (indicator, period) → (children counted, children in all)."""
        cache = self.__dict__.setdefault("_provenance", {})
        if region not in cache:
            rows = self._cur().execute(
                "SELECT indicator, period, children, of_children FROM derived_figures"
                " WHERE region = ?", [region]).fetchall() \
                if region in self._derived_regions else []
            cache[region] = {(ind, period): (n, of) for ind, period, n, of in rows}
        return cache[region]

    def _read_every_provenance(self) -> None:
        """(read_every_place:) every region's provenance at once, where there are not too
        many derived figures (EVERY_EVENT_MAX rows)."""
        regions = self._derived_regions
        cache = self.__dict__.setdefault("_provenance", {})
        if not regions or all(region in cache for region in regions) or self._cur().execute(
                "SELECT count(*) FROM derived_figures").fetchone()[0] > self.EVERY_EVENT_MAX:
            return
        found: dict[str, dict] = {region: {} for region in regions}
        for region, ind, period, n, of in self._cur().execute(
                "SELECT region, indicator, period, children, of_children"
                " FROM derived_figures").fetchall():
            found[region][(ind, period)] = (n, of)
        cache.update(found)

    @cached_property
    def _derived_regions(self) -> frozenset:
        """The regions with derived figures, read once: every other region's provenance is
        known to be empty without a query (a selection asked two, ~4 ms at province scale)."""
        found = self._cur().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'derived_figures'"
            " AND database_name = ?", [self.snapshot.ALIAS]).fetchone()[0]
        if not found:
            return frozenset()
        codes = self._code_objects
        return frozenset(codes.get(code, code) for (code,) in self._cur().execute(
            "SELECT DISTINCT region FROM derived_figures").fetchall())

    def derived(self, region: str, indicator: str, period: date | None) -> tuple[int, int] | None:
        """(children counted, children in all) when that figure was derived, else None."""
        if period is None:
            return None
        return self.provenance(region).get((indicator, _to_date(period)))

    @memoised
    def township_band(self, indicator: str) -> Band | None:
        """Per period, the lowest and highest township value (the trend's band), in one query
        (not one series per township: 40,000 of them at nation scale). None without data."""
        if self.small:
            every = self._every_series(indicator)
            rows = np.concatenate([np.arange(*every.runs.get((code, indicator), (0, 0)))
                                   for code in self._township_level_codes(True)] or [[]])
            rows = rows.astype(np.int64)
            if not len(rows):
                return None
            periods, at = np.unique(every.periods[rows], return_inverse=True)
            lo, hi = np.full(len(periods), np.inf), np.full(len(periods), -np.inf)
            np.minimum.at(lo, at, every.values[rows])
            np.maximum.at(hi, at, every.values[rows])
            return Band(periods, lo, hi)
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
    def kpis(self, region: str, indicators: list[str], month: date) -> dict[str, KpiValue]:
        """Value, previous period and same period last year for several indicators at once."""
        rows = self._figures(region, indicators, month)
        out = {}
        for code in indicators:
            start_at, end_at = rows.until(region, code, month)
            if end_at == start_at:
                out[code] = KpiValue(code, None, None, None, None)
                continue
            last = end_at - 1   # the latest period on or before the month
            out[code] = KpiValue(code, _to_date(rows.periods[last]),
                                 _none_if_nan(float(rows.values[last])),
                                 _none_if_nan(float(rows.prev_values[last])),
                                 _none_if_nan(float(rows.yoy_values[last])))
        return out

    @memoised
    def series(self, region: str, indicator: str, start: date | None = None,
               end: date | None = None) -> Series:
        every = self._every_series(indicator) if self.small else \
            self._kept("_every_series", indicator)
        view = self.hierarchy.view_of(region) if self._level_blocks and every is None else None
        if every is not None and region in self.region_by_code:
            start_at, end_at = every.runs.get((region, indicator), (0, 0))
            whole = Series(every.periods[start_at:end_at], every.values[start_at:end_at])
        elif view is not None and region in self.hierarchy.by_code and self._in_blocks(view):
            found = self._level_block(view, indicator).get(region)
            whole = Series(np.empty(0, "datetime64[D]"), np.empty(0)) if found is None \
                else Series(found[0], found[1])
        elif start is not None or end is not None:
            whole = self.series(region, indicator)   # a part of the place's one read
        else:
            res = self._cur().execute(
                f"""
                SELECT period, value FROM {self._by_region}
                WHERE indicator = ? AND region = ?
                ORDER BY period
                """, [indicator, region]).fetchnumpy()
            return Series(np.asarray(res["period"], dtype="datetime64[D]"), _nan(res["value"]))
        if start is None and end is None:
            return whole
        keep = np.ones(len(whole.periods), dtype=bool)
        if start is not None:
            keep &= whole.periods >= np.datetime64(start, "D")
        if end is not None:
            keep &= whole.periods <= np.datetime64(end, "D")
        return Series(whole.periods[keep], whole.values[keep])

    @memoised
    def series_many(self, region: str, indicators: list[str], end: date,
                    count: int) -> dict[str, Series]:
        """The last `count` periods up to `end` of several indicators (KPI sparklines)."""
        rows = self._figures(region, indicators, end)
        out = {}
        for code in indicators:
            start_at, end_at = rows.until(region, code, end)
            n = end_at - start_at
            first = start_at + max(n - count if count > 0 else n, 0)
            out[code] = Series(rows.periods[first:end_at], rows.values[first:end_at])
        return out

    def _figures(self, region: str, indicators: list[str], month: date) -> _EveryPlace:
        """Every period up to `month` of `indicators` for `region` (the cards' figures and
        sparklines): from the every-place read when it is kept, else the place's own rows, one
        query for both the figures and the sparklines."""
        wanted = set(indicators) if region in self.region_by_code else None
        for kept in list(self._every_figures_read) if wanted else ():
            if wanted <= set(kept):
                found = self._kept("_every_figures", kept)
                if found is not None:
                    return found
        if wanted and self.small:   # read now, for every place: the next place asks nothing
            return self._every_figures_of(indicators)
        return self._place_figures(region, tuple(indicators), month)

    @memoised
    def _place_figures(self, region: str, indicators: tuple, month: date) -> _EveryPlace:
        # One place's rows (a row group or two in region order): every period up to the month,
        # a few dozen rows; the latest and the last few are picked in numpy, not by a window
        # function over the table.
        return self._read_places(list(indicators), month, region)

    # -- every place at once -------------------------------------------------------------------
    # Up to this many regions (a province's ~1,500), what any place's selection shows (its
    # series of the indicator, its cards' figures and sparklines) is read for every place in one
    # query while the cockpit is idle (prewarm.py), so that a selection asks the warehouse
    # nothing: a query costs 1-7 ms here however little it reads, and a township selection
    # asked six to eight of them.
    EVERY_PLACE_MAX = 5000
    # The region codes as integers in SQL: 200,000 code strings made into Python objects cost
    # more than the query itself.
    _KEYED_REGIONS = ("(SELECT code, CAST(row_number() OVER (ORDER BY code) - 1 AS INTEGER) AS k"
                      " FROM regions)")

    @cached_property
    def every_place_at_once(self) -> bool:
        """True when reading every place's figures at once is worth it (a multi-level
        warehouse up to EVERY_PLACE_MAX regions; a county's selections read their own)."""
        return self.hierarchy.multi_level and len(self.regions) <= self.EVERY_PLACE_MAX

    @cached_property
    def _codes_by_key(self) -> list[str]:
        codes = self._code_objects
        return [codes.get(code, code) for (code,) in self._cur().execute(
            "SELECT code FROM regions ORDER BY code").fetchall()]

    def read_every_place(self, indicator: str, indicators: list[str]) -> None:
        """Read, for every region at once, the series of `indicator` and of `indicators` (the
        cards'), the outlines and the events; the queries of a selection, a period step or a
        playback answer from them while they are kept. Does nothing where
        every_place_at_once is False."""
        for step in self.every_place_steps(indicator, indicators):
            step()

    def every_place_steps(self, indicator: str, indicators: list[str]
                          ) -> list[Callable[[], None]]:
        """read_every_place in steps of at most ~0.2 s each (a province's events, then its
        outlines, provenance, the indicator's series and the cards' figures), for a reader
        that checks between them whether a change is waiting; none where every_place_at_once
        is False."""
        if not self.every_place_at_once:
            return []
        steps = [self.read_every_event, self._read_every_child_geometry,
                 self._read_every_provenance, partial(self._every_series, indicator)]
        if indicators:
            steps.append(partial(self._every_figures_of, list(indicators)))
        return steps

    def read_every_event(self) -> None:
        """Keep every event, by place, where they are few (EVERY_EVENT_MAX): a county's or a
        province's lists and counts of any window are then slices, not two or three queries of
        2-4 ms a period step. (A county's ~4,000 take 30-100 ms: read while the cockpit is
        idle, see prewarm.py.)"""
        self._read_every_event()
        if self._every_event is not None:
            self._every_event_grouped()

    def read_indicator(self, indicator: str) -> None:
        """Read ahead what a change to `indicator` asks first where one read answers every
        place (a small warehouse, or read_every_place's): its every-place series (~6 ms)."""
        if self.small or self.every_place_at_once:
            self._every_series(indicator)

    def _every_figures_of(self, indicators: list[str]) -> _EveryPlace:
        """_every_figures, noted so that any part of these indicators is answered from it."""
        key = tuple(indicators)
        found = self._every_figures(key)
        if key not in self._every_figures_read:
            self._every_figures_read.append(key)
            del self._every_figures_read[:-8]
        return found

    @memoised
    def _every_series(self, indicator: str) -> _EveryPlace:
        return self._read_places([indicator], None, None)

    @memoised
    def _every_figures(self, indicators: tuple) -> _EveryPlace:
        # Every period, not up to the month: playback and period steps cut their own.
        return self._read_places(list(indicators), None, None)

    @cached_property
    def _children_in_order(self) -> list[tuple[str, list[str]]]:
        """(parent, its children in storage order) for every region with children."""
        out: dict[str, list[str]] = {}
        for region in self.regions:
            if region.parent is not None:
                out.setdefault(region.parent, []).append(region.code)
        return list(out.items())

    def _slots(self, every: _EveryPlace, indicator: str) -> tuple[np.ndarray, list, list]:
        """For each row of `every`: its region's place among the children of every region in
        storage order (-1: a region without a parent); those children, and their parents'
        index in _children_in_order. Kept for the last few series: every month of a playback
        asks again."""
        kept = self.__dict__.setdefault("_kept_slots", {})
        found = kept.get(indicator)
        if found is not None and found[0] is every:
            return found[1]
        slot = np.full(len(every.periods), -1, dtype=np.int64)
        codes, parent_of = [], []
        for p, (_, children) in enumerate(self._children_in_order):
            for code in children:
                start, end = every.runs.get((code, indicator), (0, 0))
                slot[start:end] = len(codes)
                codes.append(code)
                parent_of.append(p)
        if len(kept) >= 4:
            kept.clear()
        kept[indicator] = (every, (slot, codes, parent_of))
        return slot, codes, parent_of

    def _child_values_of_every_place(self, indicator: str,
                                     month: date) -> dict[str, TownshipValues]:
        """_every_child_values cut from the indicator's every-place series: after an
        indicator change, a period step reads nothing."""
        every = self._every_series(indicator)
        periods = every.periods
        earlier = periods[periods <= np.datetime64(month, "D")]
        if not len(earlier):
            return {}
        period = earlier.max()
        slot, codes, parent_of = self._slots(every, indicator)
        rows = np.flatnonzero((periods == period) & (slot >= 0))
        rows = rows[np.argsort(slot[rows], kind="stable")]
        owners = np.asarray(parent_of, dtype=np.int64)[slot[rows]]
        names = np.array(codes, dtype=object)[slot[rows]]
        out = {}
        for start, end in _runs(owners):
            picked = rows[start:end]
            out[self._children_in_order[owners[start]][0]] = TownshipValues(
                indicator, _to_date(period), names[start:end], every.values[picked],
                every.prev_values[picked], every.yoy_values[picked])
        return out

    def _child_band_of_every_place(self, indicator: str) -> dict[str, Band]:
        """_every_child_band from the indicator's every-place series (NULLs ignored by min
        and max, as in SQL)."""
        every = self._every_series(indicator)
        slot, _, parent_of = self._slots(every, indicator)
        rows = np.flatnonzero(slot >= 0)
        owner_of_row = np.asarray(parent_of, dtype=np.int64)[slot[rows]]
        order = rows[np.lexsort((every.periods[rows], owner_of_row))]
        owners = np.asarray(parent_of, dtype=np.int64)[slot[order]]
        at = every.periods[order]
        starts = np.flatnonzero(np.r_[True, (owners[1:] != owners[:-1]) | (at[1:] != at[:-1])])
        if not len(order):
            return {}
        values = every.values[order]
        lo, hi = np.fmin.reduceat(values, starts), np.fmax.reduceat(values, starts)
        owners, at = owners[starts], at[starts]
        return {self._children_in_order[owners[start]][0]:
                Band(at[start:end], lo[start:end], hi[start:end])
                for start, end in _runs(owners)}

    def _read_places(self, indicators: list[str], month: date | None,
                     region: str | None) -> _EveryPlace:
        """The rows of `indicators` (up to `month`) of one region, or of every region."""
        which = " ".join(f"WHEN o.indicator = ? THEN {j}" for j in range(len(indicators)))
        params = [*indicators]
        where = "TRUE"
        if region is None:
            where = _one_of("o.indicator", len(indicators))
            params += indicators
        if month is not None:
            where += " AND o.period <= ?"
            params.append(month)
        if region is not None:
            # One place's rows are few (a row group's slice): every indicator's are read and
            # the others dropped below, as testing each row of the row group against each
            # indicator cost more than reading them (~6 ms against ~4).
            source, key = f"{self._by_region} o", "0"
            where += " AND o.region = ?"
            params.append(region)
        else:
            source, key = f"observations o JOIN {self._KEYED_REGIONS} r ON r.code = o.region", "r.k"
        # Sorted here, not by DuckDB: its ORDER BY doubled the time of the every-place read.
        res = self._cur().execute(
            f"""
            SELECT {key} AS k, CAST(CASE {which} END AS INTEGER) AS j, o.period,
                   o.value, o.prev_value, o.yoy_value
            FROM {source}
            WHERE {where}
            """, params).fetchnumpy()
        if region is not None:
            picked = _nan(res["j"])
            keep = ~np.isnan(picked)
            res = {name: column[keep] for name, column in res.items()}
            res["j"] = picked[keep]
        n = len(indicators)
        periods = np.asarray(res["period"], dtype="datetime64[D]")
        pairs = np.asarray(res["k"], dtype=np.int64) * n + np.asarray(res["j"], dtype=np.int64)
        order = np.lexsort((periods, pairs))
        pairs = pairs[order]
        codes = [region] if region is not None else self._codes_by_key
        runs = {}
        for start, end in _runs(pairs):
            k, j = divmod(int(pairs[start]), n)
            runs[(codes[k], indicators[j])] = (int(start), int(end))
        return _EveryPlace(periods[order], _nan(res["value"])[order],
                           _nan(res["prev_value"])[order], _nan(res["yoy_value"])[order], runs)

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
        # Counted first: the country's month (~70,000 events) fetched its first 5,001 rows
        # only to find them too many (~0.2 s of its first paint; the count: a few ms).
        if self._cur().execute(
                "SELECT count(*) FROM events WHERE reported_at >= ? AND reported_at < ?",
                [start, end]).fetchone()[0] > self.WINDOW_EVENTS_MAX:
            return None
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

    # Up to this many events in all, where every place is read at once (a province: ~10,000),
    # they are read once and every window of them is cut out here: a quiet township's list
    # falls back to the 30 days before its latest event, a window of its own that cost a query
    # of 15-50 ms on a selection.
    EVERY_EVENT_MAX = 50_000

    def _read_every_event(self) -> None:
        """(read_every_place:) every event, newest first as _window_events gives them, with
        minus their report times in µs (ascending), kept in `_every_event` from then on."""
        if self._every_event is not None:
            return
        cur = self._cur()
        if cur.execute("SELECT count(*) FROM events").fetchone()[0] > self.EVERY_EVENT_MAX:
            return
        rows = cur.execute(
            """
            SELECT id, region, source, category, summary, reported_at, deadline_at, closed_at,
                   status, lon, lat
            FROM events WHERE reported_at IS NOT NULL
            ORDER BY reported_at DESC, id
            """).fetchall()
        by_code = self.region_by_code
        events = [dict(zip(self._EVENT_KEYS, (row[0], row[1], by_code[row[1]].name
                                              if row[1] in by_code else None, *row[2:])))
                  for row in rows]
        times = -np.array([row[5] for row in rows], dtype="datetime64[us]").astype(np.int64)
        self._every_event = (events, times)

    def _events_between(self, start: date, end: date) -> list[dict] | None:
        """_window_events, cut from every event where they are at hand (not memoised: a
        window is a slice, and sizing a kept answer of thousands of events costs more)."""
        every = self._every_event
        if every is None:
            return self._window_events(start, end)
        events, times = every
        first = np.searchsorted(times, -np.datetime64(end, "us").astype(np.int64), "right")
        last = np.searchsorted(times, -np.datetime64(start, "us").astype(np.int64), "right")
        return events[first:last]

    def _every_event_grouped(self) -> dict[str, tuple[list[dict], np.ndarray]]:
        """(read_every_place:) `_every_event` by place: each place's events and times."""
        with self._memo_lock:
            grouped = self._every_event_by_place
            if grouped is None:
                events, times = self._every_event
                rows: dict[str, list[int]] = {}
                for k, event in enumerate(events):
                    rows.setdefault(event["region"], []).append(k)
                grouped = self._every_event_by_place = {
                    code: ([events[k] for k in ks], times[ks]) for code, ks in rows.items()}
            return grouped

    def _window_under(self, region: str | None, start: date, end: date
                      ) -> tuple[list[dict] | None, frozenset | None]:
        """The events to look through for `region` in a window (None: ask the database) and
        the places they must be at (None: any of them)."""
        under = None if region is None else self._places_under(region)
        if under is not None and len(under) == 1 and self._every_event is not None:
            return self._window_of_place(region, start, end), None
        return self._events_between(start, end), under

    def _window_of_place(self, place: str, start: date, end: date) -> list[dict]:
        """The events _events_between gives that were recorded at `place`, in its order: every
        event is grouped by place once, so a township's list and counts are a look-up, not
        scans of a province's month (~3,000 events, ~2 ms a selection)."""
        found = self._every_event_grouped().get(place)
        if found is None:
            return []
        events, times = found
        first = np.searchsorted(times, -np.datetime64(end, "us").astype(np.int64), "right")
        last = np.searchsorted(times, -np.datetime64(start, "us").astype(np.int64), "right")
        return events[first:last]

    # From this many events on (a province's quarter, the country's ~70,000 a month) a place's
    # events are found through an index of every event's place, time and status, read once
    # (~0.3 s and ~40 MB for the country's 215,000): there a month's events are too many to
    # read whole (_window_events), and each count of one township scanned the table (~65 ms
    # per selection, two or three of them).
    EVENT_INDEX_MIN = 20000

    def read_every_period(self) -> None:
        """Read which periods every indicator has, in one pass (the query worker does it when
        idle: the country's 38 million observations ~0.45 s, a province's 20 ms): an
        indicator's first change or recolour then looks its months up rather than asking the
        warehouse (4-15 ms of each at the country's scale)."""
        if self._every_period is not None or self.small:
            return
        res = self._cur().execute(
            "SELECT DISTINCT indicator, period FROM observations ORDER BY indicator, period"
        ).fetchnumpy()
        every: dict[str, list[date]] = {}
        for indicator, period in zip(res["indicator"].tolist(),
                                     np.asarray(res["period"], "datetime64[D]").astype(date)):
            every.setdefault(indicator, []).append(period)
        self._every_period = every

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
        # The events' rows, in place order, in the snapshot's own memory (the country's: ~0.5 s
        # once, ~40 MB): a township's list reads a few rows there, where the table in
        # reporting order made each list scan ~120,000 rows (7-26 ms of every selection), and
        # a province's newest 200 events, in as many places, are read back by their codes
        # within the province's range (~50 ms of a first drill; asked of the table, ~150).
        self._cur().execute(f"CREATE TABLE IF NOT EXISTS {self._EVENTS_BY_PLACE} AS"
                            " SELECT * FROM events ORDER BY region, reported_at")
        return _EventIndex(number, places[order], times[order], statuses[order], names)

    _EVENTS_BY_PLACE = "memory.main.events_by_place"

    def _indexed_events(self, region: str | None, start: date | None, end: date | None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(times, status numbers, place numbers) of the events under `region` in
        [start, end), from the event index; None where the index is not used (a small
        warehouse, the root)."""
        if region is None:
            return None
        under = self._places_under(region)
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
        if self._every_event is not None:   # every event is at hand: any window is
            start, end = start or date(1900, 1, 1), end or date(2999, 1, 1)
        else:
            found = self._indexed_events(region, start, end)
            if found is not None:
                return self._events_found(found, limit)
        window, under = (self._window_under(region, start, end)
                         if start is not None and end is not None else (None, None))
        if window is not None:
            # (events of places the warehouse does not know are left out, as below)
            return list(islice((e for e in window if e["region_name"] is not None
                                and (under is None or e["region"] in under)), limit))
        # The newest `limit` first, their township names looked up here: joining every event
        # of a province or the country to 40,000 regions before the limit costs tens of ms.
        params = {"start": start or date(1900, 1, 1), "end": end or date(2999, 1, 1),
                  "limit": limit}
        where = "reported_at >= $start AND reported_at < $end"
        if region is not None:
            where = self._under_sql(region) + " AND " + where
            params["region"] = region
        cut = None
        if region is None:
            # Every place's: the time of the `limit`-th newest first, from that one column,
            # then the rows from there on only (every column of the country's month, ~70,000
            # events, was read to keep 200: ~100-150 ms of its first paint, now ~40).
            cut = self._cur().execute(
                f"""
                SELECT min(reported_at) FROM (SELECT reported_at FROM events WHERE {where}
                                              ORDER BY reported_at DESC LIMIT $limit)
                """, params).fetchone()[0]
        cur = self._cur().execute(
            f"""
            SELECT id, region, source, category, summary, reported_at, deadline_at, closed_at,
                   status, lon, lat
            FROM events WHERE {where}
            ORDER BY reported_at DESC, id
            LIMIT $limit
            """, {**params, "start": cut or params["start"]})
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
            FROM {self._EVENTS_BY_PLACE} WHERE reported_at >= ? AND reported_at <= ?
              AND region >= ? AND region <= ? AND {_one_of("region", len(codes))}
            ORDER BY reported_at DESC, id
            LIMIT ?
            """, [first, last, codes[0], codes[-1], *codes, limit]).fetchall()
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
        found = None if self._every_event is not None else \
            self._indexed_events(region, start, end)
        if found is not None:
            names = self._event_index.status_names
            numbers, counted = np.unique(found[1], return_counts=True)
            return {names[k]: int(n) for k, n in zip(numbers.tolist(), counted.tolist())}
        window, under = self._window_under(region, start, end)
        if window is not None:
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
