"""A small warehouse's figures answered from memory (read every place at once, Queries.small)
agree with the same questions asked of the database one by one."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current


@pytest.fixture(scope="module", params=["demo_db", "later_demo_db"])
def pair(request):
    """Two Queries on one snapshot: one answering from memory, one from DuckDB."""
    snap = open_current(request.getfixturevalue(request.param))
    in_memory, in_database = Queries(snap), Queries(snap)
    in_database.SMALL_ROWS = -1
    assert in_memory.small and not in_database.small
    yield in_memory, in_database
    snap.close()


def _same_values(a, b) -> None:
    assert a.period == b.period and a.indicator == b.indicator
    mine = {r: (v, p, y) for r, v, p, y in zip(a.regions, a.values, a.prev_values, a.yoy_values)}
    theirs = {r: (v, p, y) for r, v, p, y in zip(b.regions, b.values, b.prev_values,
                                                  b.yoy_values)}
    assert mine.keys() == theirs.keys()
    for region, figures in mine.items():
        np.testing.assert_array_equal(figures, theirs[region], err_msg=region)


def _same_series(a, b) -> None:
    np.testing.assert_array_equal(a.periods, b.periods)
    np.testing.assert_array_equal(a.values, b.values)


def test_every_answer_agrees_with_the_database(pair):
    memory, database = pair
    months = database.months
    asked = [date(2019, 6, 1), months[0], months[len(months) // 2], months[-2], months[-1],
             date(2030, 1, 1)]
    # The county, townships at both ends and the middle of the order, and a place with no facts
    places = [database.county.code] + [t.code for t in database.townships][::5] + ["000000"]
    codes = [i.code for i in database.indicators] + ["no_such_indicator"]
    for code in codes:
        band, their_band = memory.township_band(code), database.township_band(code)
        assert (band is None) == (their_band is None), code
        if band is not None:
            for mine, theirs in zip((band.periods, band.lo, band.hi),
                                    (their_band.periods, their_band.lo, their_band.hi)):
                np.testing.assert_array_equal(mine, theirs)
        for month in asked:
            assert memory.effective_period(code, month) == \
                database.effective_period(code, month), (code, month)
            _same_values(memory.township_values(code, month),
                         database.township_values(code, month))
    for place in places:
        for month in asked:
            assert memory.kpis(place, codes, month) == database.kpis(place, codes, month)
        for month in asked[1:4]:
            for count in (12, 1, 0):
                mine = memory.series_many(place, codes[:9], month, count)
                theirs = database.series_many(place, codes[:9], month, count)
                assert mine.keys() == theirs.keys()
                for code in mine:
                    _same_series(mine[code], theirs[code])
        for code in codes[::7]:
            for start, end in ((None, None), (months[3], months[-5]), (months[-1], None),
                               (None, months[0]), (months[-1], months[0])):
                _same_series(memory.series(place, code, start, end),
                             database.series(place, code, start, end))


def test_a_level_in_memory_keeps_the_regions_order(pair):
    memory, database = pair
    code = database.indicators[0].code
    tv = memory.township_values(code, database.months[-1])
    order = [t.code for t in database.townships]
    assert list(tv.regions) == [c for c in order if c in set(tv.regions)]


def test_a_small_warehouse_asks_nothing_more_once_an_indicator_is_read(pair):
    memory, database = pair
    code, months = database.indicators[3].code, database.months
    memory.township_values(code, months[-1])
    reads = memory.reads
    for month in months[-12:]:
        memory.township_values(code, month)
        for township in memory.townships[:4]:
            memory.series(township.code, code)
    assert memory.reads == reads
    database.township_values(code, months[-1])
    reads = database.reads
    database.township_values(code, months[-2])
    assert database.reads > reads   # (the database path does read: the count means something)


def test_every_indicators_periods_read_at_once_answer_as_each_asked_alone(pair):
    """A large warehouse reads which periods every indicator has in one pass when idle
    (Queries.read_every_period); an indicator's months are then looked up, asking nothing,
    and agree with asking for each indicator alone."""
    _, database = pair
    at_once = Queries(database.snapshot)
    at_once.SMALL_ROWS = -1
    at_once.read_every_period()
    asked = [date(2019, 6, 1), database.months[0], database.months[len(database.months) // 2],
             database.months[-1], date(2030, 1, 1)]

    def no_query():
        raise AssertionError("asked the warehouse")
    at_once._cur = no_query
    for code in [i.code for i in database.indicators] + ["no_such_indicator"]:
        for month in asked:
            assert at_once.effective_period(code, month) == \
                database.effective_period(code, month), (code, month)
