"""The demo warehouse: deterministic, valid geometry, plausible values, consistent county figures,
the plan's real 2020 figures, and every documented anomaly present."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import shapely

from cockpit.core.catalogue import DEMO_CATALOGUE, DOMAINS
from cockpit.warehouse.demo import COUNTY_CODE, TOWNSHIP_CODES, anomalies, build_demo
from cockpit.warehouse.demo_end import add_months
from cockpit.warehouse.store import open_current

END = date(2025, 12, 1)


@pytest.fixture(scope="module")
def cur(demo_db):
    snap = open_current(demo_db)
    yield snap.cursor()
    snap.close()


def test_the_18_real_townships_partition_the_county_outline(cur):
    rows = cur.execute("SELECT code, name, level, kind, parent, geometry, schematic FROM regions"
                       " ORDER BY code").fetchall()
    county = [r for r in rows if r[2] == "county"]
    towns = [r for r in rows if r[2] == "township"]
    assert len(county) == 1 and county[0][1] == "武义县"
    assert len(towns) == 18
    assert sorted(r[3] for r in towns).count("街道") == 3
    assert sorted(r[3] for r in towns).count("镇") == 8
    assert sorted(r[3] for r in towns).count("乡") == 7
    assert all(r[4] == COUNTY_CODE and r[6] for r in towns)
    outline = shapely.from_wkb(county[0][5])
    geoms = [shapely.from_wkb(r[5]) for r in towns]
    assert all(g.is_valid and not g.is_empty for g in geoms)
    union = shapely.union_all(geoms)
    assert union.symmetric_difference(outline).area < 1e-6 * outline.area
    overlap = sum(a.intersection(b).area for i, a in enumerate(geoms) for b in geoms[i + 1:])
    assert overlap < 1e-9 * outline.area


def test_catalogue_covers_six_domains_and_the_15_plan_kpis(cur):
    rows = cur.execute("SELECT domain, plan_kpi, target_value, target_year FROM indicators").fetchall()
    assert len(rows) >= 40
    assert {r[0] for r in rows} == set(DOMAINS)
    kpis = {r[1]: r for r in rows if r[1] is not None}
    assert sorted(kpis) == list(range(1, 16))
    assert all(r[2] is not None and r[3] == 2025 for r in kpis.values())


@pytest.mark.parametrize("code,expected", [
    ("svc_online_rate", 90.0), ("mkt_double_random", 28.2), ("svc_e_archive", 30.0),
    ("svc_12345_closed", 99.55), ("svc_12345_satisfaction", 99.73)])
def test_2020_county_rates_match_the_plan(cur, code, expected):
    mean = cur.execute("SELECT avg(value) FROM observations WHERE indicator=? AND region=?"
                       " AND year(period)=2020", [code, COUNTY_CODE]).fetchone()[0]
    assert mean == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("code,expected", [("svc_online_cases", 18.9),
                                           ("svc_12345_cases", 14695)])
def test_2020_county_totals_match_the_plan(cur, code, expected):
    total = cur.execute("SELECT sum(value) FROM observations WHERE indicator=? AND region=?"
                        " AND year(period)=2020", [code, COUNTY_CODE]).fetchone()[0]
    assert total == pytest.approx(expected, abs=1e-6)


def test_every_indicator_has_data_at_its_own_frequency(cur):
    for ind in DEMO_CATALOGUE:
        periods = cur.execute("SELECT DISTINCT period FROM observations WHERE indicator=?"
                              " ORDER BY period", [ind.code]).fetchall()
        months = {p[0].month for p in periods}
        expected = {"month": 72, "quarter": 24, "year": 6}[ind.frequency]
        assert len(periods) == expected, ind.code
        if ind.frequency == "quarter":
            assert months == {3, 6, 9, 12}
        if ind.frequency == "year":
            assert months == {12}


def test_values_are_in_plausible_ranges(cur):
    bad = cur.execute("""
        SELECT o.indicator, o.region, o.period, o.value FROM observations o
        JOIN indicators i ON i.code = o.indicator
        WHERE o.value < 0 OR (i.unit = '%' AND o.value > 100)
           OR isnan(o.value)""").fetchall()
    assert bad == []
    pm = cur.execute("SELECT min(value), max(value) FROM observations WHERE indicator='env_pm25'"
                     " AND region=?", [COUNTY_CODE]).fetchone()
    assert 8 < pm[0] < pm[1] < 70


def test_pm25_is_higher_in_winter_and_tourism_peaks_in_golden_week(cur):
    by_month = dict(cur.execute(
        "SELECT month(period), avg(value) FROM observations WHERE indicator='env_pm25'"
        " AND region=? GROUP BY 1", [COUNTY_CODE]).fetchall())
    assert by_month[1] > 1.6 * by_month[7]
    tourists = dict(cur.execute(
        "SELECT month(period), avg(value) FROM observations WHERE indicator='eco_tourists'"
        " AND region=? AND year(period) >= 2023 GROUP BY 1", [COUNTY_CODE]).fetchall())
    assert tourists[10] == max(tourists.values())


def test_county_figures_follow_each_indicator_aggregation_rule(cur):
    rows = cur.execute("""
        WITH t AS (
            SELECT o.indicator, o.period, i.aggregation, i.decimals,
                   sum(o.value) AS s, avg(o.value) AS m,
                   sum(o.value * r.population) / sum(r.population) AS pm
            FROM observations o JOIN regions r ON r.code = o.region
            JOIN indicators i ON i.code = o.indicator
            WHERE r.level = 'township' GROUP BY ALL)
        SELECT t.indicator, t.period, t.aggregation, t.decimals, c.value,
               CASE t.aggregation WHEN 'sum' THEN s WHEN 'mean' THEN m ELSE pm END
        FROM t JOIN observations c ON c.indicator = t.indicator AND c.period = t.period
                                  AND c.region = ?""", [COUNTY_CODE]).fetchall()
    assert len(rows) > 1000
    for ind, period, agg, decimals, county, expected in rows:
        assert county == pytest.approx(expected, abs=10 ** -decimals * 0.51 + 1e-9), (ind, period)
    county_only = cur.execute("""
        SELECT count(*) FROM observations o JOIN indicators i ON i.code = o.indicator
        WHERE i.aggregation = 'county_only' AND o.region <> ?""", [COUNTY_CODE]).fetchone()[0]
    assert county_only == 0


def test_derived_previous_and_year_ago_values_match_the_facts(cur):
    row = cur.execute("""
        SELECT o.value, o.prev_value, o.yoy_value FROM observations o
        WHERE indicator='eco_retail' AND region=? AND period='2025-06-01'""",
                      [TOWNSHIP_CODES["桃溪镇"]]).fetchone()
    prev = cur.execute("SELECT value FROM observations WHERE indicator='eco_retail' AND region=?"
                       " AND period='2025-05-01'", [TOWNSHIP_CODES["桃溪镇"]]).fetchone()[0]
    yoy = cur.execute("SELECT value FROM observations WHERE indicator='eco_retail' AND region=?"
                      " AND period='2024-06-01'", [TOWNSHIP_CODES["桃溪镇"]]).fetchone()[0]
    assert row[1] == prev and row[2] == yoy


def value(cur, town, code, period):
    row = cur.execute("SELECT value FROM observations WHERE indicator=? AND region=? AND period=?",
                      [code, TOWNSHIP_CODES[town], f"{period}-01"]).fetchone()
    return None if row is None else row[0]


def month(end, back=0):
    return add_months(end, -back).strftime("%Y-%m")


@pytest.mark.parametrize("db,end", [("demo_db", END), ("later_demo_db", date(2026, 11, 1))])
def test_injected_anomalies_are_present_in_the_latest_months(request, db, end):
    snap = open_current(request.getfixturevalue(db))
    cur = snap.cursor()
    injected = {a.indicator or a.kind: a for a in anomalies(end)}
    assert len({a.kind for a in injected.values()}) >= 6
    # spike: about four times the same township's usual level
    usual = np.median([value(cur, "泉溪镇", "mkt_complaints", month(end, k)) for k in range(1, 12)])
    assert value(cur, "泉溪镇", "mkt_complaints", month(end)) > 3 * usual
    # seasonal spike: summer PM2.5 far above the same month of earlier years
    pm_month = injected["env_pm25"].periods[0]
    earlier = [value(cur, "桐琴镇", "env_pm25", f"{y}{pm_month[4:]}")
               for y in range(2020, int(pm_month[:4]))]
    assert value(cur, "桐琴镇", "env_pm25", pm_month) > 2 * max(earlier)
    # drop
    assert value(cur, "柳城畲族镇", "gov_events_closed", month(end)) == 78.2
    assert value(cur, "柳城畲族镇", "gov_events_closed", month(end, 1)) == 87.3
    for k in range(3):  # a year-on-year fall of a fifth and more, three months running
        assert value(cur, "白洋街道", "eco_industry_va", month(end, k)) < 0.8 * value(
            cur, "白洋街道", "eco_industry_va", month(end, k + 12))
    # drift
    assert value(cur, "王宅镇", "mkt_food_pass", month(end)) < value(
        cur, "王宅镇", "mkt_food_pass", month(end, 11)) - 4
    # missing reports while every other township reported
    for k in range(3):
        assert value(cur, "三港乡", "gov_hazard_fixed", month(end, k)) is None
        assert value(cur, "桃溪镇", "gov_hazard_fixed", month(end, k)) is not None
    assert value(cur, "坦洪乡", "svc_online_rate", month(end)) is None
    # target lag: 数据共享率 stalls far below its 90% target, in 2025 and after
    shared = cur.execute("SELECT value FROM observations WHERE indicator='ops_data_shared'"
                         " AND period IN ('2025-12-01', ?)", [f"{month(end)}-01"]).fetchall()
    assert shared and all(v < 80 for (v,) in shared)
    assert value(cur, "三港乡", "svc_family_doctor", "2025-12") < 35
    # burst of overdue events in the last month
    burst = cur.execute("""SELECT count(*) FROM events WHERE region=? AND category='企业消防安全隐患'
                           AND reported_at >= ? AND status='已超期'""",
                        [TOWNSHIP_CODES["桃溪镇"], f"{month(end)}-01"]).fetchone()[0]
    assert burst >= 15
    snap.close()


def test_events_lie_inside_their_township(cur):
    n = cur.execute("SELECT count(*) FROM events").fetchone()[0]
    assert 2000 <= n <= 10000
    geoms = {code: shapely.from_wkb(g) for code, g in cur.execute(
        "SELECT code, geometry FROM regions WHERE level='township'").fetchall()}
    rows = cur.execute("SELECT region, lon, lat FROM events").fetchall()
    inside = sum(geoms[r].covers(shapely.Point(lon, lat)) for r, lon, lat in rows)
    assert inside == len(rows)
    statuses = dict(cur.execute("SELECT status, count(*) FROM events GROUP BY 1").fetchall())
    assert set(statuses) == {"已办结", "处置中", "已超期"}


def _facts(path):
    snap = open_current(path)
    try:
        cur = snap.cursor()
        return (cur.execute("SELECT * FROM observations ORDER BY ALL").fetchall(),
                cur.execute("SELECT * FROM events ORDER BY id").fetchall(),
                cur.execute("SELECT code, geometry FROM regions ORDER BY code").fetchall())
    finally:
        snap.close()


def test_same_seed_same_warehouse_different_seed_different_values(tmp_path, demo_db):
    build_demo(tmp_path / "again", end=END)
    build_demo(tmp_path / "other", seed=7, end=END)
    reference = _facts(demo_db)
    assert _facts(tmp_path / "again") == reference
    assert _facts(tmp_path / "other")[0] != reference[0]


@pytest.mark.parametrize("code,expected", [("ops_grassroots_app", 497), ("ops_village_accounts", 278),
                                           ("ops_video_terminals", 83)])
def test_2020_year_end_levels_match_the_plan(cur, code, expected):
    level = cur.execute("SELECT value FROM observations WHERE indicator=? AND region=?"
                        " AND period='2020-12-01'", [code, COUNTY_CODE]).fetchone()[0]
    assert level == expected
