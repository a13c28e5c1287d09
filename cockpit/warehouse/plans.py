"""Which plans a warehouse holds and where the county stands on each: the data behind the 规划目标
page, the county briefing's plan summary and the plan sheet of an Excel export.

The catalogue's baseline and target columns are the default plan (十四五 for the demo); targets
files add plans (十五五) or replace one. Judging each target is `core.plan`'s work; this module
fetches the series through `Queries` and hands them over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..core import plan as core
from ..core.catalogue import Indicator
from .queries import Queries

ALL_PERIODS = 100_000   # series_many's count: every period up to the month
CATALOGUE_SOURCE = "指标目录（《武义县数字政府建设“十四五”发展规划》表1 及部门规划目标）"
CATALOGUE_SOURCE_EN = "Indicator catalogue (Wuyi digital-government plan 2021–2025, table 1)"


@dataclass(frozen=True)
class Plan:
    """A set of targets with one name, the documents they come from and (mostly) one target
    year."""
    name: str
    sources: tuple[str, ...]
    targets: dict[str, core.Target] = field(hash=False)
    from_file: bool = False

    def source_text(self, limit: int = 2, lang: str = "zh_CN") -> str:
        """The source documents, the first `limit` named: 《…》、《…》等 4 份文件."""
        if lang == "en" and not self.from_file:
            return source_in(self.sources[0], lang) if len(self.sources) == 1 \
                else "Indicator catalogue"
        shown = "、".join(self.sources[:limit])
        rest = len(self.sources) - limit
        if rest > 0:
            shown += f" and {rest} more" if lang == "en" else f"等 {len(self.sources)} 份文件"
        return shown

    @property
    def target_year(self) -> int:
        return max(t.target_year for t in self.targets.values())

    @property
    def baseline_year(self) -> int | None:
        years = [t.baseline_year for t in self.targets.values() if t.baseline_year]
        return min(years) if years else None

    def name_in(self, lang: str | None) -> str:
        """十四五, or in English 14th Five-Year Plan."""
        return core.plan_name_en(self.name) if lang == "en" else self.name

    def label(self, lang: str = "zh_CN") -> str:
        """十四五（2021—2025年）"""
        start = (self.baseline_year + 1) if self.baseline_year else None
        if lang == "en":
            name = self.name_in(lang)
            return f"{name} ({start}–{self.target_year})" if start else name
        return f"{self.name}（{start}—{self.target_year}年）" if start else self.name


def source_in(source: str, lang: str | None) -> str:
    """A target's source in `lang`: the catalogue's in English; a plan document's title (data)
    as written."""
    if lang != "en":
        return source
    if source == CATALOGUE_SOURCE:
        return CATALOGUE_SOURCE_EN
    if source.startswith("指标目录（") and source.endswith("）"):   # a county's own catalogue
        return f"Indicator catalogue ({source[5:-1]})"
    return source


def _catalogue_source(queries: Queries) -> str:
    """Where the catalogue's targets come from: the demo's plan, or the county's own catalogue
    file (`cockpit new --catalogue`)."""
    own = queries.meta.get("catalogue_source")
    return f"指标目录（{own}）" if own else CATALOGUE_SOURCE


def _catalogue_plans(queries: Queries) -> dict[str, Plan]:
    source = _catalogue_source(queries)
    by_plan: dict[str, dict[str, core.Target]] = {}
    for ind in queries.indicators:
        if ind.target_value is None or ind.target_year is None:
            continue
        name = core.plan_name(ind.target_year)
        by_plan.setdefault(name, {})[ind.code] = core.Target(
            ind.code, name, ind.target_year, ind.target_value, ind.baseline_year,
            ind.baseline_value, source)
    return {name: Plan(name, (source,), targets) for name, targets in by_plan.items()}


def available_plans(queries: Queries) -> list[Plan]:
    """Every plan, earliest target year first; a targets file's plan replaces the catalogue's
    plan of the same name."""
    plans = _catalogue_plans(queries)
    stored: dict[str, dict[str, core.Target]] = {}
    for t in queries.stored_targets:
        if t.indicator in queries.indicator_by_code:
            stored.setdefault(t.plan, {})[t.indicator] = t
    for name, targets in stored.items():
        # Most targets' document first: the plan's own outline before the sector plans.
        counts: dict[str, int] = {}
        for t in targets.values():
            if t.source:
                counts[t.source] = counts.get(t.source, 0) + 1
        sources = tuple(sorted(counts, key=lambda s: (-counts[s], s)))
        plans[name] = Plan(name, sources, targets, from_file=True)
    return sorted(plans.values(), key=lambda p: (p.target_year, p.name))


def default_plan(plans: list[Plan], month: date) -> Plan | None:
    """The plan running in the month's year; else the last one ended before it; else the first."""
    if not plans:
        return None
    running = [p for p in plans if (p.baseline_year or p.target_year - 5) < month.year
               <= p.target_year]
    if running:
        return running[0]
    ended = [p for p in plans if p.target_year < month.year]
    return ended[-1] if ended else plans[0]


def find_plan(plans: list[Plan], name: str | None, month: date) -> Plan | None:
    if name:
        return next((p for p in plans if p.name == name), None)
    return default_plan(plans, month)


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    month: date
    assessments: list[core.Assessment]

    def counts(self) -> dict[str, int]:
        out = {status: 0 for status in core.STATUSES}
        for a in self.assessments:
            if a.status:
                out[a.status] += 1
        return out

    def get(self, code: str) -> core.Assessment | None:
        return next((a for a in self.assessments if a.code == code), None)


def visible(queries: Queries, public: bool) -> list[Indicator]:
    """Catalogue order; internal indicators left out in public mode."""
    return [i for i in queries.indicators if not (public and i.sensitivity == "internal")]


def plan_report(queries: Queries, plan: Plan, month: date, public: bool = False) -> PlanReport:
    """Every visible indicator of the plan judged as of `month`, in catalogue order."""
    indicators = [i for i in visible(queries, public) if i.code in plan.targets]
    county = queries.county.code
    series = queries.series_many(county, [i.code for i in indicators], month, ALL_PERIODS) \
        if indicators else {}
    assessments = [core.assess(ind, plan.targets[ind.code], series[ind.code].periods,
                               series[ind.code].values, month) for ind in indicators]
    return PlanReport(plan, month, assessments)


def township_contributions(queries: Queries, assessment: core.Assessment
                           ) -> list[core.Contribution]:
    """Who pulls the county towards the target or away from it (empty for county-only
    indicators, or without a judged figure)."""
    ind, latest = assessment.indicator, assessment.latest
    if ind.county_only or latest is None:
        return []
    start = date(latest.end.year - 1, latest.end.month, 1)
    latest_by = _township_figures(queries, ind, start, latest.end)
    baseline_by: dict[str, float] = {}
    year = assessment.target.baseline_year
    if year is not None:
        baseline_by = _township_figures(queries, ind, date(year - 1, 12, 1), date(year, 12, 1))
    population = {r.code: r.population for r in queries.townships if r.population}
    return core.contributions(ind, assessment.target.target_value, latest_by, baseline_by,
                              population)


def _township_figures(queries: Queries, ind: Indicator, start: date, end: date
                      ) -> dict[str, float]:
    """Each township's complete year figure for the twelve months ending in `end`."""
    window = queries.township_window(ind.code, start, end)
    out: dict[str, float] = {}
    regions = window["region"]
    if not len(regions):
        return out
    # Rows come ordered by region: split them into runs.
    cuts = [0] + [k for k in range(1, len(regions)) if regions[k] != regions[k - 1]] \
        + [len(regions)]
    for a, b in zip(cuts[:-1], cuts[1:]):
        figure = core.year_figure(ind, window["period"][a:b], window["value"][a:b], end)
        if figure is not None and figure.complete:
            out[str(regions[a])] = figure.value
    return out
