"""Where the demo's months end: by default the last month that has ended before the build, never a
period that has not ended, the plan years the same whatever the end, and a chosen end kept."""
from __future__ import annotations

from datetime import date

import pytest

from cockpit.warehouse.demo import anomalies, build_demo
from cockpit.warehouse.demo_end import last_finished_month
from cockpit.warehouse.store import SnapshotStore, open_current

LATER = date(2026, 11, 1)


def rows(db, sql, params=()):
    snap = open_current(db)
    try:
        return snap.cursor().execute(sql, list(params)).fetchall()
    finally:
        snap.close()


@pytest.mark.parametrize("today,expected", [
    (date(2026, 12, 1), date(2026, 11, 1)),    # November has ended on the 1st of December
    (date(2026, 12, 31), date(2026, 11, 1)),   # December has not ended on its last day
    (date(2027, 1, 1), date(2026, 12, 1)),
    (date(2026, 3, 15), date(2026, 2, 1)),
])
def test_the_default_end_is_the_last_month_that_has_ended(today, expected):
    assert last_finished_month(today) == expected


def test_a_build_without_an_end_runs_to_the_last_finished_month_and_says_so(later_demo_db):
    meta = dict(rows(later_demo_db, "SELECT key, value FROM meta"))
    assert (meta["as_of"], meta["demo_end"], meta["demo_end_rule"]) == (
        "2026-11", "2026-11", "last_finished_month")
    assert SnapshotStore(later_demo_db).current().note.endswith("end=2026-11 auto")


def test_no_period_after_the_end_and_no_quarter_or_year_that_has_not_ended(later_demo_db):
    by_frequency = rows(later_demo_db, """
        SELECT i.frequency, count(DISTINCT o.period), min(o.period), max(o.period)
        FROM observations o JOIN indicators i ON i.code = o.indicator GROUP BY 1 ORDER BY 1""")
    assert by_frequency == [
        ("month", 83, date(2020, 1, 1), date(2026, 11, 1)),
        ("quarter", 27, date(2020, 3, 1), date(2026, 9, 1)),    # 2026 Q3 has ended, Q4 has not
        ("year", 6, date(2020, 12, 1), date(2025, 12, 1)),      # the year 2026 has not ended
    ]
    every_indicator = rows(later_demo_db, """
        SELECT count(*) FROM (SELECT o.indicator, i.frequency, max(o.period) AS last
                              FROM observations o JOIN indicators i ON i.code = o.indicator
                              GROUP BY ALL)
        WHERE last <> CASE frequency WHEN 'month' THEN DATE '2026-11-01'
                                     WHEN 'quarter' THEN DATE '2026-09-01'
                                     ELSE DATE '2025-12-01' END""")
    assert every_indicator == [(0,)]
    first, last = rows(later_demo_db, "SELECT min(reported_at), max(reported_at) FROM events")[0]
    assert first.date() >= date(2024, 12, 1) and last.date() >= date(2026, 11, 20)
    assert last.date() <= date(2026, 11, 30)


def test_the_plan_years_are_the_same_whatever_the_end(demo_db, later_demo_db):
    # Anomalies move with the end (the 2025 ones sit in 2025); everything before stays, so the
    # plan's 2020 baselines and the county totals built on them are unchanged.
    sql = "SELECT * FROM observations WHERE period < DATE '2025-01-01' ORDER BY ALL"
    earlier, later = rows(demo_db, sql), rows(later_demo_db, sql)
    assert len(earlier) > 40_000 and later == earlier
    plan = dict(rows(later_demo_db, """
        SELECT indicator, sum(value) FROM observations
        WHERE region = '330723' AND year(period) = 2020
          AND indicator IN ('svc_online_cases', 'svc_12345_cases') GROUP BY 1"""))
    assert plan == {"svc_12345_cases": pytest.approx(14695),
                    "svc_online_cases": pytest.approx(18.9)}


def test_trends_continue_past_2025_without_a_jump(later_demo_db):
    county = dict(rows(later_demo_db, """
        SELECT indicator, list(value ORDER BY period) FROM observations
        WHERE region = '330723' AND period >= DATE '2025-01-01'
          AND indicator IN ('eco_retail', 'svc_online_rate', 'svc_one_network')
        GROUP BY 1"""))
    retail = county["eco_retail"]   # 2025-01 … 2026-11: year on year, about +6%
    assert 1.0 < sum(retail[12:23]) / sum(retail[:11]) < 1.12
    for code in ("svc_online_rate", "svc_one_network"):  # rates level off at their 2025 level
        assert abs(sum(county[code][12:]) / 11 - sum(county[code][:12]) / 12) < 1.5


def test_the_anomalies_follow_the_end():
    placed = {(a.kind, a.indicator): a.periods for a in anomalies(LATER)}
    assert placed[("spike", "mkt_complaints")] == ("2026-11",)
    assert placed[("seasonal_spike", "env_pm25")] == ("2026-08",)
    assert placed[("drop", "eco_industry_va")] == ("2026-09", "2026-10", "2026-11")
    assert placed[("drift", "mkt_food_pass")] == tuple(
        [("2025-12")] + [f"2026-{m:02d}" for m in range(1, 12)])
    assert placed[("missing", "gov_hazard_fixed")] == ("2026-09", "2026-10", "2026-11")
    assert placed[("event_burst", None)] == ("2026-11",)
    # Targets belong to the plan's years, whatever the end.
    assert placed[("target_lag", "ops_data_shared")] == ("2023-12", "2024-12", "2025-12")
    assert placed[("target_lag", "svc_family_doctor")] == ("2025-12",)


@pytest.mark.parametrize("calendar_month", range(1, 13))
def test_the_seasonal_pm25_anomaly_is_always_within_the_alert_engines_six_months(calendar_month):
    end = date(2027, calendar_month, 1)
    (pm,) = next(a.periods for a in anomalies(end) if a.indicator == "env_pm25")
    months_back = (end.year - int(pm[:4])) * 12 + end.month - int(pm[5:])
    assert 0 <= months_back <= 5 and 4 <= int(pm[5:]) <= 10


def test_an_end_before_the_plan_year_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="2025-12"):
        build_demo(tmp_path / "wh", end=date(2024, 6, 1))
    assert not (tmp_path / "wh").exists()


def test_a_clock_before_2026_still_builds_the_plan_years(tmp_path):
    # A machine whose clock is wrong must not fail at first launch.
    build_demo(tmp_path / "wh", today=date(2024, 3, 1))
    assert rows(tmp_path / "wh", "SELECT value FROM meta WHERE key = 'demo_end'") == [("2025-12",)]
