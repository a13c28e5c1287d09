"""How figures, changes and periods are written for people: units, 万, 个百分点, 2025年6月."""
from __future__ import annotations

import math
from datetime import date

from . import i18n
from .catalogue import Indicator

_QUARTERS = {3: "一季度", 6: "二季度", 9: "三季度", 12: "四季度"}
_QUARTERS_EN = {3: "Q1", 6: "Q2", 9: "Q3", 12: "Q4"}
# Units that are counts of things: large values are written with 万.
SMALL_COUNT = 20  # below this many, changes of counts are given as numbers, not per cent
_COUNT_UNITS = {"件", "户", "人", "起", "件次", "个", "张", "人次", "元"}


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def month_label(d: date, lang: str = "zh_CN") -> str:
    if lang == "en":
        return d.strftime("%b %Y")
    return f"{d.year}年{d.month}月"


def period_label(d: date | None, frequency: str = "month", lang: str = "zh_CN") -> str:
    """2025年6月 / 2025年二季度 / 2025年 for the period a value belongs to."""
    if d is None:
        return "—"
    if frequency == "quarter" and d.month in _QUARTERS:
        return f"{d.year} {_QUARTERS_EN[d.month]}" if lang == "en" else f"{d.year}年{_QUARTERS[d.month]}"
    if frequency == "year":
        return f"{d.year}" if lang == "en" else f"{d.year}年"
    return month_label(d, lang)


def number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def value_parts(value, indicator: Indicator, lang: str = "zh_CN") -> tuple[str, str]:
    """(number, unit) for a big KPI figure; 14,695 件 → ("1.47", "万件"), in English
    ("14.7k", "cases")."""
    unit = indicator.unit
    english = lang == "en"
    if is_missing(value):
        return "—", i18n.unit(unit, lang)
    if english and unit in i18n.SCALED_EN:
        factor, base = i18n.SCALED_EN[unit]
        return _magnitude(value * factor), base
    if unit in _COUNT_UNITS and abs(value) >= 10_000:
        if english:
            return _magnitude(value), i18n.unit(unit, lang)
        if abs(value) >= 100_000:
            return number(value / 10_000, 1), "万" + unit
        return number(value / 10_000, 2), "万" + unit
    return number(value, indicator.decimals), i18n.unit(unit, lang)


def _magnitude(value: float) -> str:
    """An English amount with k / M / B: 48.0M, 2.4k, 7,450 (three significant figures)."""
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e4, "k")):
        if size >= limit:
            scaled = value / (limit if suffix != "k" else 1e3)
            decimals = 2 if abs(scaled) < 10 else (1 if abs(scaled) < 100 else 0)
            return f"{scaled:,.{decimals}f}{suffix}"
    return number(value, 0 if size >= 100 else (1 if size >= 10 else 2))


def format_value(value, indicator: Indicator, lang: str = "zh_CN") -> str:
    text, unit = value_parts(value, indicator, lang)
    if text == "—":
        return text
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def change(current, previous, indicator: Indicator) -> float | None:
    """Change in the unit people compare: percentage points for rates, per cent otherwise."""
    if is_missing(current) or is_missing(previous):
        return None
    if indicator.is_rate:
        return current - previous
    if previous == 0:
        return None
    return (current - previous) / abs(previous) * 100.0


def format_change(current, previous, indicator: Indicator, lang: str = "zh_CN") -> str:
    if is_missing(current) or is_missing(previous):
        return "—"
    if indicator.unit in _COUNT_UNITS and abs(previous) < SMALL_COUNT:
        # 1 → 7 petitions is "+6 件次", not "+600%": per cent of a handful misleads.
        diff = current - previous
        sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
        unit = i18n.unit(indicator.unit, lang)
        return f"{sign}{abs(diff):,.{indicator.decimals}f}{' ' + unit if lang == 'en' else unit}"
    delta = change(current, previous, indicator)
    if delta is None:
        return "—"
    sign = "+" if delta > 0.05 else ("−" if delta < -0.05 else "±")
    magnitude = abs(delta)
    if indicator.is_rate:
        unit = " pp" if lang == "en" else "个百分点"
        return f"{sign}{magnitude:.1f}{unit}"
    return f"{sign}{magnitude:.1f}%"


def trend_verdict(current, previous, indicator: Indicator) -> int:
    """+1 good news, -1 bad news, 0 neutral or unchanged — from the indicator's polarity."""
    delta = change(current, previous, indicator)
    if delta is None or abs(delta) < 0.05 or indicator.polarity == "neutral":
        return 0
    better = delta > 0 if indicator.polarity == "higher" else delta < 0
    return 1 if better else -1


def target_progress(value, indicator: Indicator) -> float | None:
    """Share of the way from baseline (or 0) to target, 0…1+; None without a target."""
    if indicator.target_value is None or is_missing(value):
        return None
    target = indicator.target_value
    if indicator.polarity == "lower":
        return min(target / value, 1.5) if value > 0 else 1.0
    return value / target if target else None


def format_difference(diff, indicator: Indicator, lang: str = "zh_CN") -> str:
    """A signed difference in the indicator's unit: +0.42个百分点 for rates, −3.25 亿元 else."""
    if is_missing(diff):
        return "—"
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    if indicator.is_rate:
        unit = " pp" if lang == "en" else "个百分点"
        return f"{sign}{abs(diff):.2f}{unit}"
    return f"{sign}{number(abs(diff), max(indicator.decimals, 1))} {indicator.unit}"
