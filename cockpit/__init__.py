"""City Cockpit (城市大脑 · 数字驾驶舱): a desktop cockpit over a county's indicator warehouse."""

__version__ = "0.1.0"
