"""Whether a figure is late for its frequency: a month is due by the end of the next month, a
quarter by the end of the month after it, a year by the end of March."""
from __future__ import annotations

from datetime import date

import pytest

from cockpit.core.freshness import LATE, ON_TIME, VERY_LATE, freshness, latest_due


@pytest.mark.parametrize("frequency, period, today, level", [
    ("quarter", date(2025, 9, 1), date(2025, 11, 20), ON_TIME),   # Q3 in November
    ("quarter", date(2025, 6, 1), date(2025, 11, 20), LATE),
    ("quarter", date(2025, 3, 1), date(2025, 11, 20), VERY_LATE),
    ("month", date(2025, 10, 1), date(2025, 11, 20), ON_TIME),    # ahead of time is fine
    ("month", date(2025, 9, 1), date(2025, 11, 20), ON_TIME),
    ("month", date(2025, 8, 1), date(2025, 11, 20), LATE),
    ("month", date(2025, 8, 1), date(2025, 12, 1), VERY_LATE),    # three months behind
    ("year", date(2025, 12, 1), date(2026, 12, 1), ON_TIME),
    ("year", date(2024, 12, 1), date(2026, 3, 31), ON_TIME),      # 2025 is due from April
    ("year", date(2024, 12, 1), date(2026, 4, 1), LATE),
    ("month", None, date(2026, 4, 1), VERY_LATE),
])
def test_lateness_follows_the_frequency(frequency, period, today, level):
    assert freshness(period, frequency, today).level == level


def test_the_demo_viewed_a_year_later_is_ten_periods_behind():
    state = freshness(date(2025, 12, 1), "month", date(2026, 12, 1))
    assert state.due == date(2026, 10, 1) and state.behind == 10


def test_due_periods_land_on_period_ends():
    assert latest_due("quarter", date(2026, 1, 15)) == date(2025, 9, 1)
    assert latest_due("quarter", date(2026, 2, 1)) == date(2025, 12, 1)
    assert latest_due("year", date(2026, 12, 31)) == date(2025, 12, 1)
