"""Each rule kind evaluated on small hand-made warehouses."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from cockpit.alerts.engine import alert_id

TOWN_A, TOWN_B, TOWN_C, TOWN_D = "990001", "990002", "990003", "990004"


def by_region(evaluation):
    return {(a.region, a.period.strftime("%Y-%m")): a for a in evaluation.alerts}


# --- threshold ----------------------------------------------------------------------------------
def test_threshold_below_line_fires_for_the_latest_period_with_a_plain_chinese_message(
        evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = []
    for p in tiny.months("2025-01", "2025-06"):
        for town in (TOWN_B, TOWN_C, TOWN_D):
            obs.append((ind.code, p, town, 95.0))
        obs.append((ind.code, p, TOWN_A, {5: 87.3, 6: 78.2}.get(p.month, 94.0)))
    rules = """
[[rule]]
id = "t.closed"
kind = "threshold"
severity = "橙"
indicators = ["gov_events_closed"]
below = 90
escalate = { "红" = 80 }
"""
    ev = evaluate_rules(rules, [ind], obs)
    assert [(a.region_name, a.period) for a in ev.alerts] == [("甲镇", date(2025, 6, 1))]
    alert = ev.alerts[0]
    assert alert.kind == "threshold" and alert.indicator == "gov_events_closed"
    assert alert.severity == "红"  # 78.2 is past the 80 escalation line
    assert alert.observed == 78.2 and alert.expected == 90
    assert alert.message == "甲镇 事件处置完成率 2025年6月为 78.2%，低于 90% 的预警线，环比下降 9.1 个百分点"


def test_threshold_lookback_examines_earlier_periods_and_severity_stays_base_above_escalation(
        evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = [(ind.code, p, TOWN_A, {5: 87.3, 6: 78.2}.get(p.month, 94.0))
           for p in tiny.months("2025-01", "2025-06")]
    rules = """
[[rule]]
id = "t.closed"
kind = "threshold"
severity = "橙"
indicators = ["gov_events_closed"]
below = 90
lookback = 2
escalate = { "红" = 80 }
"""
    found = by_region(evaluate_rules(rules, [ind], obs))
    assert set(found) == {(TOWN_A, "2025-05"), (TOWN_A, "2025-06")}
    assert found[(TOWN_A, "2025-05")].severity == "橙"
    assert found[(TOWN_A, "2025-06")].severity == "红"


def test_threshold_line_respects_polarity_and_skips_neutral_indicators(evaluate_rules, tiny):
    pm25 = tiny.indicator("env_pm25")              # lower is better
    closed = tiny.indicator("gov_events_closed")   # higher is better
    received = tiny.indicator("gov_events_received")  # neutral
    p = date(2025, 6, 1)
    obs = [(pm25.code, p, TOWN_A, 60.0), (pm25.code, p, TOWN_B, 20.0),
           (closed.code, p, TOWN_A, 95.0), (closed.code, p, TOWN_B, 40.0),
           (received.code, p, TOWN_A, 10.0), (received.code, p, TOWN_B, 900.0)]
    rules = """
[[rule]]
id = "t.line"
kind = "threshold"
severity = "黄"
indicators = ["env_pm25", "gov_events_closed", "gov_events_received"]
line = 50
"""
    ev = evaluate_rules(rules, [pm25, closed, received], obs)
    assert {(a.indicator, a.region) for a in ev.alerts} == {
        ("env_pm25", TOWN_A), ("gov_events_closed", TOWN_B)}
    pm = next(a for a in ev.alerts if a.indicator == "env_pm25")
    assert "高于 50 μg/m³ 的预警线" in pm.message
    assert any("gov_events_received" in w and "line" in w for w in ev.warnings)


# --- change -------------------------------------------------------------------------------------
def test_change_month_on_month_in_points_fires_only_in_the_worse_direction(evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = [(ind.code, date(2025, 5, 1), TOWN_A, 87.3), (ind.code, date(2025, 6, 1), TOWN_A, 78.2),
           (ind.code, date(2025, 5, 1), TOWN_B, 85.0), (ind.code, date(2025, 6, 1), TOWN_B, 95.0),
           (ind.code, date(2025, 5, 1), TOWN_C, 95.0), (ind.code, date(2025, 6, 1), TOWN_C, 92.0)]
    rule = """
[[rule]]
id = "c.mom"
kind = "change"
severity = "橙"
indicators = ["gov_events_closed"]
compare = "mom"
points = 5
direction = "{direction}"
escalate = {{ "红" = 9 }}
"""
    worse = evaluate_rules(rule.format(direction="worse"), [ind], obs)
    assert [a.region for a in worse.alerts] == [TOWN_A]
    alert = worse.alerts[0]
    assert alert.kind == "change" and alert.severity == "红"
    assert round(alert.measure, 1) == 9.1 and alert.expected == 87.3
    assert alert.message == ("甲镇 事件处置完成率 2025年6月为 78.2%，环比下降 9.1 个百分点（上月 87.3%），"
                             "超过 5 个百分点的预警幅度")
    both = evaluate_rules(rule.format(direction="any"), [ind], obs)
    assert {a.region for a in both.alerts} == {TOWN_A, TOWN_B}


def test_change_year_on_year_in_percent_with_a_minimum_base(evaluate_rules, tiny):
    ind = tiny.indicator("eco_industry_va")
    obs = []
    for p in tiny.months("2024-01", "2025-12"):
        drop = p.year == 2025 and p.month >= 10
        obs += [(ind.code, p, TOWN_A, 4.0 * (0.65 if drop else 1.0)),   # −35% a year on
                (ind.code, p, TOWN_B, 4.0 * (0.9 if drop else 1.0)),    # −10%: within limits
                (ind.code, p, TOWN_C, 0.04 * (0.5 if drop else 1.0))]   # −50% of almost nothing
    rules = """
[[rule]]
id = "c.yoy"
kind = "change"
severity = "橙"
indicators = ["eco_industry_va"]
compare = "yoy"
percent = 20
min_base = 0.5
"""
    ev = evaluate_rules(rules, [ind], obs)
    assert [(a.region, a.period) for a in ev.alerts] == [(TOWN_A, date(2025, 12, 1))]
    assert "同比下降 35.0%（上年同期 4.00 亿元），超过 20% 的预警幅度" in ev.alerts[0].message


# --- anomaly ------------------------------------------------------------------------------------
PM25_SEASON = [1.55, 1.3, 1.08, 0.9, 0.82, 0.62, 0.55, 0.6, 0.75, 0.92, 1.22, 1.49]


def _pm25_history(code: str, spike_town: str, spike_month: date, factor: float):
    rng = np.random.default_rng(7)
    obs = []
    for k, p in enumerate(tiny_months()):
        for t, town in enumerate((TOWN_A, TOWN_B, TOWN_C, TOWN_D)):
            level = (26 + 3 * t) * (1 - 0.02 * k / 12)  # a slow improvement, as in the county
            value = level * PM25_SEASON[p.month - 1] * (1 + rng.normal(0, 0.05))
            if town == spike_town and p == spike_month:
                value *= factor
            obs.append((code, p, town, round(value, 1)))
    return obs


def tiny_months():
    return [date(y, m, 1) for y in range(2020, 2026) for m in range(1, 13)]


def test_seasonal_anomaly_flags_a_summer_spike_but_not_the_same_level_in_winter(
        evaluate_rules, tiny):
    ind = tiny.indicator("env_pm25")
    obs = _pm25_history(ind.code, TOWN_A, date(2025, 8, 1), 2.4)
    rules = """
[[rule]]
id = "a.seasonal"
kind = "anomaly"
severity = "橙"
indicators = ["env_pm25"]
lookback = 12
z = 4
min_change = 30
escalate = { "红" = 8 }
"""
    ev = evaluate_rules(rules, [ind], obs)
    assert [(a.region, a.period) for a in ev.alerts] == [(TOWN_A, date(2025, 8, 1))]
    alert = ev.alerts[0]
    assert alert.kind == "anomaly" and alert.observed > 1.8 * alert.expected
    assert "是按历年同月规律的预期水平" in alert.message and "倍" in alert.message
    # The spiked summer value is an ordinary winter level, and winter raised nothing.
    winter = [v for i, p, r, v in obs if r == TOWN_A and p.year == 2025 and p.month in (1, 12)]
    assert min(winter) > alert.observed * 0.9


def test_seasonal_anomaly_needs_enough_history_and_a_large_enough_change(evaluate_rules, tiny):
    ind = tiny.indicator("env_pm25")
    obs = _pm25_history(ind.code, TOWN_A, date(2025, 8, 1), 1.2)  # +20%: a bad month, no more
    rules = """
[[rule]]
id = "a.seasonal"
kind = "anomaly"
severity = "橙"
indicators = ["env_pm25"]
lookback = 12
"""
    assert evaluate_rules(rules, [ind], obs).alerts == []
    short = [o for o in _pm25_history(ind.code, TOWN_A, date(2025, 8, 1), 2.4)
             if o[1].year >= 2024]  # two summers are not a history
    assert evaluate_rules(rules, [ind], short).alerts == []


# --- target lag ---------------------------------------------------------------------------------
COUNTY_TARGET_RULE = """
[[rule]]
id = "g.county"
kind = "target_lag"
severity = "黄"
level = "county"
indicators = "*"
points = 5
escalate = { "橙" = 10 }
"""


def test_target_lag_fires_when_the_trajectory_misses_the_target_by_more_than_the_margin(
        evaluate_rules, tiny):
    shared = tiny.indicator("ops_data_shared")          # county only, 2025 target 90%
    credit = tiny.indicator("mkt_credit_cover")         # county only, 2025 target 100%
    progress = tiny.indicator("eco_project_progress")   # cumulative within the year, target 100%
    obs = []
    for k, p in enumerate(tiny.months("2022-01", "2025-12")):
        obs.append((shared.code, p, tiny.COUNTY, min(55 + k, 75) + (0.3 if k % 2 else -0.3)))
        obs.append((credit.code, p, tiny.COUNTY, 52 + k))  # reaches 99 in December 2025
        obs.append((progress.code, p, tiny.COUNTY, 100 * p.month / 12))
    ev = evaluate_rules(COUNTY_TARGET_RULE, [shared, credit, progress], obs)
    assert [(a.indicator, a.region, a.period) for a in ev.alerts] == [
        ("ops_data_shared", tiny.COUNTY, date(2025, 12, 1))]
    alert = ev.alerts[0]
    assert alert.kind == "target_lag" and alert.severity == "橙" and alert.expected == 90
    assert "低于 2025 年目标 90%" in alert.message and "目标将落空" in alert.message


def test_once_the_target_year_is_over_its_december_is_judged_as_a_missed_target(
        evaluate_rules, tiny):
    shared = tiny.indicator("ops_data_shared")          # 2025 target 90%: stalls at 75
    credit = tiny.indicator("mkt_credit_cover")         # 2025 target 100%: 99 in 2025-12
    obs = []
    for k, p in enumerate(tiny.months("2022-01", "2026-06")):
        obs.append((shared.code, p, tiny.COUNTY, min(55 + k, 75) + (0.3 if k % 2 else -0.3)))
        # Slides back after 2025: the plan year's result stands, not the later trend.
        obs.append((credit.code, p, tiny.COUNTY, min(52 + k, 99) - max(k - 47, 0) * 3))
    ev = evaluate_rules(COUNTY_TARGET_RULE, [shared, credit], obs)
    assert [(a.indicator, a.period) for a in ev.alerts] == [("ops_data_shared", date(2025, 12, 1))]
    alert = ev.alerts[0]
    assert alert.id == alert_id("g.county", tiny.COUNTY, "ops_data_shared", date(2025, 12, 1))
    assert alert.message.endswith("2025年末为 75.0%，低于 2025 年目标 90% 15.0 个百分点，目标未完成")
    # The plan year's December was looked at, so a corrected figure would clear the alert.
    assert ev.covers("g.county", "ops_data_shared", date(2025, 12, 1))


def test_target_lag_judges_township_rates_but_not_township_shares_of_a_county_total(
        evaluate_rules, tiny):
    doctor = tiny.indicator("svc_family_doctor")                 # quarterly rate, target 45%
    beds = tiny.indicator("svc_elderly_beds", target_value=5000.0, target_year=2025)  # a sum
    obs = []
    for k, p in enumerate(tiny.months("2023-03", "2025-12")[::3]):
        obs += [(doctor.code, p, TOWN_A, 30.0), (doctor.code, p, TOWN_B, 38 + 0.6 * k),
                (beds.code, p, TOWN_A, 300.0), (beds.code, p, tiny.COUNTY, 4990.0)]
    rules = """
[[rule]]
id = "g.town"
kind = "target_lag"
severity = "黄"
level = "township"
indicators = "*"
points = 10
percent = 20
"""
    ev = evaluate_rules(rules, [doctor, beds], obs)
    assert [(a.indicator, a.region) for a in ev.alerts] == [("svc_family_doctor", TOWN_A)]
    assert ev.alerts[0].period_label == "2025年四季度"


# --- missing and late data ----------------------------------------------------------------------
def test_a_township_that_did_not_report_gets_one_alert_per_run_of_missing_periods(
        evaluate_rules, tiny):
    ind = tiny.indicator("gov_hazard_fixed")
    obs = []
    for p in tiny.months("2025-01", "2025-12"):
        for town in tiny.TOWNS:
            if town == TOWN_C and p.month >= 11:
                continue
            if town == TOWN_D and p.month == 9:
                continue
            obs.append((ind.code, p, town, 97.0))
    rules = """
[[rule]]
id = "m.town"
kind = "missing"
severity = "黄"
mode = "township_gap"
indicators = "*"
lookback = 6
escalate = { "橙" = 2, "红" = 3 }
"""
    found = by_region(evaluate_rules(rules, [ind], obs))
    assert set(found) == {(TOWN_C, "2025-11"), (TOWN_D, "2025-09")}
    run = found[(TOWN_C, "2025-11")]
    assert run.kind == "missing" and run.severity == "橙" and run.measure == 2
    assert run.message == ("丙乡 安全生产隐患整改率 2025年11月至2025年12月连续 2 个月未报送，"
                           "其他 3 个乡镇（街道）均已报送（牵头单位：县应急管理局）")
    assert found[(TOWN_D, "2025-09")].message.startswith("丁街道 安全生产隐患整改率 2025年9月未报送")


def test_an_indicator_overdue_for_its_frequency_names_its_department(evaluate_rules, tiny):
    shared = tiny.indicator("ops_data_shared")       # monthly, county only
    forest = tiny.indicator("env_forest_cover")      # yearly
    doctor = tiny.indicator("svc_family_doctor")     # quarterly, up to date
    obs = [(shared.code, p, tiny.COUNTY, 70.0) for p in tiny.months("2025-01", "2025-09")]
    obs += [(forest.code, date(y, 12, 1), TOWN_A, 70.0) for y in (2023, 2024)]
    obs += [(doctor.code, p, TOWN_A, 40.0) for p in tiny.months("2025-01", "2025-12")[2::3]]
    rules = """
[[rule]]
id = "m.dept"
kind = "missing"
severity = "黄"
mode = "overdue"
indicators = "*"
escalate = { "红" = 3 }
"""
    ev = evaluate_rules(rules, [shared, forest, doctor], obs, as_of="2025-12")
    found = {a.indicator: a for a in ev.alerts}
    assert set(found) == {"ops_data_shared", "env_forest_cover"}
    late = found["ops_data_shared"]
    assert late.region == tiny.COUNTY and late.period == date(2025, 10, 1)
    assert late.severity == "红" and late.measure == 3
    assert late.message == ("测试县 数据共享率 最近一期为 2025年9月，按月度报送应已报至 2025年12月，"
                            "逾期 3 期未报（牵头单位：县大数据发展中心）")
    assert found["env_forest_cover"].measure == 1


# --- events -------------------------------------------------------------------------------------
def _event(region, category, reported: str, days_allowed=15, closed_after=None):
    reported_at = datetime.fromisoformat(reported)
    return {"region": region, "category": category, "reported_at": reported_at,
            "deadline_at": reported_at + timedelta(days=days_allowed),
            "closed_at": None if closed_after is None else reported_at + timedelta(
                days=closed_after),
            "status": "已办结" if closed_after is not None else "处置中"}


def _events_history():
    events = []
    for month in range(1, 12):  # an ordinary year: a couple of events a month, closed quickly
        for town in (TOWN_A, TOWN_B):
            events.append(_event(town, "企业消防安全隐患", f"2025-{month:02d}-05 09:00",
                                 closed_after=3))
            events.append(_event(town, "危化品", f"2025-{month:02d}-12 09:00", closed_after=2))
    # December in 甲镇: 12 fire-safety hazards reported in the first half, none closed.
    events += [_event(TOWN_A, "企业消防安全隐患", f"2025-12-{d:02d} 10:00") for d in range(1, 13)]
    # 乙镇: three overdue events, below the backlog limit.
    events += [_event(TOWN_B, "危化品", f"2025-12-0{d} 10:00") for d in (1, 2, 3)]
    events.append(_event(TOWN_C, "危化品", "2025-12-31 17:00", closed_after=0.01))  # "now"
    return events


def test_events_backlog_of_overdue_unresolved_events_per_township(evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = [(ind.code, date(2025, 12, 1), TOWN_A, 95.0)]
    rules = """
[[rule]]
id = "e.overdue"
kind = "events"
severity = "橙"
mode = "overdue"
min_count = 5
days = 90
escalate = { "红" = 10 }
"""
    ev = evaluate_rules(rules, [ind], obs, events=_events_history())
    assert [(a.region, a.period, a.kind) for a in ev.alerts] == [
        (TOWN_A, date(2025, 12, 1), "events")]
    alert = ev.alerts[0]
    assert alert.observed == 12 and alert.severity == "红" and alert.indicator is None
    assert alert.message.startswith("甲镇 有 12 起事件超期未办结（“企业消防安全隐患” 12 起）")


def test_events_burst_of_one_category_in_one_township(evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = [(ind.code, date(2025, 12, 1), TOWN_A, 95.0)]
    rules = """
[[rule]]
id = "e.burst"
kind = "events"
severity = "橙"
mode = "burst"
min_count = 10
factor = 3
history_months = 12
"""
    ev = evaluate_rules(rules, [ind], obs, events=_events_history())
    assert [(a.region, a.category) for a in ev.alerts] == [(TOWN_A, "企业消防安全隐患")]
    alert = ev.alerts[0]
    assert alert.observed == 12 and alert.period == date(2025, 12, 1)
    assert "集中上报“企业消防安全隐患”（安全生产）事件 12 起" in alert.message
    assert "其中 12 起已超期未办结" in alert.message


# --- identity -----------------------------------------------------------------------------------
def test_the_same_rule_region_indicator_and_period_is_the_same_alert_id(evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = [(ind.code, p, TOWN_A, 80.0) for p in tiny.months("2025-01", "2025-06")]
    rules = """
[[rule]]
id = "t.closed"
kind = "threshold"
severity = "橙"
indicators = ["gov_events_closed"]
below = 90
lookback = 3
"""
    first = evaluate_rules(rules, [ind], obs)
    again = evaluate_rules(rules, [ind], obs)
    assert [a.id for a in first.alerts] == [a.id for a in again.alerts]
    assert len({a.id for a in first.alerts}) == 3
    assert first.alerts[0].id == alert_id("t.closed", TOWN_A, "gov_events_closed",
                                          first.alerts[0].period)


def test_a_rule_naming_an_indicator_the_warehouse_lacks_is_skipped_with_a_warning(
        evaluate_rules, tiny):
    ind = tiny.indicator("gov_events_closed")
    obs = [(ind.code, date(2025, 6, 1), TOWN_A, 80.0)]
    rules = """
[[rule]]
id = "t.typo"
kind = "threshold"
severity = "橙"
indicators = ["gov_events_closd", "gov_events_closed"]
below = 90
"""
    ev = evaluate_rules(rules, [ind], obs)
    assert len(ev.alerts) == 1
    assert ev.warnings == ["规则 “t.typo” 的字段 indicators：数据仓库中没有指标 gov_events_closd，已跳过"]
