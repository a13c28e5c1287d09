"""Is a figure late? The period an indicator should have reached by a given day, by its frequency.

A period can only be reported once it has ended, and departments get a grace time after that:
a month's figure is due by the end of the following month, a quarter's by the end of the month
after the quarter, a year's by the end of March (statistical yearbooks come later still). A panel
is on time when its period is the latest one due (or newer); one period behind is late (amber),
two or more is seriously late (red). So on 2025-11-20 a quarterly indicator at 2025 Q3 is on time,
a monthly one at 2025-09 is on time (October's figure is due by the end of November), one at
2025-08 is late and one at 2025-07 seriously late.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Months after a period's end before its figure is due.
GRACE_MONTHS = {"month": 1, "quarter": 1, "year": 3}
_STEP = {"month": 1, "quarter": 3, "year": 12}

ON_TIME, LATE, VERY_LATE = 0, 1, 2


def _index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _month(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def latest_due(frequency: str, today: date) -> date:
    """The newest period of this frequency whose figure should be in by `today` (periods are
    stored by their last month: 2025-09 is Q3, 2025-12 the year 2025).

    A period ending in month M is due once month M + grace has ended, i.e. from the first day of
    month M + grace + 1.
    """
    step, grace = _STEP.get(frequency, 1), GRACE_MONTHS.get(frequency, 1)
    last_end = _index(date(today.year, today.month, 1)) - grace - 1
    # Periods end on months whose (number) is a multiple of the step: Mar/Jun/Sep/Dec, Dec.
    while (last_end % 12 + 1) % step:
        last_end -= 1
    return _month(last_end)


@dataclass(frozen=True)
class Freshness:
    period: date | None        # the period shown
    due: date                  # the newest period that should be in
    behind: int                # periods behind the due one (0: on time)
    frequency: str

    @property
    def level(self) -> int:
        if self.period is None:
            return VERY_LATE
        return ON_TIME if self.behind <= 0 else (LATE if self.behind == 1 else VERY_LATE)


def freshness(period: date | None, frequency: str, today: date) -> Freshness:
    due = latest_due(frequency, today)
    if period is None:
        return Freshness(None, due, 99, frequency)
    step = _STEP.get(frequency, 1)
    behind = (_index(due) - _index(period)) // step
    return Freshness(period, due, max(0, behind), frequency)
