"""The alert engine: evaluates rules in DuckDB over every region and indicator of a snapshot at once.

Each rule kind is one set-based, parameterised SQL statement over the whole snapshot (no loop over
regions or indicators); Python only turns the rows it returns into `Alert` records with a message
in plain Chinese. An alert is identified by its rule, region, subject (indicator or event
category) and period, hashed into a stable id, so evaluating the same snapshot twice gives the same
alerts and a later snapshot finds the same alert again rather than a new one.

`Evaluation.coverage` says which (rule, indicator, period) the evaluation looked at; the lifecycle
store auto-clears an open alert only when its rule looked at its period again and did not find it.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property, partial

from ..core.catalogue import Indicator
from ..core.formatting import format_value, is_missing, period_label
from ..core.i18n import FREQUENCY, event_category, event_source
from .rules import KIND_LABELS, SEVERITY_RANK, Rule

EVENTS_SUBJECT = "events"          # the coverage key of rules about events, not indicators
_STEP_SQL = "CASE i.frequency WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 ELSE 12 END"
_PREV_WORD = {"month": "上月", "quarter": "上季度", "year": "上年"}
_FREQ_WORD = {"month": "月度", "quarter": "季度", "year": "年度"}


@dataclass(frozen=True)
class Alert:
    id: str
    rule_id: str
    rule_name: str
    kind: str                   # threshold / change / anomaly / target_lag / missing / events
    severity: str               # 红 / 橙 / 黄
    region: str
    region_name: str
    indicator: str | None       # None for alerts about events
    indicator_name: str | None
    category: str | None        # the event category of a burst alert
    period: date                # first day of the period's last month, as in the warehouse
    period_label: str           # 2025年12月 / 2025年四季度
    observed: float | None      # the value (or count) that raised the alert
    expected: float | None      # the line, the comparison value, the baseline or the target
    limit: float | None         # the rule's limit in the rule's own measure
    measure: float | None       # how far the alert goes in that measure (change, z, gap, count)
    unit: str
    message: str
    message_en: str = ""        # the same in English (the cockpit's second language)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def subject(self) -> str:
        return self.indicator or EVENTS_SUBJECT

    def as_dict(self) -> dict:
        d = asdict(self)
        d["period"] = self.period.strftime("%Y-%m")
        d["kind_label"] = self.kind_label
        return d


@dataclass
class Evaluation:
    """What one evaluation of one snapshot found, and what it looked at."""
    snapshot_version: int
    scope: str                      # the county (or city) the warehouse describes
    as_of: date | None
    alerts: list[Alert] = field(default_factory=list)
    # rule id -> subject (indicator code or "events") -> first period looked at; every period of
    # that subject from there to the rule's latest period was examined.
    coverage: dict[str, dict[str, date]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rule_seconds: dict[str, float] = field(default_factory=dict)

    def covers(self, rule_id: str, subject: str, period: date) -> bool:
        first = self.coverage.get(rule_id, {}).get(subject)
        return first is not None and period >= first


def alert_id(rule_id: str, region: str, subject: str | None, period: date) -> str:
    """Stable id: the same rule, region, indicator (or category) and period is the same alert."""
    key = f"{rule_id}|{region}|{subject or ''}|{period:%Y-%m}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


# --- formatting helpers ------------------------------------------------------------------------
def _compact(value: float, ind: Indicator) -> str:
    """A rule's line written the way people write it: 90%, 35 μg/m³ (no needless decimals)."""
    text = f"{value:,.{max(ind.decimals, 2)}f}".rstrip("0").rstrip(".")
    return f"{text}%" if ind.unit == "%" else f"{text} {ind.unit}"


def _amount(delta: float, ind: Indicator, as_points: bool) -> str:
    return f"{abs(delta):.1f} 个百分点" if as_points else f"{abs(delta):.1f}%"


def _limit_text(limit: float, ind: Indicator) -> str:
    """A rule's change limit: 5 个百分点 / 20% (no needless decimals)."""
    text = f"{limit:.2f}".rstrip("0").rstrip(".")
    return f"{text} 个百分点" if ind.is_rate else f"{text}% "


def _delta(current, previous, ind: Indicator) -> float | None:
    """The change a sentence states: points for a rate, per cent otherwise; None when there is
    nothing to compare."""
    if is_missing(current) or is_missing(previous):
        return None
    if ind.is_rate:
        return current - previous
    return None if previous == 0 else (current - previous) / abs(previous) * 100


def _change_phrase(current, previous, ind: Indicator, word: str) -> str:
    """环比下降 9.1 个百分点 / 同比上升 12.3% — or "" when there is nothing to compare."""
    delta = _delta(current, previous, ind)
    if delta is None:
        return ""
    if abs(delta) < 0.05:
        return f"{word}持平"
    return f"{word}{'上升' if delta > 0 else '下降'} {_amount(delta, ind, ind.is_rate)}"


def _en_value(value, ind: Indicator) -> str:
    return format_value(value, ind, "en")


def _en_change(current, previous, ind: Indicator, word: str) -> str:
    """"down 9.1 pp month on month" / "" when there is nothing to compare."""
    delta = _delta(current, previous, ind)
    if delta is None:
        return ""
    if abs(delta) < 0.05:
        return f"unchanged {word}"
    amount = f"{abs(delta):.1f} pp" if ind.is_rate else f"{abs(delta):.1f}%"
    return f"{'up' if delta > 0 else 'down'} {amount} {word}"


def _escalated(rule: Rule, measure: float | None, lower_is_worse: bool = False) -> str:
    """The rule's severity, raised by the first (most severe) escalation the measure reaches."""
    if measure is not None:
        for severity, value in rule.escalate:  # most severe first; all above the rule's own
            if (measure <= value) if lower_is_worse else (measure >= value):
                return severity
    return rule.severity


_STEP_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _add_months(d: date, months: int) -> date:
    k = d.year * 12 + d.month - 1 + months
    return date(k // 12, k % 12 + 1, 1)


# --- the engine ------------------------------------------------------------------------------
# Each indicator's periods under examination: its latest `lookback` periods up to as-of.
_WINDOW_CTE = f"""
win AS (
    SELECT o.indicator, max(o.period) AS last,
           CAST(max(o.period) - to_months(CAST($lookback AS INTEGER) * any_value({_STEP_SQL}))
                AS DATE) AS before
    FROM observations o JOIN indicators i ON i.code = o.indicator
    WHERE o.indicator = ANY($codes) AND o.period <= $as_of
    GROUP BY o.indicator
)"""

_LAST_PERIODS_SQL = """
SELECT indicator, max(period) FROM observations WHERE period <= $as_of GROUP BY indicator
"""

_THRESHOLD_SQL = f"""
WITH {_WINDOW_CTE}
SELECT o.indicator, o.region, o.period, o.value, o.prev_value
FROM observations o
JOIN win w ON w.indicator = o.indicator AND o.period > w.before AND o.period <= w.last
JOIN regions r ON r.code = o.region
JOIN indicators i ON i.code = o.indicator
WHERE ($level = 'any' OR r.level = $level)
  AND CASE $side
        WHEN 'above' THEN o.value > $line
        WHEN 'below' THEN o.value < $line
        ELSE (i.polarity = 'higher' AND o.value < $line) OR (i.polarity = 'lower' AND o.value > $line)
      END
"""

def _signed(column: str) -> str:
    """SQL: `column` turned into "how far it goes in the rule's direction" ($direction: up, down,
    any, better, worse — the last two by the indicator's polarity; neutral ones count either
    way). Written once for the change and the anomaly rules."""
    return f"""CASE $direction
             WHEN 'up' THEN {column}
             WHEN 'down' THEN -{column}
             WHEN 'any' THEN abs({column})
             WHEN 'better' THEN CASE polarity WHEN 'higher' THEN {column}
                                              WHEN 'lower' THEN -{column} ELSE abs({column}) END
             ELSE CASE polarity WHEN 'higher' THEN -{column}
                                WHEN 'lower' THEN {column} ELSE abs({column}) END
           END"""


_CHANGE_SQL = f"""
WITH {_WINDOW_CTE},
cmp AS (
    SELECT o.indicator, o.region, o.period, o.value, i.polarity, i.unit,
           CASE $compare WHEN 'mom' THEN o.prev_value ELSE o.yoy_value END AS base
    FROM observations o
    JOIN win w ON w.indicator = o.indicator AND o.period > w.before AND o.period <= w.last
    JOIN regions r ON r.code = o.region
    JOIN indicators i ON i.code = o.indicator
    WHERE ($level = 'any' OR r.level = $level)
),
delta AS (
    SELECT *,
           CASE WHEN unit = '%' THEN value - base
                ELSE (value - base) / abs(base) * 100 END AS change,
           CASE WHEN unit = '%' THEN CAST($points AS DOUBLE)
                ELSE CAST($percent AS DOUBLE) END AS lim
    FROM cmp
    WHERE base IS NOT NULL AND (unit = '%' OR base <> 0) AND abs(base) >= $min_base
),
signed AS (
    SELECT *,
           {_signed("change")} AS measure
    FROM delta WHERE lim IS NOT NULL
)
SELECT indicator, region, period, value, base, change, measure, lim
FROM signed WHERE round(measure, 9) > lim  -- "beyond" the limit, not a float hair past it
"""

# Seasonal and robust: the expectation for a period is the median of the same calendar month in
# the region's earlier years, shifted by the median recent deviation from that (which absorbs a
# trend); the scale is the median absolute deviation of the region's own earlier residuals. So a
# winter PM2.5 level is judged against earlier winters, and one wild month cannot move either.
_ANOMALY_SQL = f"""
WITH {_WINDOW_CTE},
series AS (
    SELECT o.indicator, o.region, o.period, o.value, i.polarity,
           CASE WHEN $log THEN ln(1 + greatest(o.value, 0)) ELSE o.value END AS y
    FROM observations o
    JOIN regions r ON r.code = o.region
    JOIN indicators i ON i.code = o.indicator
    WHERE o.indicator = ANY($codes) AND o.period <= $as_of
      AND ($level = 'any' OR r.level = $level)
),
seasonal AS (
    SELECT *,
           median(y) OVER same_month AS seasonal_y,
           count(*) OVER same_month AS n_years
    FROM series
    WINDOW same_month AS (PARTITION BY indicator, region, month(period) ORDER BY period
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
residual AS (
    SELECT *, y - seasonal_y AS r FROM seasonal WHERE n_years >= $min_history
),
centred AS (
    SELECT *, median(r) OVER (PARTITION BY indicator, region ORDER BY period
                              ROWS BETWEEN 24 PRECEDING AND 1 PRECEDING) AS centre
    FROM residual
),
deviation AS (
    SELECT *, r - centre AS d FROM centred WHERE centre IS NOT NULL
),
scaled AS (
    SELECT *,
           1.4826 * median(abs(d)) OVER earlier AS scale,
           count(*) OVER earlier AS n_scale
    FROM deviation
    WINDOW earlier AS (PARTITION BY indicator, region ORDER BY period
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
scored AS (
    SELECT s.indicator, s.region, s.period, s.value, s.polarity,
           CASE WHEN $log THEN exp(s.seasonal_y + s.centre) - 1
                ELSE s.seasonal_y + s.centre END AS expected,
           s.d / greatest(s.scale, CASE WHEN $log THEN 0.03
                                        ELSE 0.01 * abs(s.seasonal_y) + 1e-9 END) AS z
    FROM scaled s
    JOIN win w ON w.indicator = s.indicator AND s.period > w.before AND s.period <= w.last
    WHERE s.n_scale >= 6
),
signed AS (
    SELECT *,
           {_signed("z")} AS measure,
           abs(value - expected) / greatest(abs(expected), 1e-9) * 100 AS change_pct
    FROM scored
)
SELECT indicator, region, period, value, expected, z, measure, change_pct
FROM signed
WHERE measure >= $z AND change_pct >= $min_change AND abs(expected) >= $min_baseline
"""

# A straight line through the region's last `fit_months` of values, read off at the target
# period (December of the target year), compared with the target the polarity's way. Once the
# target year is over the judgement stays where it ended, at that December (目标未完成 rather
# than 将落空), until the catalogue carries a newer target: the plan's result does not flip on
# one noisy month, nor vanish when the next year's data arrive.
_TARGET_LAG_SQL = """
WITH latest AS (
    SELECT indicator, max(period) AS last FROM observations
    WHERE indicator = ANY($codes) AND period <= $as_of GROUP BY indicator
),
last AS (
    SELECT l.indicator, least(l.last, make_date(i.target_year, 12, 1)) AS last,
           make_date(i.target_year, 12, 1) < l.last AS missed
    FROM latest l JOIN indicators i ON i.code = l.indicator
),
fit AS (
    SELECT o.indicator, o.region,
           regr_slope(o.value, date_diff('month', DATE '2000-01-01', o.period)) AS slope,
           regr_intercept(o.value, date_diff('month', DATE '2000-01-01', o.period)) AS intercept,
           count(*) AS n,
           max(o.period) AS latest_period,
           arg_max(o.value, o.period) AS latest_value
    FROM observations o JOIN last l ON l.indicator = o.indicator
    WHERE o.period > CAST(l.last - to_months(CAST($fit_months AS INTEGER)) AS DATE)
      AND o.period <= l.last
    GROUP BY o.indicator, o.region
),
projected AS (
    SELECT f.*, l.last, l.missed, i.target_value, i.target_year, i.polarity, i.unit,
           f.intercept + f.slope * date_diff('month', DATE '2000-01-01',
                                             make_date(i.target_year, 12, 1)) AS projection
    FROM fit f
    JOIN last l ON l.indicator = f.indicator
    JOIN indicators i ON i.code = f.indicator
    JOIN regions r ON r.code = f.region
    WHERE i.target_value IS NOT NULL AND i.target_year IS NOT NULL
      AND f.latest_period = l.last AND f.n >= 3
      -- already on target: not lagging, whatever a straight line says (cumulative series)
      AND CASE i.polarity WHEN 'lower' THEN f.latest_value > i.target_value
                          ELSE f.latest_value < i.target_value END
      AND ($level = 'any' OR r.level = $level)
      -- a county target says something about a township only for rates and averages
      AND (r.level <> 'township' OR i.aggregation IN ('mean', 'pop_mean'))
),
gap AS (
    SELECT *,
           CASE polarity WHEN 'lower' THEN projection - target_value
                         ELSE target_value - projection END AS gap,
           CASE WHEN unit = '%' THEN CAST($points AS DOUBLE)
                ELSE abs(target_value) * CAST($percent AS DOUBLE) / 100 END AS margin
    FROM projected WHERE polarity <> 'neutral'
)
SELECT indicator, region, last AS period, latest_value, target_value, target_year, projection,
       gap, margin, n, missed
FROM gap WHERE margin IS NOT NULL AND gap > margin
"""

# Townships that did not report a period most others did, as runs of consecutive periods.
_TOWNSHIP_GAP_SQL = f"""
WITH {_WINDOW_CTE},
towns AS (SELECT code FROM regions WHERE level = 'township'),
reported AS (
    SELECT o.indicator, o.period, count(*) AS n
    FROM observations o
    JOIN win w ON w.indicator = o.indicator AND o.period > w.before AND o.period <= w.last
    JOIN towns t ON t.code = o.region
    GROUP BY o.indicator, o.period
),
expected AS (
    SELECT * FROM reported
    WHERE n >= $min_share * (SELECT count(*) FROM towns)
),
gaps AS (
    SELECT e.indicator, e.period, t.code AS region, e.n
    FROM expected e CROSS JOIN towns t
    WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.indicator = e.indicator
                      AND o.period = e.period AND o.region = t.code)
),
runs AS (
    SELECT g.*,
           date_diff('month', DATE '2000-01-01', g.period) // ({_STEP_SQL})
             - row_number() OVER (PARTITION BY g.indicator, g.region ORDER BY g.period) AS run
    FROM gaps g JOIN indicators i ON i.code = g.indicator
)
SELECT indicator, region, min(period) AS first, max(period) AS last, count(*) AS periods,
       min(n) AS others, (SELECT count(*) FROM towns) AS towns
FROM runs GROUP BY indicator, region, run
"""

# Indicators whose newest period is older than their frequency says it should be by now.
_OVERDUE_SQL = f"""
WITH last AS (
    SELECT indicator, max(period) AS last FROM observations
    WHERE indicator = ANY($codes) AND period <= $as_of GROUP BY indicator
),
due AS (
    SELECT i.code AS indicator, i.frequency, i.department, l.last, {_STEP_SQL} AS step,
           CAST($as_of - to_months(CAST($grace AS INTEGER)) AS DATE) AS d
    FROM indicators i JOIN last l ON l.indicator = i.code
),
expected AS (
    SELECT *,
           CASE frequency
             WHEN 'month' THEN d
             WHEN 'quarter' THEN CASE WHEN month(d) >= 3
                                      THEN make_date(year(d), (month(d) // 3) * 3, 1)
                                      ELSE make_date(year(d) - 1, 12, 1) END
             ELSE CASE WHEN month(d) = 12 THEN d ELSE make_date(year(d) - 1, 12, 1) END
           END AS expected
    FROM due
)
SELECT indicator, frequency, department, last, expected,
       CAST(last + to_months(step) AS DATE) AS first_overdue,
       date_diff('month', last, expected) // step AS periods
FROM expected WHERE expected > last
"""

# The moment the events are current to: the newest report or closure up to the as-of month.
_EVENTS_NOW_SQL = """
SELECT greatest(max(reported_at), max(closed_at)) FROM events
WHERE reported_at < CAST($as_of AS DATE) + INTERVAL 1 MONTH
"""

_EVENTS_OVERDUE_SQL = """
SELECT e.region, count(*) AS n, min(e.deadline_at) AS oldest_deadline,
       histogram(e.category) AS categories
FROM events e JOIN regions r ON r.code = e.region
WHERE e.deadline_at < $now AND (e.closed_at IS NULL OR e.closed_at > $now)
  AND e.reported_at <= $now
  AND e.deadline_at >= $now - to_days(CAST($days AS INTEGER))
  AND (len($sources) = 0 OR e.source = ANY($sources))
  AND (len($categories) = 0 OR e.category = ANY($categories))
  AND ($level = 'any' OR r.level = $level)
GROUP BY e.region
HAVING count(*) >= $min_count
"""

_EVENTS_BURST_SQL = """
WITH current AS (
    SELECT e.region, e.category, any_value(e.source) AS source, count(*) AS n,
           count(*) FILTER (WHERE e.deadline_at < $now
                            AND (e.closed_at IS NULL OR e.closed_at > $now)) AS overdue
    FROM events e JOIN regions r ON r.code = e.region
    WHERE e.reported_at >= $month AND e.reported_at < $month + INTERVAL 1 MONTH
      AND e.reported_at <= $now
      AND (len($sources) = 0 OR e.source = ANY($sources))
      AND (len($categories) = 0 OR e.category = ANY($categories))
      AND ($level = 'any' OR r.level = $level)
    GROUP BY e.region, e.category
),
history AS (
    SELECT region, category, count(*) / $history_months AS mean
    FROM events
    WHERE reported_at >= $month - to_months(CAST($history_months AS INTEGER))
      AND reported_at < $month
    GROUP BY region, category
)
SELECT c.region, c.category, c.source, c.n, c.overdue, coalesce(h.mean, 0) AS mean
FROM current c LEFT JOIN history h USING (region, category)
WHERE c.n >= $min_count AND c.n >= $factor * greatest(coalesce(h.mean, 0), 1)
"""


class _Context:
    """What every rule needs to know about the snapshot, read once."""

    def __init__(self, snapshot, as_of: date | None):
        from ..warehouse.queries import Queries

        self.snapshot = snapshot
        self.cur = snapshot.cursor()
        q = Queries(snapshot)
        self.county = q.county
        self.region_names = {r.code: r.name for r in q.regions}
        self.region_names_en = {r.code: r.name_en or r.name for r in q.regions}
        self.department_en = partial(q.department, lang="en")
        self.indicators = q.indicator_by_code
        self.as_of = as_of or q.as_of
        self.warnings: list[str] = []

    def codes(self, rule: Rule, *, need_target: bool = False) -> list[str]:
        if rule.indicators is None:
            codes = list(self.indicators)
        else:
            codes = []
            for code in rule.indicators:
                if code not in self.indicators:
                    self.warnings.append(f"规则 “{rule.id}” 的字段 indicators：数据仓库中没有指标 "
                                         f"{code}，已跳过")
                else:
                    codes.append(code)
        codes = [c for c in codes if c not in rule.exclude]
        if need_target:
            codes = [c for c in codes if self.indicators[c].target_value is not None
                     and self.indicators[c].target_year is not None]
        return codes

    def base_params(self, rule: Rule, codes: list[str]) -> dict:
        return {"codes": codes, "as_of": self.as_of, "lookback": rule.lookback,
                "level": rule.level}

    @cached_property
    def last_periods(self) -> dict[str, date]:
        """Each indicator's newest period up to as-of."""
        return dict(self.cur.execute(_LAST_PERIODS_SQL, {"as_of": self.as_of}).fetchall())

    def coverage(self, rule: Rule, codes: list[str]) -> dict[str, date]:
        """The first period the rule's window examined, per indicator (same window as the SQL)."""
        out = {}
        for code in codes:
            last = self.last_periods.get(code)
            if last is not None:
                step = _STEP_MONTHS[self.indicators[code].frequency]
                out[code] = _add_months(last, -step * (rule.lookback - 1))
        return out

    def alert(self, rule: Rule, region: str, indicator: str | None, period: date, *,
              severity: str, observed, expected, limit, measure, message: str,
              message_en: str = "", category: str | None = None,
              unit: str | None = None) -> Alert:
        ind = self.indicators.get(indicator) if indicator else None
        freq = ind.frequency if ind else "month"
        return Alert(
            id=alert_id(rule.id, region, indicator or category, period),
            rule_id=rule.id, rule_name=rule.title, kind=rule.kind, severity=severity,
            region=region, region_name=self.region_names.get(region, region),
            indicator=indicator, indicator_name=ind.name if ind else None, category=category,
            period=period, period_label=period_label(period, freq),
            observed=_float(observed), expected=_float(expected), limit=_float(limit),
            measure=_float(measure), unit=unit if unit is not None else (ind.unit if ind else ""),
            message=message, message_en=message_en)

    def subject_label(self, region: str, indicator: str) -> str:
        return f"{self.region_names.get(region, region)} {self.indicators[indicator].name}"

    def subject_en(self, region: str, indicator: str, period: date | None = None) -> str:
        """"Taoxi, Value added of large industry, Nov 2026" — the head of an English message."""
        ind = self.indicators[indicator]
        head = f"{self.region_names_en.get(region, region)}, {ind.name_en or ind.name}"
        return head + (f", {period_label(period, ind.frequency, 'en')}" if period else "")


def _float(value):
    return None if value is None else float(value)


# --- one function per rule kind ------------------------------------------------------------
def _threshold(ctx: _Context, rule: Rule) -> tuple[list[Alert], dict[str, date]]:
    side = next(k for k in ("above", "below", "line") if k in rule.params)
    line = rule.params[side]
    codes = ctx.codes(rule)
    if side == "line":
        neutral = [c for c in codes if ctx.indicators[c].polarity == "neutral"]
        if neutral and rule.indicators is not None:
            ctx.warnings.append(f"规则 “{rule.id}” 的字段 line：指标 {', '.join(neutral)} 没有好坏方向，"
                                "请改用 above 或 below")
        codes = [c for c in codes if c not in neutral]
    if not codes:
        return [], {}
    rows = ctx.cur.execute(_THRESHOLD_SQL, {**ctx.base_params(rule, codes), "side": side,
                                            "line": line}).fetchall()
    alerts = []
    for indicator, region, period, value, prev in rows:
        ind = ctx.indicators[indicator]
        below = side == "below" or (side == "line" and ind.polarity == "higher")
        change = _change_phrase(value, prev, ind, "环比")
        message = (f"{ctx.subject_label(region, indicator)} {period_label(period, ind.frequency)}"
                   f"为 {format_value(value, ind)}，{'低于' if below else '高于'} "
                   f"{_compact(line, ind)} 的预警线" + (f"，{change}" if change else ""))
        change_en = _en_change(value, prev, ind, "on the previous period")
        message_en = (f"{ctx.subject_en(region, indicator, period)}: {_en_value(value, ind)}, "
                      f"{'below' if below else 'above'} the alert line of {_en_value(line, ind)}"
                      + (f", {change_en}" if change_en else ""))
        alerts.append(ctx.alert(
            rule, region, indicator, period, severity=_escalated(rule, value, below),
            observed=value, expected=line, limit=line, measure=value, message=message,
            message_en=message_en))
    return alerts, ctx.coverage(rule, codes)


def _change(ctx: _Context, rule: Rule) -> tuple[list[Alert], dict[str, date]]:
    codes = ctx.codes(rule)
    points, percent = rule.param("points"), rule.param("percent")
    usable = [c for c in codes if (points if ctx.indicators[c].is_rate else percent) is not None]
    if rule.indicators is not None and len(usable) < len(codes):
        skipped = sorted(set(codes) - set(usable))
        ctx.warnings.append(f"规则 “{rule.id}”：指标 {', '.join(skipped)} 缺少对应的幅度字段"
                            "（百分比指标用 points，其他指标用 percent），已跳过")
    if not usable:
        return [], {}
    compare = rule.param("compare")
    rows = ctx.cur.execute(_CHANGE_SQL, {
        **ctx.base_params(rule, usable), "compare": compare, "points": points,
        "percent": percent, "direction": rule.param("direction"),
        "min_base": rule.param("min_base")}).fetchall()
    word = "环比" if compare == "mom" else "同比"
    alerts = []
    for indicator, region, period, value, base, change, measure, lim in rows:
        ind = ctx.indicators[indicator]
        before = _PREV_WORD[ind.frequency] if compare == "mom" else "上年同期"
        phrase = _change_phrase(value, base, ind, word)
        message = (f"{ctx.subject_label(region, indicator)} {period_label(period, ind.frequency)}"
                   f"为 {format_value(value, ind)}，{phrase}（{before} {format_value(base, ind)}），"
                   f"超过 {_limit_text(lim, ind)}的预警幅度")
        word_en = "on the previous period" if compare == "mom" else "year on year"
        limit_en = f"{lim:g} pp" if ind.is_rate else f"{lim:g}%"
        message_en = (f"{ctx.subject_en(region, indicator, period)}: {_en_value(value, ind)}, "
                      f"{_en_change(value, base, ind, word_en)} (from {_en_value(base, ind)}), "
                      f"beyond the {limit_en} alert limit")
        alerts.append(ctx.alert(
            rule, region, indicator, period, severity=_escalated(rule, measure),
            observed=value, expected=base, limit=lim, measure=measure, message=message,
            message_en=message_en))
    return alerts, ctx.coverage(rule, usable)


def _anomaly(ctx: _Context, rule: Rule) -> tuple[list[Alert], dict[str, date]]:
    codes = ctx.codes(rule)
    if not codes:
        return [], {}
    rows = ctx.cur.execute(_ANOMALY_SQL, {
        **ctx.base_params(rule, codes), "log": rule.param("transform") == "log",
        "min_history": rule.param("min_history"), "direction": rule.param("direction"),
        "z": rule.param("z"), "min_change": rule.param("min_change"),
        "min_baseline": rule.param("min_baseline")}).fetchall()
    alerts = []
    for indicator, region, period, value, expected, z, measure, change_pct in rows:
        ind = ctx.indicators[indicator]
        same = "同季度" if ind.frequency == "quarter" else ("往年" if ind.frequency == "year"
                                                          else "同月")
        ratio = value / expected if expected else None
        expect = f"按历年{same}规律的预期水平（{format_value(expected, ind)}）"
        if ratio is not None and ratio >= 1.5:
            how = f"是{expect}的 {ratio:.1f} 倍"
        elif value >= expected:
            how = f"比{expect}高 {change_pct:.0f}%"
        else:
            how = f"比{expect}低 {change_pct:.0f}%"
        message = (f"{ctx.subject_label(region, indicator)} {period_label(period, ind.frequency)}"
                   f"为 {format_value(value, ind)}，{how}，偏离幅度为平时波动的 {abs(z):.1f} 倍")
        usual = f"the usual level for this time of year ({_en_value(expected, ind)})"
        if ratio is not None and ratio >= 1.5:
            how_en = f"{ratio:.1f} times {usual}"
        else:
            how_en = f"{change_pct:.0f}% {'above' if value >= expected else 'below'} {usual}"
        message_en = (f"{ctx.subject_en(region, indicator, period)}: {_en_value(value, ind)}, "
                      f"{how_en}; {abs(z):.1f} times the usual spread")
        alerts.append(ctx.alert(
            rule, region, indicator, period, severity=_escalated(rule, measure),
            observed=value, expected=expected, limit=rule.param("z"), measure=measure,
            message=message, message_en=message_en))
    return alerts, ctx.coverage(rule, codes)


def _target_lag(ctx: _Context, rule: Rule) -> tuple[list[Alert], dict[str, date]]:
    codes = ctx.codes(rule, need_target=True)
    if not codes:
        return [], {}
    rows = ctx.cur.execute(_TARGET_LAG_SQL, {
        "codes": codes, "as_of": ctx.as_of, "level": rule.level,
        "fit_months": rule.param("fit_months"), "points": rule.param("points"),
        "percent": rule.param("percent")}).fetchall()
    alerts = []
    for indicator, region, period, latest, target, year, projection, gap, margin, _, missed in rows:
        ind = ctx.indicators[indicator]
        short = (f"{gap:.1f} 个百分点" if ind.is_rate
                 else f"{gap / abs(target) * 100:.1f}%" if target else format_value(gap, ind))
        side = "高于" if ind.polarity == "lower" else "低于"
        message = (f"{ctx.subject_label(region, indicator)} {period_label(period, ind.frequency)}"
                   f"为 {format_value(latest, ind)}，按近 {rule.param('fit_months')} 个月的趋势，"
                   f"{year}年末{'为' if missed else '预计为'} {format_value(projection, ind)}，"
                   f"{side} {year} 年目标 {_compact(target, ind)} {short}，"
                   f"目标{'未完成' if missed else '将落空'}")
        short_en = (f"{gap:.1f} pp" if ind.is_rate
                    else f"{gap / abs(target) * 100:.1f}%" if target else _en_value(gap, ind))
        message_en = (f"{ctx.subject_en(region, indicator, period)}: {_en_value(latest, ind)}; "
                      f"on the trend of the last {rule.param('fit_months')} months, "
                      f"{'ended' if missed else 'will end'} {year} at "
                      f"{_en_value(projection, ind)}, {short_en} "
                      f"{'above' if ind.polarity == 'lower' else 'short of'} the {year} target "
                      f"of {_en_value(target, ind)}: target "
                      f"{'missed' if missed else 'out of reach'}")
        alerts.append(ctx.alert(
            rule, region, indicator, period, severity=_escalated(rule, gap),
            observed=latest, expected=target, limit=margin, measure=gap, message=message,
            message_en=message_en))
    # A passed target year's December is what was looked at: a corrected figure clears its alert.
    covered = {code: min(ctx.last_periods[code], date(ctx.indicators[code].target_year, 12, 1))
               for code in codes if code in ctx.last_periods}
    return alerts, covered


def _missing(ctx: _Context, rule: Rule) -> tuple[list[Alert], dict[str, date]]:
    codes = ctx.codes(rule)
    if not codes:
        return [], {}
    if rule.param("mode") == "overdue":
        return _overdue(ctx, rule, codes)
    rows = ctx.cur.execute(_TOWNSHIP_GAP_SQL, {
        "codes": codes, "as_of": ctx.as_of, "lookback": rule.lookback,
        "min_share": rule.param("min_share")}).fetchall()
    alerts = []
    for indicator, region, first, last, periods, others, towns in rows:
        ind = ctx.indicators[indicator]
        first_label = period_label(first, ind.frequency)
        if periods > 1:
            unit = {"month": "个月", "quarter": "个季度", "year": "年"}[ind.frequency]
            when = (f"{first_label}至{period_label(last, ind.frequency)}连续 {periods} {unit}"
                    "未报送")
        else:
            when = f"{first_label}未报送"
        peers = (f"其他 {others} 个乡镇（街道）均已报送" if others >= towns - 1
                 else f"同期已有 {others} 个乡镇（街道）报送")
        message = (f"{ctx.subject_label(region, indicator)} {when}，{peers}"
                   f"（牵头单位：{ind.department}）")
        when_en = (f"not reported for {periods} periods, {period_label(first, ind.frequency, 'en')}"
                   f" to {period_label(last, ind.frequency, 'en')}" if periods > 1 else
                   f"not reported for {period_label(first, ind.frequency, 'en')}")
        peers_en = (f"all {others} other townships have reported" if others >= towns - 1
                    else f"{others} townships have reported")
        message_en = (f"{ctx.subject_en(region, indicator)}: {when_en}; {peers_en} "
                      f"(source: {ctx.department_en(ind.department)})")
        alerts.append(ctx.alert(
            rule, region, indicator, first, severity=_escalated(rule, periods),
            observed=None, expected=others, limit=None, measure=periods, message=message,
            message_en=message_en))
    return alerts, ctx.coverage(rule, codes)


def _overdue(ctx: _Context, rule: Rule, codes: list[str]):
    rows = ctx.cur.execute(_OVERDUE_SQL, {"codes": codes, "as_of": ctx.as_of,
                                          "grace": rule.param("grace")}).fetchall()
    alerts = []
    county = ctx.county.code
    for indicator, frequency, department, last, expected, first_overdue, periods in rows:
        message = (f"{ctx.subject_label(county, indicator)} 最近一期为 {period_label(last, frequency)}，"
                   f"按{_FREQ_WORD[frequency]}报送应已报至 {period_label(expected, frequency)}，"
                   f"逾期 {periods} 期未报（牵头单位：{department}）")
        message_en = (f"{ctx.subject_en(county, indicator)}: the latest period is "
                      f"{period_label(last, frequency, 'en')}; reported "
                      f"{FREQUENCY['en'][frequency]}, it should have reached "
                      f"{period_label(expected, frequency, 'en')}: {periods} periods overdue "
                      f"(source: {ctx.department_en(department)})")
        alerts.append(ctx.alert(
            rule, county, indicator, first_overdue, severity=_escalated(rule, periods),
            observed=None, expected=None, limit=None, measure=periods, message=message,
            message_en=message_en))
    # Overdue is about the indicator as a whole: every earlier alert of this rule is re-judged.
    return alerts, {code: date.min for code in codes}


def _events(ctx: _Context, rule: Rule) -> tuple[list[Alert], dict[str, date]]:
    now = ctx.cur.execute(_EVENTS_NOW_SQL, {"as_of": ctx.as_of}).fetchone()[0]
    if now is None:
        return [], {}
    month = date(now.year, now.month, 1)
    common = {"now": now, "level": rule.level, "min_count": rule.param("min_count"),
              "sources": list(rule.param("sources") or []),
              "categories": list(rule.param("categories") or [])}
    alerts = []
    if rule.param("mode") == "overdue":
        rows = ctx.cur.execute(_EVENTS_OVERDUE_SQL, {**common, "days": rule.param("days")})
        for region, n, oldest, categories in rows.fetchall():
            top = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
            parts = "，".join(f"“{cat}” {count} 起" for cat, count in top[:3])
            if len(top) > 3:
                parts += " 等"
            days = (now - oldest).days
            message = (f"{ctx.region_names.get(region, region)} 有 {n} 起事件超期未办结"
                       f"（{parts}），最久已超期 {days} 天")
            parts_en = ", ".join(f"{event_category(cat, 'en')} {count}" for cat, count in top[:3])
            message_en = (f"{ctx.region_names_en.get(region, region)}: {n} events past their "
                          f"deadline ({parts_en}{', …' if len(top) > 3 else ''}), the oldest by "
                          f"{days} days")
            alerts.append(ctx.alert(
                rule, region, None, month, severity=_escalated(rule, n), observed=n,
                expected=rule.param("min_count"), limit=rule.param("min_count"), measure=n,
                message=message, message_en=message_en, unit="起"))
    else:
        rows = ctx.cur.execute(_EVENTS_BURST_SQL, {
            **common, "month": month, "factor": rule.param("factor"),
            "history_months": rule.param("history_months")})
        for region, category, source, n, overdue, mean in rows.fetchall():
            usual = (f"近 {rule.param('history_months')} 个月月均 {mean:.1f} 起" if mean >= 0.95
                     else f"近 {rule.param('history_months')} 个月月均不足 1 起")
            tail = f"，其中 {overdue} 起已超期未办结" if overdue else ""
            message = (f"{ctx.region_names.get(region, region)} {period_label(month)}集中上报"
                       f"“{category}”（{source}）事件 {n} 起，{usual}{tail}")
            months = rule.param("history_months")
            usual_en = (f"{mean:.1f} a month over the last {months} months" if mean >= 0.95
                        else f"fewer than 1 a month over the last {months} months")
            message_en = (f"{ctx.region_names_en.get(region, region)}: {n} "
                          # (straight quotes: the bundled CJK font draws “ ” a full em wide)
                          f"\"{event_category(category, 'en')}\" events "
                          f"({event_source(source, 'en')}) in {period_label(month, 'month', 'en')}"
                          f", against {usual_en}"
                          + (f"; {overdue} past their deadline" if overdue else ""))
            alerts.append(ctx.alert(
                rule, region, None, month, severity=_escalated(rule, n), observed=n,
                expected=mean, limit=rule.param("min_count"), measure=n, message=message,
                message_en=message_en, category=category, unit="起"))
    return alerts, {EVENTS_SUBJECT: month}


_KIND_FUNCTIONS = {
    "threshold": _threshold,
    "change": _change,
    "anomaly": _anomaly,
    "target_lag": _target_lag,
    "missing": _missing,
    "events": _events,
}


def evaluate(snapshot, rules: list[Rule], as_of: date | None = None) -> Evaluation:
    """Evaluate every enabled rule on one snapshot (read only) and return what was found."""
    start = time.perf_counter()
    ctx = _Context(snapshot, as_of)
    result = Evaluation(snapshot_version=snapshot.version,
                        scope=ctx.county.code, as_of=ctx.as_of)
    if ctx.as_of is None:
        result.warnings.append("数据仓库中没有观测值，未评估任何规则")
        return result
    seen: set[str] = set()
    for rule in rules:
        if not rule.enabled:
            continue
        t0 = time.perf_counter()
        alerts, coverage = _KIND_FUNCTIONS[rule.kind](ctx, rule)
        result.rule_seconds[rule.id] = time.perf_counter() - t0
        result.coverage[rule.id] = coverage
        for alert in alerts:
            if alert.id not in seen:
                seen.add(alert.id)
                result.alerts.append(alert)
    result.alerts.sort(key=lambda a: (-SEVERITY_RANK[a.severity], -a.period.toordinal(),
                                      a.region, a.rule_id, a.subject))
    result.warnings.extend(ctx.warnings)
    result.seconds = time.perf_counter() - start
    return result
