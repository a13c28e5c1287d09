"""The problem banner: several background problems at once, each with since when, in the UI
language; hidden when nothing is wrong."""
from __future__ import annotations

from datetime import datetime

from cockpit.ui.banner import ProblemBanner


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_problems_are_listed_with_since_when_and_cleared(qtbot):
    clock = Clock(datetime(2026, 3, 5, 14, 5))
    banner = ProblemBanner(clock=clock)
    qtbot.addWidget(banner)
    assert banner.isHidden() and not banner.problems()
    banner.report("warehouse", "数据仓库目录无法访问")
    clock.now = datetime(2026, 3, 5, 14, 9)
    banner.report("warehouse", "数据仓库目录无法访问（没有访问权限）")   # same problem, new words
    banner.report("operations", "预警处置库被占用")
    assert not banner.isHidden()
    lines = banner.text().splitlines()
    assert lines == ["⚠ 数据仓库目录无法访问（没有访问权限）（自 14:05 起）",
                     "⚠ 预警处置库被占用（自 14:09 起）"]
    assert banner.problems()["warehouse"].since == datetime(2026, 3, 5, 14, 5)
    clock.now = datetime(2026, 3, 7, 9, 0)          # a wall runs for days: the day is named
    banner.clear("operations")
    assert banner.text() == "⚠ 数据仓库目录无法访问（没有访问权限）（自 3月5日 14:05 起）"
    banner.clear("warehouse")
    assert banner.isHidden() and not banner.problems()


def test_english_says_since(qtbot):
    banner = ProblemBanner(lang="en", clock=lambda: datetime(2026, 3, 5, 14, 5))
    qtbot.addWidget(banner)
    banner.report("warehouse", "Warehouse folder unreachable")
    assert banner.text() == "⚠ Warehouse folder unreachable (since 14:05)"
