"""Plan targets judged like with like: a year's figure by each indicator's rule, attainment from
baseline to target, the straight path between them, a robust trend projection and a status word.

A plan states its baselines and targets as a year's figure: a flow's annual total (规上工业增加值,
亿元 per year, though it is reported per month), a rate's annual mean, a stock's year-end level.
`annual_basis` is the one place that says which; everything else here compares figures formed
by it: the calendar year for the baseline and an ended plan, the latest twelve months otherwise.
Nothing here touches the warehouse or Qt: callers pass each indicator's series.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .catalogue import Indicator

# How a year's figure is formed from the periods in it.
TOTAL, MEAN, YEAR_END, YEAR_TO_DATE = "total", "mean", "year_end", "ytd"
ANNUAL_BASES = (TOTAL, MEAN, YEAR_END, YEAR_TO_DATE)
BASIS_WORDS = {TOTAL: ("全年合计", "annual total"), MEAN: ("全年平均", "annual mean"),
               YEAR_END: ("年末值", "year-end level"),
               YEAR_TO_DATE: ("全年累计（12月）", "year to date (December)")}

# Status codes, their words and a mark that survives black-and-white printing.
MET, ON_TRACK, BEHIND, MISSED = "met", "on_track", "behind", "missed"
STATUSES = (MET, ON_TRACK, BEHIND, MISSED)
STATUS_WORDS = {MET: ("已达成", "Met"), ON_TRACK: ("有望达成", "On track"),
                BEHIND: ("滞后", "Behind"), MISSED: ("未达成", "Missed")}
STATUS_MARKS = {MET: "√", ON_TRACK: "○", BEHIND: "!", MISSED: "×"}

TREND_MONTHS = 24   # the projection's window for monthly and quarterly data
TREND_YEARS = 5     # … and for yearly data, which has one point a year
_MIN_POINTS = {"month": 6, "quarter": 3, "year": 3}
_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
_STEP = {"month": 1, "quarter": 3, "year": 12}


def annual_basis(indicator: Indicator) -> str:
    """How a year's figure of this indicator is formed: total, mean or year_end.

    The catalogue may say it (`Indicator.annual`: year_end for stocks such as 在册市场主体, whose
    latest level is always comparable; ytd for figures that accumulate from January, such as
    重点项目投资完成率, whose year is only known in December); otherwise yearly data is its own
    figure, a sum-aggregated count or amount is a flow (the year's total) and anything else —
    rates, means, per-capita figures — is the year's mean.
    """
    if indicator.annual in ANNUAL_BASES:
        return indicator.annual
    if indicator.frequency == "year":
        return YEAR_END
    if indicator.aggregation in ("sum", "county_only") and not indicator.is_rate:
        return TOTAL
    return MEAN


def plan_name(target_year: int) -> str:
    """The five-year plan ending in `target_year`: 2025 → 十四五, 2030 → 十五五; else 至2035年规划."""
    number = (target_year - 1955) // 5
    if (target_year - 1955) % 5 or number < 1:
        return f"至{target_year}年规划"
    return f"{_chinese_number(number)}五"


_FIVE_YEAR = re.compile(r"^([一二三四五六七八九]?十?[一二三四五六七八九]?)五$")
_TO_YEAR = re.compile(r"^至(\d{4})年规划$")


def plan_name_en(name: str) -> str:
    """A plan's name in English: 十四五 → 14th Five-Year Plan, 至2035年规划 → Plan to 2035;
    any other name (a plan a targets file calls something else) as written."""
    if found := _FIVE_YEAR.match(name):
        n = _from_chinese_number(found.group(1))
        if n:
            suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
            return f"{n}{suffix} Five-Year Plan"
    if found := _TO_YEAR.match(name):
        return f"Plan to {found.group(1)}"
    return name


def _from_chinese_number(text: str) -> int | None:
    digits = "〇一二三四五六七八九"
    if not text or text.count("十") > 1:
        return None
    if "十" not in text:
        return digits.index(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    return (digits.index(tens) if tens else 1) * 10 + (digits.index(ones) if ones else 0)


def _chinese_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def year_coordinate(end: date) -> float:
    """Where a twelve-month figure ending in `end` sits on the plan's year axis: December 2025's
    is 2025.0 (the calendar year 2025), June 2026's 2025.5."""
    return end.year + (end.month - 12) / 12.0


def _last_due(frequency: str, end: date) -> date:
    """The last period of this frequency that ends in or before the month `end`."""
    if frequency == "month":
        return end
    if frequency == "quarter":
        return _months_back(end, end.month % 3)
    return end if end.month == 12 else date(end.year - 1, 12, 1)


def _months_back(d: date, months: int) -> date:
    k = d.year * 12 + d.month - 1 - months
    return date(k // 12, k % 12 + 1, 1)


@dataclass(frozen=True)
class Figure:
    """A year's figure: the twelve months ending in `end`, formed by the indicator's basis."""
    value: float
    end: date
    periods: int       # periods of the indicator's frequency found in the window
    expected: int      # periods a complete window has

    @property
    def complete(self) -> bool:
        return self.periods >= self.expected

    @property
    def t(self) -> float:
        return year_coordinate(self.end)

    @property
    def calendar_year(self) -> bool:
        return self.end.month == 12


def _as_dates(periods) -> list[date]:
    return [p if isinstance(p, date) else np.datetime64(p, "D").astype(date) for p in periods]


def year_figure(indicator: Indicator, periods, values, end: date) -> Figure | None:
    """The figure of the twelve months ending in `end` (inclusive), or None without data."""
    if annual_basis(indicator) == YEAR_TO_DATE and end.month != 12:
        end = date(end.year - 1, 12, 1)   # a year to date is a year's figure in December only
    start = _months_back(end, 12)
    dates = _as_dates(periods)
    values = np.asarray(values, dtype=float)
    picked = [(d, v) for d, v in zip(dates, values) if start < d <= end and math.isfinite(v)]
    if not picked:
        return None
    basis = annual_basis(indicator)
    in_window = np.array([v for _, v in picked])
    if basis == TOTAL:
        value = float(in_window.sum())
    elif basis == MEAN:
        value = float(in_window.mean())
    else:
        value = float(max(picked)[1])
    if basis == YEAR_TO_DATE:
        december = [v for d, v in picked if d == end]
        return Figure(float(december[0] if december else max(picked)[1]), end,
                      int(bool(december)), 1)
    if basis == YEAR_END:
        # A level is complete when the window's last due period is reported.
        return Figure(value, end, int(max(picked)[0] >= _last_due(indicator.frequency, end)), 1)
    found, expected = len(picked), _PER_YEAR[indicator.frequency]
    return Figure(value, end, found, expected)


def rolling_figures(indicator: Indicator, periods, values, end: date,
                    start: date | None = None) -> list[Figure]:
    """The complete year figures of the windows ending at each reported period in [start, end]
    (one pass over the series: cumulative sums, not a window per period)."""
    dates = _as_dates(periods)
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values) & np.array([d <= end for d in dates], dtype=bool)
    if not keep.any():
        return []
    dates = [d for d, k in zip(dates, keep) if k]
    values = values[keep]
    months = np.array([d.year * 12 + d.month - 1 for d in dates])
    order = np.argsort(months, kind="stable")
    months, values = months[order], values[order]
    dates = [dates[k] for k in order]
    first = np.searchsorted(months, months - 12, side="right")
    counts = np.arange(1, len(months) + 1) - first
    sums = np.concatenate([[0.0], np.cumsum(values)])
    sums = sums[1:] - sums[first]
    basis = annual_basis(indicator)
    if basis in (YEAR_END, YEAR_TO_DATE):
        found = np.ones(len(values), int) if basis == YEAR_END else \
            np.array([d.month == 12 for d in dates], int)
        figures, expected = values, 1
    else:
        figures = sums if basis == TOTAL else sums / counts
        found, expected = counts, _PER_YEAR[indicator.frequency]
    return [Figure(float(v), d, int(n), expected)
            for d, v, n in zip(dates, figures, found)
            if n >= expected and (start is None or d >= start)]


def theil_sen(x, y) -> tuple[float, float]:
    """(slope, intercept) of the Theil–Sen line: the median of pairwise slopes, robust to a
    few outlying points (a strike month, a late correction) that would tilt least squares."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    keep = dx != 0
    slope = float(np.median((y[j] - y[i])[keep] / dx[keep])) if keep.any() else 0.0
    return slope, float(np.median(y - slope * x))


PROJECTION_METHOD = {
    "zh_CN": f"Theil–Sen 稳健线性趋势外推至目标年——月度、季度指标用近{TREND_MONTHS}个月的滚动12个月"
             f"年度值，年度指标（及按12月累计的指标）用近{TREND_YEARS}年的年度值",
    "en": f"Theil–Sen robust linear trend extended to the target year: rolling 12-month annual "
          f"figures of the last {TREND_MONTHS} months for monthly and quarterly data, the last "
          f"{TREND_YEARS} annual figures for yearly data",
}


def projection_method(indicator: Indicator, lang: str = "zh_CN") -> str:
    """What the projection is, in words for the page and the briefing."""
    basis = BASIS_WORDS[annual_basis(indicator)]
    if indicator.frequency == "year" or annual_basis(indicator) == YEAR_TO_DATE:
        return (f"Theil–Sen robust linear trend of the last {TREND_YEARS} annual figures"
                if lang == "en" else f"近{TREND_YEARS}年年度值的稳健线性趋势（Theil–Sen）外推")
    if lang == "en":
        return (f"Theil–Sen robust linear trend of the rolling 12-month {basis[1]} over the "
                f"last {TREND_MONTHS} months, extended to the target year")
    return f"近{TREND_MONTHS}个月滚动12个月{basis[0]}的稳健线性趋势（Theil–Sen）外推至目标年"


@dataclass(frozen=True)
class Target:
    """One indicator's target in one plan; baseline_value None: taken from the data."""
    indicator: str
    plan: str
    target_year: int
    target_value: float
    baseline_year: int | None = None
    baseline_value: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Trend:
    slope: float        # per year
    intercept: float
    start: float        # first year coordinate of the fitted window

    def at(self, t: float) -> float:
        return self.intercept + self.slope * t


@dataclass(frozen=True)
class Assessment:
    """Where one indicator stands on its target, as of a month."""
    indicator: Indicator
    target: Target
    month: date
    baseline: float | None
    baseline_derived: bool          # from the warehouse's data, not stated by the plan
    latest: Figure | None           # the figure judged: the target year's once the plan ended
    attainment: float | None        # share of the way from baseline to target (1.0 = reached)
    expected_now: float | None      # the straight path's value where `latest` sits
    projection: float | None        # the trend's figure in the target year
    trend: Trend | None
    status: str | None              # met / on_track / behind / missed; None without data
    ended: bool                     # the target year's data is complete: a final judgement
    history: list[Figure] = field(default_factory=list)   # rolling figures, for the chart

    @property
    def code(self) -> str:
        return self.indicator.code

    def path_at(self, t: float) -> float | None:
        return straight_path(self.baseline, self.target, t)

    def status_word(self, lang: str = "zh_CN") -> str:
        if self.status is None:
            return "No data" if lang == "en" else "无数据"
        return STATUS_WORDS[self.status][1 if lang == "en" else 0]


def meets(value: float | None, target: float, indicator: Indicator) -> bool:
    """Whether a figure reaches the target, compared as shown (rounded to the indicator's
    decimals): 94.96 shows as 95.0 and so meets a 95 target."""
    if value is None or not math.isfinite(value):
        return False
    shown = round(value, indicator.decimals)
    return shown <= target if indicator.polarity == "lower" else shown >= target


def attainment(baseline: float | None, latest: float | None, target: float,
               indicator: Indicator) -> float | None:
    """Share of the way from baseline to target; the sign of the way carries the polarity, so
    a falling PM2.5 towards a lower target counts as progress."""
    if baseline is None or latest is None:
        return None
    if target == baseline:
        return 1.0 if meets(latest, target, indicator) else 0.0
    return (latest - baseline) / (target - baseline)


def straight_path(baseline: float | None, target: Target, t: float) -> float | None:
    if baseline is None or target.baseline_year is None \
            or target.target_year == target.baseline_year:
        return None
    share = (t - target.baseline_year) / (target.target_year - target.baseline_year)
    return baseline + (target.target_value - baseline) * share


def _clip(value: float, indicator: Indicator) -> float:
    # A trend may run past 100 %; a share cannot.
    return min(value, 100.0) if indicator.is_rate else value


def assess(indicator: Indicator, target: Target, periods, values, month: date) -> Assessment:
    """Judge one indicator's target from its (county) series as of `month`."""
    dates = _as_dates(periods)
    values = np.asarray(values, dtype=float)
    keep = [k for k, d in enumerate(dates) if d <= month]
    dates = [dates[k] for k in keep]
    values = values[keep] if len(keep) else np.empty(0)
    baseline, derived = target.baseline_value, False
    if baseline is None and target.baseline_year is not None:
        figure = year_figure(indicator, dates, values, date(target.baseline_year, 12, 1))
        if figure is not None and figure.complete:
            baseline, derived = figure.value, True
    history = rolling_figures(indicator, dates, values, month)

    final = None
    target_end = date(target.target_year, 12, 1)
    if month >= target_end:
        final = year_figure(indicator, dates, values, target_end)
    ended = final is not None and final.complete
    latest = final if ended else (year_figure(indicator, dates, values, dates[-1])
                                  if dates else None)
    if latest is not None and not latest.complete and not ended:
        complete = [f for f in history if f.end <= latest.end]
        latest = complete[-1] if complete else latest

    trend = projection = None
    if not ended and latest is not None:
        trend = fit_trend(indicator, dates, values, latest.end)
        if trend is not None:
            projection = _clip(trend.at(float(target.target_year)), indicator)
    share = attainment(baseline, latest.value if latest else None, target.target_value,
                       indicator)
    expected = straight_path(baseline, target, latest.t) if latest else None

    if latest is None:
        status = None
    elif ended:
        status = MET if meets(latest.value, target.target_value, indicator) else MISSED
    elif meets(latest.value, target.target_value, indicator):
        status = MET
    elif projection is not None:
        status = ON_TRACK if meets(projection, target.target_value, indicator) else BEHIND
    elif expected is not None:
        ahead = latest.value <= expected if indicator.polarity == "lower" \
            else latest.value >= expected
        status = ON_TRACK if ahead else BEHIND
    else:
        status = BEHIND
    return Assessment(indicator, target, month, baseline, derived, latest, share, expected,
                      projection, trend, status, ended, history)


def fit_trend(indicator: Indicator, periods, values, end: date) -> Trend | None:
    """Theil–Sen over the rolling year figures of the last 24 months (5 years for yearly data)
    up to `end`; None with too few points to call it a trend."""
    yearly = indicator.frequency == "year" or annual_basis(indicator) == YEAR_TO_DATE
    span = 12 * TREND_YEARS if yearly else TREND_MONTHS
    start = _months_back(end, span - 1)
    figures = rolling_figures(indicator, periods, values, end, start)
    if len(figures) < (_MIN_POINTS["year"] if yearly else _MIN_POINTS[indicator.frequency]):
        return None
    x = np.array([f.t for f in figures])
    slope, intercept = theil_sen(x, [f.value for f in figures])
    return Trend(slope, intercept, float(x[0]))


# --- who pulls the county forward or back ---------------------------------------------------
@dataclass(frozen=True)
class Contribution:
    """One township's share of the county's distance to its target, in the indicator's unit
    (percentage points for rates): positive pulls the county towards the target."""
    region: str
    latest: float
    baseline: float | None
    pull: float


def contributions(indicator: Indicator, target_value: float,
                  latest: dict[str, float], baseline: dict[str, float] | None = None,
                  population: dict[str, float] | None = None) -> list[Contribution]:
    """Split the county's gap to target (county figure − target) over its townships, strongest
    pull first.

    Means: each township weighs 1/n (population share for population-weighted means) of its own
    distance to the target. Totals: each township carries the target in proportion to its
    baseline (its latest figure when there is no baseline), so a township growing slower than
    the plan asks shows as pulling back. The pulls add up to the county's gap when the county's
    figure is the townships' aggregate.
    """
    codes = [c for c, v in latest.items() if v is not None and math.isfinite(v)]
    if not codes:
        return []
    sign = -1.0 if indicator.polarity == "lower" else 1.0
    baseline = baseline or {}
    out = []
    if indicator.aggregation == "sum" or annual_basis(indicator) == TOTAL:
        shares_of = {c: baseline.get(c) for c in codes}
        if any(v is None or not math.isfinite(v) for v in shares_of.values()) or \
                sum(shares_of.values()) <= 0:
            shares_of = {c: latest[c] for c in codes}
        total = sum(shares_of.values()) or 1.0
        for c in codes:
            own_target = target_value * shares_of[c] / total
            out.append(Contribution(c, latest[c], baseline.get(c), sign * (latest[c] - own_target)))
    else:
        if indicator.aggregation == "pop_mean" and population and \
                all(population.get(c) for c in codes):
            weights = {c: population[c] for c in codes}
        else:
            weights = {c: 1.0 for c in codes}
        total = sum(weights.values())
        for c in codes:
            out.append(Contribution(c, latest[c], baseline.get(c),
                                    sign * weights[c] / total * (latest[c] - target_value)))
    out.sort(key=lambda k: (-k.pull, k.region))
    return out


# --- words for people ---------------------------------------------------------------------------
def attainment_text(share: float | None, met: bool = False) -> str:
    """89% / 108% / −3%: below the target rounded towards zero, so 100% means reached."""
    if share is None or not math.isfinite(share):
        return "—"
    percent = share * 100
    if share >= 1 or met:
        shown = max(round(percent), 100) if met else round(percent)
    else:
        shown = math.trunc(percent)
    return f"{shown}%" if shown >= 0 else f"−{abs(shown)}%"


def figure_when(figure: Figure | None, indicator: Indicator, lang: str = "zh_CN") -> str:
    """Which twelve months a figure covers: 2025年, or 近12个月（至2026年6月）."""
    if figure is None:
        return "—"
    end = figure.end
    if figure.calendar_year:
        return str(end.year) if lang == "en" else f"{end.year}年"
    month = end.strftime("%b %Y") if lang == "en" else f"{end.year}年{end.month}月"
    if annual_basis(indicator) == YEAR_END:
        return f"end of {month}" if lang == "en" else f"{month}末"
    return f"12 months to {month}" if lang == "en" else f"近12个月（至{month}）"


def describe(a: Assessment, lang: str = "zh_CN") -> dict[str, str]:
    """The texts of one target's row, as the plan page, the briefing and the export show them."""
    from .formatting import format_value

    ind, en = a.indicator, lang == "en"
    baseline = format_value(a.baseline, ind, lang) if a.baseline is not None else "—"
    return {
        "indicator": (ind.name_en or ind.name) if en else ind.name,
        "baseline": baseline,
        "baseline_year": str(a.target.baseline_year or "—"),
        "latest": format_value(a.latest.value, ind, lang) if a.latest else "—",
        "latest_when": figure_when(a.latest, ind, lang),
        "target": format_value(a.target.target_value, ind, lang),
        "target_year": str(a.target.target_year),
        "attainment": attainment_text(a.attainment, a.status == MET),
        "status": a.status_word(lang),
        "mark": STATUS_MARKS.get(a.status, "—"),
        "projection": (format_value(a.projection, ind, lang) if a.projection is not None
                       else "—"),
        "basis": BASIS_WORDS[annual_basis(ind)][1 if en else 0],
    }
