"""A small warehouse's facts held in memory, one indicator at a time, so that a county's
questions cost microseconds rather than a DuckDB query each.

On this machine a query costs 2.5-10 ms however little it reads (parsing, planning, converting
the result), and a period step on the county cockpit asked about ten of them: 38 ms of its
112 ms. An indicator's facts in a county are a thousand rows or so (every township and month);
the first question about an indicator reads all of them in one query (the KPI cards' indicators
together), and from then on its effective period, a level's figures, a place's latest values and
series and the townships' band are answered from those columns exactly as Queries' SQL answers
them. Larger warehouses (a province, the country) stay in the database, where an indicator is
hundreds of thousands of rows and the scan is worth its overhead.
"""
from __future__ import annotations

import sys
import threading
from datetime import date

import numpy as np

# Observations in the whole warehouse up to which indicators are read into memory: a county with
# a decade of monthly figures for a few hundred indicators (~50 bytes a row, ~20 MB at most).
MAX_ROWS = 400_000

_NO_ROWS = (0, 0)


def nan_filled(values) -> np.ndarray:
    """Masked or object arrays from DuckDB to float with NaN for NULL."""
    # numpy.ma is imported only by whoever makes a masked array (DuckDB, for a column with
    # NULLs): asking np.ma here would import it (~20 ms at start-up) for nothing.
    ma = sys.modules.get("numpy.ma")
    if ma is not None and ma.isMaskedArray(values):
        return values.astype(float).filled(np.nan)
    return np.asarray(values, dtype=float)


def runs(keys: np.ndarray):
    """(start, end) of each run of equal keys in an array sorted by them."""
    if not len(keys):
        return []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return zip(starts, np.r_[starts[1:], len(keys)])


def _date(value: np.datetime64) -> date:
    return value.astype("datetime64[D]").astype(date)


def _or_none(value: float) -> float | None:
    return None if value != value else float(value)   # NaN stands for NULL here


class _Indicator:
    """One indicator's rows sorted by (region, period), with each region's rows as a slice."""

    def __init__(self, ids, regions, periods, values, prev, yoy, township, band):
        self.regions, self.periods, self.values, self.prev, self.yoy = \
            regions, periods, values, prev, yoy
        self.township, self.band = township, band   # per row: counted as a township / in the band
        self.all_periods = np.unique(periods)
        self.place = {regions[a]: (a, b) for a, b in runs(ids)}


class Facts:
    """The facts of the indicators asked about so far, read on first use."""

    def __init__(self, cursor, codes: list[str], aggregates: frozenset,
                 townships: frozenset | None):
        """`cursor()` gives a cursor on the snapshot; `codes`: the regions in the order a
        level's figures are given (the map's); `aggregates`: codes of the regions that are not
        townships; `townships`: the codes counted as townships when some township-level regions
        lie outside the root (else None: every region that is not an aggregate)."""
        self._cursor = cursor
        self._aggregates, self._townships = aggregates, townships
        self._lock = threading.Lock()
        self._indicators: dict[str, _Indicator] = {}
        self._id: dict[str, int] = {}
        self._code_list: list[str] = []
        self._add_codes(codes)

    def _add_codes(self, codes) -> None:
        """Number regions (facts may name places the regions table does not know)."""
        for code in codes:
            if code not in self._id:
                self._id[code] = len(self._code_list)
                self._code_list.append(code)
        listed = self._code_list
        self._codes = np.array(listed, dtype=object)
        self._band = np.array([c not in self._aggregates for c in listed], dtype=bool)
        self._township = self._band if self._townships is None else \
            self._band & np.array([c in self._townships for c in listed], dtype=bool)

    @classmethod
    def load(cls, cursor, codes: list[str], aggregates: frozenset,
             townships: frozenset | None) -> "Facts | None":
        """Facts for the warehouse behind `cursor()`, or None when it has more than MAX_ROWS
        observations (its questions then go to the database)."""
        count = cursor().execute("SELECT count(*) FROM observations").fetchone()[0]
        return cls(cursor, codes, aggregates, townships) if count <= MAX_ROWS else None

    def read(self, indicators) -> None:
        """Read the indicators not yet in memory, in one query."""
        missing = [code for code in dict.fromkeys(indicators) if code not in self._indicators]
        if not missing:
            return
        with self._lock:   # a second thread asking the same waits for the first's answer
            missing = [code for code in missing if code not in self._indicators]
            if missing:
                self._read(missing)

    def _read(self, codes: list[str]) -> None:
        where = " OR ".join(["indicator = ?"] * len(codes))   # no list parameter: see queries
        # Unsorted, codes as given: DuckDB's ORDER BY costs more here than numpy's sort of
        # small integers, and NULL as NaN keeps numpy.ma (an 80 ms import) away.
        res = self._cursor().execute(
            f"""
            SELECT indicator, region, period, value, coalesce(prev_value, 'NaN'::DOUBLE) AS prev,
                   coalesce(yoy_value, 'NaN'::DOUBLE) AS yoy
            FROM observations WHERE {where}
            """, codes).fetchnumpy()
        raw = res["region"]
        if not all(c in self._id for c in set(raw)):
            self._add_codes(sorted(set(raw)))
        ids = np.fromiter(map(self._id.__getitem__, raw), np.int64, len(raw))
        position = {code: k for k, code in enumerate(codes)}
        which = np.fromiter(map(position.__getitem__, res["indicator"]), np.int64, len(raw))
        periods = np.asarray(res["period"], dtype="datetime64[D]")
        order = np.lexsort((periods, ids, which))
        ids, which, periods = ids[order], which[order], periods[order]
        values = np.asarray(res["value"], dtype=float)[order]
        prev = np.asarray(res["prev"], dtype=float)[order]
        yoy = np.asarray(res["yoy"], dtype=float)[order]
        township, band, regions = self._township[ids], self._band[ids], self._codes[ids]
        bounds = dict.fromkeys(range(len(codes)), _NO_ROWS)
        bounds.update({int(which[a]): (a, b) for a, b in runs(which)})
        for k, (a, b) in bounds.items():
            self._indicators[codes[k]] = _Indicator(
                ids[a:b], regions[a:b], periods[a:b], values[a:b], prev[a:b], yoy[a:b],
                township[a:b], band[a:b])

    def _of(self, indicator: str) -> _Indicator:
        self.read([indicator])
        return self._indicators[indicator]

    # -- answers (each as Queries' SQL gives it) -------------------------------------------------
    def effective_period(self, indicator: str, month: date) -> date | None:
        """The newest period of the indicator up to `month` (any region)."""
        periods = self._of(indicator).all_periods
        k = int(np.searchsorted(periods, np.datetime64(month, "D"), side="right")) - 1
        return _date(periods[k]) if k >= 0 else None

    def level(self, indicator: str, period: date) -> tuple:
        """(regions, values, previous, same period last year) of every township in one
        period, in the regions' order."""
        f = self._of(indicator)
        rows = np.flatnonzero((f.periods == np.datetime64(period, "D")) & f.township)
        return f.regions[rows], f.values[rows], f.prev[rows], f.yoy[rows]

    def band(self, indicator: str) -> tuple | None:
        """(periods, lowest, highest) over the townships per period, or None without data."""
        f = self._of(indicator)
        rows = np.flatnonzero(f.band)
        if not len(rows):
            return None
        periods, at = np.unique(f.periods[rows], return_inverse=True)
        lo = np.full(len(periods), np.inf)
        hi = np.full(len(periods), -np.inf)
        np.minimum.at(lo, at, f.values[rows])
        np.maximum.at(hi, at, f.values[rows])
        return periods, lo, hi

    def _rows(self, f: _Indicator, region: str, end: date | None) -> tuple[int, int]:
        """The rows of one place up to `end`, by period."""
        start, stop = f.place.get(region, _NO_ROWS)
        if end is not None:
            stop = start + int(np.searchsorted(f.periods[start:stop], np.datetime64(end, "D"),
                                               side="right"))
        return start, stop

    def latest(self, region: str, indicator: str, month: date) -> tuple | None:
        """(period, value, previous, same period last year) of the newest row up to `month`."""
        f = self._of(indicator)
        start, stop = self._rows(f, region, month)
        if stop <= start:
            return None
        last = stop - 1
        return (_date(f.periods[last]), float(f.values[last]), _or_none(f.prev[last]),
                _or_none(f.yoy[last]))

    def series(self, region: str, indicator: str, start: date | None, end: date | None,
               count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(periods, values) from `start` to `end`; only the last `count` of them if given."""
        f = self._of(indicator)
        first, stop = self._rows(f, region, end)
        if start is not None:
            first += int(np.searchsorted(f.periods[first:stop], np.datetime64(start, "D")))
        if count is not None:
            first = max(first, stop - count) if count > 0 else stop
        return f.periods[first:stop], f.values[first:stop]
