"""Plan targets: a year's figure by the indicator's rule, attainment, path, projection, status."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from cockpit.core import plan
from cockpit.core.catalogue import CATALOGUE_BY_CODE

RATE = CATALOGUE_BY_CODE["mkt_mobile_enforce"]        # %, mean of townships, monthly
FLOW = CATALOGUE_BY_CODE["eco_industry_va"]           # 亿元 per month, sum
STOCK = CATALOGUE_BY_CODE["mkt_entities_total"]       # 万户 at month end
PM25 = CATALOGUE_BY_CODE["env_pm25"]                  # lower is better
YEARLY = CATALOGUE_BY_CODE["eco_tax_per_mu"]
YTD = CATALOGUE_BY_CODE["eco_project_progress"]


def months(first: date, n: int) -> list[date]:
    out, y, m = [], first.year, first.month
    for _ in range(n):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def test_each_kind_of_indicator_forms_its_year_figure_by_its_own_rule():
    assert plan.annual_basis(FLOW) == plan.TOTAL
    assert plan.annual_basis(RATE) == plan.MEAN
    assert plan.annual_basis(PM25) == plan.MEAN
    assert plan.annual_basis(STOCK) == plan.YEAR_END
    assert plan.annual_basis(YEARLY) == plan.YEAR_END
    assert plan.annual_basis(YTD) == plan.YEAR_TO_DATE
    periods = months(date(2025, 1, 1), 12)
    values = np.arange(1.0, 13.0)
    assert plan.year_figure(FLOW, periods, values, date(2025, 12, 1)).value == 78.0
    assert plan.year_figure(RATE, periods, values, date(2025, 12, 1)).value == 6.5
    assert plan.year_figure(STOCK, periods, values, date(2025, 12, 1)).value == 12.0
    # The year to date is December's figure, also when asked in the middle of the next year.
    ytd = plan.year_figure(YTD, months(date(2025, 1, 1), 18), np.arange(1.0, 19.0),
                           date(2026, 6, 1))
    assert (ytd.value, ytd.end, ytd.complete) == (12.0, date(2025, 12, 1), True)


def test_a_year_with_a_missing_month_is_not_a_complete_total():
    periods = months(date(2025, 1, 1), 12)
    values = np.ones(12)
    values[5] = np.nan
    figure = plan.year_figure(FLOW, periods, values, date(2025, 12, 1))
    assert figure.value == 11.0 and not figure.complete
    assert len(plan.rolling_figures(FLOW, periods, values, date(2025, 12, 1))) == 0


def test_the_year_axis_puts_a_calendar_year_on_its_year():
    assert plan.year_coordinate(date(2025, 12, 1)) == 2025.0
    assert plan.year_coordinate(date(2026, 6, 1)) == 2025.5


def test_theil_sen_ignores_an_outlying_month_that_would_tilt_least_squares():
    x = np.arange(24) / 12.0
    y = 2.0 * x + 1.0
    y[-1] = 100.0
    slope, intercept = plan.theil_sen(x, y)
    assert slope == pytest.approx(2.0) and intercept == pytest.approx(1.0)


def test_five_year_plans_are_named_by_their_last_year():
    assert plan.plan_name(2025) == "十四五"
    assert plan.plan_name(2030) == "十五五"
    assert plan.plan_name(2035) == "十六五"
    assert plan.plan_name(2027) == "至2027年规划"


def test_a_plans_name_in_english_is_its_number_or_as_written():
    assert plan.plan_name_en("十四五") == "14th Five-Year Plan"
    assert [plan.plan_name_en(plan.plan_name(y)) for y in (1960, 1970, 2005, 2030, 2055)] == \
        ["1st Five-Year Plan", "3rd Five-Year Plan", "10th Five-Year Plan",
         "15th Five-Year Plan", "20th Five-Year Plan"]
    assert plan.plan_name_en("至2027年规划") == "Plan to 2027"
    assert plan.plan_name_en("乡村振兴规划") == "乡村振兴规划"   # a name of a file's own


def rate_series(start: float, per_year: float, first=date(2020, 1, 1), n=72):
    periods = months(first, n)
    t = np.arange(n) / 12.0
    return periods, start + per_year * t


def test_a_rate_that_reached_its_target_is_met_and_its_attainment_is_over_one():
    periods, values = rate_series(80.0, 4.0)       # 2025 mean ≈ 101.8 → capped data is fine
    target = plan.Target(RATE.code, "十四五", 2025, 95.0, 2020, None)
    a = plan.assess(RATE, target, periods, values, date(2025, 12, 1))
    assert a.ended and a.status == plan.MET
    assert a.baseline_derived and a.baseline == pytest.approx(80.0 + 4.0 * 5.5 / 12)
    assert a.latest.end == date(2025, 12, 1) and a.attainment > 1.0
    assert a.status_word() == "已达成" and a.status_word("en") == "Met"


def test_an_ended_plan_short_of_its_target_is_missed_not_behind():
    periods, values = rate_series(80.0, 1.0)
    target = plan.Target(RATE.code, "十四五", 2025, 95.0, 2020, 80.0)
    a = plan.assess(RATE, target, periods, values, date(2025, 12, 1))
    assert a.ended and a.status == plan.MISSED
    assert a.attainment == pytest.approx((a.latest.value - 80.0) / 15.0)
    assert a.projection is None   # nothing left to project


def test_a_plan_is_not_ended_until_the_target_years_data_is_complete():
    periods, values = rate_series(80.0, 1.0, n=71)   # December 2025 not reported yet
    target = plan.Target(RATE.code, "十四五", 2025, 95.0, 2020, 80.0)
    a = plan.assess(RATE, target, periods, values, date(2025, 12, 1))
    assert not a.ended and a.status == plan.BEHIND
    assert a.latest.end == date(2025, 11, 1)


def test_a_running_plan_is_on_track_when_the_trend_reaches_the_target():
    periods, values = rate_series(80.0, 3.0, n=42)   # to 2023-06: 2025 trend ≈ 96.4
    target = plan.Target(RATE.code, "十四五", 2025, 95.0, 2020, 80.0)
    a = plan.assess(RATE, target, periods, values, date(2023, 6, 1))
    assert a.status == plan.ON_TRACK and not a.ended
    # the 2025 figure is that year's mean: the series at mid-2025 (month 65.5 of the series)
    assert a.projection == pytest.approx(80.0 + 3.0 * 65.5 / 12, abs=0.01)
    assert a.latest.t == 2023.0 - 0.5
    assert a.expected_now == pytest.approx(80.0 + 15.0 * 2.5 / 5)

    slow = plan.assess(RATE, replace(target, target_value=99.0), periods, values,
                       date(2023, 6, 1))
    assert slow.status == plan.BEHIND


def test_a_falling_value_is_progress_for_a_lower_is_better_target():
    periods, values = rate_series(26.0, -0.8)
    target = plan.Target(PM25.code, "十四五", 2025, 24.0, 2020, 26.0)
    a = plan.assess(PM25, target, periods, values, date(2025, 12, 1))
    assert a.attainment > 1.0 and a.status == plan.MET


def test_a_figure_meets_its_target_as_shown_rounded():
    assert plan.meets(94.96, 95.0, RATE)        # shows as 95.0%
    assert not plan.meets(94.94, 95.0, RATE)
    assert plan.meets(23.96, 24.0, PM25) and not plan.meets(24.06, 24.0, PM25)


def test_a_monthly_flow_is_judged_on_its_annual_total_against_an_annual_target():
    # 10 亿元 a month in 2025: the 2025 figure is 120, comparable with a 2030 target of 150.
    periods = months(date(2024, 1, 1), 24)
    values = np.r_[np.full(12, 9.0), np.full(12, 10.0)]
    target = plan.Target(FLOW.code, "十五五", 2030, 150.0, 2025, 120.0)
    a = plan.assess(FLOW, target, periods, values, date(2025, 12, 1))
    assert a.latest.value == 120.0 and a.attainment == 0.0 and not a.ended
    assert a.path_at(2027.5) == pytest.approx(135.0)


def test_contributions_add_up_to_the_countys_gap_to_target():
    latest = {"a": 90.0, "b": 96.0, "c": 99.0}
    pulls = plan.contributions(RATE, 95.0, latest)
    assert [c.region for c in pulls] == ["c", "b", "a"]
    county = sum(latest.values()) / 3
    assert sum(c.pull for c in pulls) == pytest.approx(county - 95.0)
    weighted = plan.contributions(replace(RATE, aggregation="pop_mean"), 95.0, latest,
                                  population={"a": 8, "b": 1, "c": 1})
    assert weighted[-1].region == "a" and weighted[-1].pull == pytest.approx(0.8 * -5.0)


def test_a_township_growing_slower_than_the_plan_asks_pulls_a_total_back():
    baseline = {"a": 50.0, "b": 50.0}
    latest = {"a": 70.0, "b": 55.0}     # county 125 against a target of 120
    pulls = plan.contributions(FLOW, 120.0, latest, baseline)
    assert [(c.region, c.pull) for c in pulls] == [("a", 10.0), ("b", -5.0)]
    lower = plan.contributions(PM25, 24.0, {"a": 20.0, "b": 30.0})
    assert lower[0].region == "a" and lower[0].pull > 0 > lower[1].pull
