"""Data quality per indicator and department: completeness, timeliness, last update."""
from __future__ import annotations

from datetime import date

from cockpit.warehouse.publish import import_files
from cockpit.warehouse.quality import data_quality, due_period, expected_periods
from cockpit.warehouse.store import open_current


def quality(db, **kw):
    snap = open_current(db)
    try:
        return data_quality(snap, **kw)
    finally:
        snap.close()


def test_the_demo_missing_reports_show_as_incomplete_and_late(demo_db):
    q = quality(demo_db)
    assert q.as_of == date(2025, 12, 1) and q.window_start == date(2025, 1, 1)
    hazard = q.indicator("gov_hazard_fixed")  # 三港乡 has not reported 2025-10 … 2025-12
    assert (hazard.expected, hazard.reported) == (18 * 12, 18 * 12 - 3)
    assert hazard.completeness_label == "98.6%"
    assert hazard.months_late == 3 and hazard.late_regions == (("三港乡", 3),)
    assert hazard.timeliness_label == "三港乡迟报 3 个月"
    online = q.indicator("svc_online_rate")  # 坦洪乡 missed 2025-12
    assert online.late_regions == (("坦洪乡", 1),) and online.last_update_label == "2025年12月"
    assert online.timeliness_text("en", lambda name: "Tanhong") == "Tanhong 1 month late"
    assert hazard.timeliness_text("en", lambda name: "Sangang") == "Sangang 3 months late"
    gdp = q.indicator("eco_gdp")  # quarterly: 4 periods a year, on time
    assert (gdp.expected, gdp.reported, gdp.months_late) == (18 * 4, 18 * 4, 0)
    credit = q.indicator("mkt_credit_cover")  # county only: one region
    assert credit.expected == 12 and credit.timeliness_label == "按时"
    worst = q.departments[0]
    assert worst.department == "县应急管理局" and worst.late_indicators == 1
    assert worst.months_late == 3
    assert all(d.completeness == 1.0 for d in q.departments[2:])


def test_a_later_as_of_makes_everything_late_until_reported(wh, tmp_path):
    path = tmp_path / "jan.csv"
    path.write_text("乡镇,指标,期间,数值\n熟溪街道,规上工业增加值,2026-01,3.2\n", encoding="utf-8")
    assert import_files([path], wh).published
    q = quality(wh)
    assert q.as_of == date(2026, 1, 1)
    va = q.indicator("eco_industry_va")
    assert va.last_period == date(2026, 1, 1) and va.last_imported_at is not None
    assert va.months_late == 1 and len(va.late_regions) == 17
    assert va.timeliness_label == "17 个地区迟报，最长 1 个月"
    assert va.timeliness_text("en") == "17 regions late, up to 1 month"
    assert q.indicator("eco_fai").months_late == 1 and q.indicator("eco_fai").last_imported_at is None
    stats = q.department("县统计局")
    assert stats.last_imported_at is not None and stats.late_indicators == 2  # 增加值 and 零售额


def test_due_periods_follow_the_frequency():
    assert due_period("month", date(2025, 11, 1)) == date(2025, 11, 1)
    assert due_period("quarter", date(2025, 11, 1)) == date(2025, 9, 1)
    assert due_period("quarter", date(2025, 2, 1)) == date(2024, 12, 1)
    assert due_period("year", date(2025, 11, 1)) == date(2024, 12, 1)
    assert due_period("year", date(2025, 12, 1)) == date(2025, 12, 1)
    assert expected_periods("quarter", date(2025, 1, 1), date(2025, 12, 1)) == [
        date(2025, 3, 1), date(2025, 6, 1), date(2025, 9, 1), date(2025, 12, 1)]
