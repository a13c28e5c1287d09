from datetime import date

from cockpit.core.catalogue import CATALOGUE_BY_CODE as C
from cockpit.core import formatting as fmt


def test_months_quarters_and_years_read_naturally():
    assert fmt.month_label(date(2025, 6, 1)) == "2025年6月"
    assert fmt.period_label(date(2025, 6, 1), "quarter") == "2025年二季度"
    assert fmt.period_label(date(2025, 12, 1), "year") == "2025年"
    assert fmt.period_label(date(2025, 6, 1), "month", lang="en") == "Jun 2025"


def test_values_carry_units_and_large_counts_use_wan():
    assert fmt.format_value(95.04, C["svc_online_rate"]) == "95.0%"
    assert fmt.format_value(12.345, C["eco_industry_va"]) == "12.35 亿元"
    assert fmt.format_value(14695, C["svc_12345_cases"]) == "1.47 万件"
    assert fmt.format_value(None, C["env_pm25"]) == "—"


def test_rates_change_in_percentage_points_and_amounts_in_percent():
    assert fmt.format_change(78.2, 87.3, C["gov_events_closed"]) == "−9.1个百分点"
    assert fmt.format_change(11.0, 10.0, C["eco_retail"]) == "+10.0%"


def test_verdict_follows_polarity():
    assert fmt.trend_verdict(20.0, 25.0, C["env_pm25"]) == 1     # PM2.5 falling is good news
    assert fmt.trend_verdict(90.0, 95.0, C["svc_online_rate"]) == -1
    assert fmt.trend_verdict(100, 90, C["gov_events_received"]) == 0  # neutral


def test_changes_of_small_counts_are_numbers_not_percentages():
    assert fmt.format_change(7, 1, C["gov_petitions"]) == "+6件次"
    assert fmt.format_change(70, 100, C["gov_petitions"]) == "−30.0%"
    assert fmt.format_change(3, 0, C["gov_fires"]) == "+3起"


def test_differences_are_in_percentage_points_for_rates_and_in_units_otherwise():
    assert fmt.format_difference(0.4213, C["mkt_mobile_enforce"]) == "+0.42个百分点"
    assert fmt.format_difference(-0.4213, C["mkt_mobile_enforce"], "en") == "−0.42 pp"
    assert fmt.format_difference(-3.254, C["eco_industry_va"]) == "−3.25 亿元"
    assert fmt.format_difference(12, C["gov_petitions"]) == "+12.0 件次"
