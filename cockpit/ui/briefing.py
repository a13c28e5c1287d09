"""The one-page briefing (简报): what the cockpit shows about a township or the county, on an A4
page a leader carries into a meeting.

A vector PDF drawn with QPdfWriter and QPainter in the bundled font (embedded as a subset), made
to survive a black-and-white printer: statuses are words and marks (√ ○ ! ×), severities are
words, bars are outlined. Every figure comes from the same queries and the same formatting
functions as the detail page, the events list, the alert list and the 规划目标 page, so the paper
and the screen agree for the same snapshot, month and alert state. In public mode internal
indicators appear nowhere on it.

`BriefingBuilder(queries, alerts).build(region, month)` gathers the content; `write_pdf` draws it
and publishes the file atomically (a temporary name, then a rename).
"""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFont, QFontMetricsF, QPageLayout, QPageSize,
                           QPainter, QPdfWriter, QPen, QTransform)

from .. import progress
from ..errors import UsageError
from ..core import plan as core_plan
from ..core.catalogue import DOMAINS, Indicator
from ..core.levels import derived_label
from ..core.formatting import (change, format_change, format_value, month_label, period_label,
                               target_progress, trend_verdict, value_parts)
from ..core.i18n import event_category, plural
from ..warehouse import plans
from ..warehouse.queries import Queries
from . import theme
from .alert_ticker import alert_message
from .detail_view import progress_text, rank_class
from .events_panel import CLOSED, OPEN, OVERDUE, event_window

PER_DOMAIN = {"township": 5, "county": 4}   # rows per domain that fit one page
ALERT_ROWS = 5
RESOLUTION = 1200                           # dots per inch of the PDF's coordinate system

_T = {
    "zh_CN": {
        "title": "{name}工作简报", "period": "数据期", "as_of": "数据截至", "snapshot": "快照",
        "made": "生成", "source": "来源", "schematic": "乡镇边界为示意",
        "source_demo": "{county}城市大脑数据仓库（演示数据，数值为虚构）",
        "source_import": "{county}城市大脑数据仓库（部门报送数据）",
        "population": "常住人口 {v:.1f} 万", "area": "面积 {v:,.0f} km²",
        "summary": "在全县 {n} 个乡镇（街道）中：排名前三分之一 {top} 项，后三分之一 {bottom} 项",
        "strengths": "优势（排名靠前）", "weaknesses": "短板（排名靠后）",
        "strengths_county": "同比改善最多", "weaknesses_county": "同比退步最多",
        "rank_item": "{name} 第{rank}/{of}名（{value}）", "yoy_item": "{name} 同比 {change}（{value}）",
        "headers": ("指标", "数值", "单位", "全县", "排名", "同比", "目标进度"),
        "headers_county": ("指标", "数值", "单位", "数据期", "同比", "目标进度", "规划"),
        "county_only": "仅全县", "not_reported": "未报送",
        "alerts": "未处理预警", "no_alerts": "无未处理预警",
        "overdue": "已逾期", "deadline": "期限 {d}",
        "no_deadline": "未交办", "events_alert": "事件",
        "more_alerts": "另有 {n} 条未列出",
        "severity": {"红": "红色", "橙": "橙色", "黄": "黄色"},
        "events": "事件动态",
        "events_line": "{when}共 {total} 件：已超期 {overdue} 件，处置中 {open} 件，已办结 {closed} 件",
        "events_fallback": "本月无事件；截至{day}的近{n}天",
        "categories": "主要类别：{items}", "no_events": "本期无事件记录",
        "gaps": "数据缺口", "gaps_missing": "本期未报送：{items}",
        "gaps_late": "迟报部门：{items}", "late_item": "{name}（{n} 个月）",
        "no_gaps": "本期数据齐全、按时",
        "plan": "规划目标 · {plan}", "plan_counts": "{items}（共 {n} 项）",
        "plan_item": "{name} {latest} / 目标 {target}（完成度 {share}）",
        "ranking": "乡镇综合排名（排名前三分之一的指标数 − 后三分之一的指标数）",
        "ranking_item": "{rank}. {name} {score:+d}",
        "footer": "本简报由城市大脑 · 数字驾驶舱生成，与驾驶舱同一数据快照 {snapshot}；"
                  "状态：√ 已达成 ○ 有望达成 ! 滞后 × 未达成",
        "public": "公开版（不含内部指标）",
    },
    "en": {
        "title": "{name} briefing", "period": "Period", "as_of": "Data as of",
        "snapshot": "Snapshot", "made": "Made", "source": "Source",
        "schematic": "township boundaries are schematic",
        "source_demo": "{county} City Brain warehouse (demo data, invented figures)",
        "source_import": "{county} City Brain warehouse (departments' reports)",
        "population": "pop. {people:,.0f}", "area": "{v:,.0f} km²",
        "summary": "Among {n} townships: top third in {top}, bottom third in {bottom} indicators",
        "strengths": "Strengths (best ranks)", "weaknesses": "Weaknesses (worst ranks)",
        "strengths_county": "Most improved (YoY)", "weaknesses_county": "Most worsened (YoY)",
        "rank_item": "{name}: {rank}/{of} ({value})", "yoy_item": "{name}: {change} YoY ({value})",
        "headers": ("Indicator", "Value", "Unit", "County", "Rank", "YoY", "Target"),
        "headers_county": ("Indicator", "Value", "Unit", "Period", "YoY", "Target", "Plan"),
        "county_only": "county", "not_reported": "missing",
        "alerts": "Open alerts", "no_alerts": "No open alerts",
        "overdue": "overdue", "deadline": "due {d}",
        "no_deadline": "not assigned", "events_alert": "events",
        "more_alerts": "{n} more not listed",
        "severity": {"红": "RED", "橙": "ORANGE", "黄": "YELLOW"},
        "events": "Events",
        "events_line": "{when}: {total} events; {overdue} overdue, {open} open, {closed} closed",
        "events_fallback": "none this month; {n} days to {day}",
        "categories": "Top categories: {items}", "no_events": "No events in this period",
        "gaps": "Data gaps", "gaps_missing": "Not reported this period: {items}",
        "gaps_late": "Late departments: {items}", "late_item": "{name} ({n} month{s})",
        "no_gaps": "All data reported on time",
        "plan": "Plan targets · {plan}", "plan_counts": "{items} (of {n})",
        "plan_item": "{name} {latest} / target {target} ({share} of the way)",
        "ranking": "Township ranking (indicators in the top third − in the bottom third)",
        "ranking_item": "{rank}. {name} {score:+d}",
        "footer": "Made by City Cockpit from snapshot {snapshot}, as the cockpit shows it; "
                  "status: √ met ○ on track ! behind × missed",
        "public": "public edition (no internal indicators)",
    },
}

_ALERT_STATUS_EN = {"新预警": "new", "已签收": "acknowledged", "处置中": "in progress"}


class BriefingError(Exception):
    """The briefing cannot be written where asked (the message is one line for the user)."""


@dataclass(frozen=True)
class BriefRow:
    """One indicator's line, with the texts the detail page shows for it."""
    code: str
    name: str
    value: str             # as the detail page: format_value
    number: str            # the value's number and unit, printed in two columns
    unit: str
    county: str
    rank: str
    yoy: str
    progress: str
    share: float | None    # target progress, 0…1+ (the bar)
    period: str
    plan_mark: str = ""    # county: √ 已达成 … from the 规划目标 page


@dataclass
class Briefing:
    kind: str                                 # township / county
    region: str
    name: str
    county_name: str
    month: date
    as_of: date | None
    snapshot: str
    made: datetime
    source: str
    schematic: bool
    public: bool
    lang: str
    facts: list[str]
    summary: str
    domains: list[tuple[str, list[BriefRow]]]
    strengths: list[str]
    weaknesses: list[str]
    alerts: list[tuple[str, str, str]]       # (severity word, what, status and deadline)
    more_alerts: int
    events: list[str]
    gaps: list[str]
    plan_lines: list[str] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    derived_note: str = ""                    # ※ 由乡镇汇总, when a figure shown was derived

    def text(self) -> str:
        """Everything printed, as plain text (tests; a quick look without a PDF viewer)."""
        lines = [self.name, month_label(self.month, self.lang), *self.facts, self.summary]
        for domain, rows in self.domains:
            lines.append(domain)
            lines += [" ".join([r.name, r.value, r.county, r.rank, r.yoy, r.progress])
                      for r in rows]
        lines += self.strengths + self.weaknesses + [" ".join(a) for a in self.alerts]
        lines += [self.derived_note] if self.derived_note else []
        return "\n".join(lines + self.events + self.gaps + self.plan_lines + self.ranking)


class BriefingBuilder:
    """Gathers briefings for one snapshot; keeps what every briefing of a month shares (the
    county's profile, the data-quality report, the plan) so `--all` asks each question once."""

    def __init__(self, queries: Queries, alerts=None, lang: str = "zh_CN", public: bool = False,
                 today: datetime | None = None):
        self.q = queries
        self.alerts = alerts          # cockpit.alerts.store.AlertService, or None
        self.lang = "en" if lang == "en" else "zh_CN"
        self.t = _T[self.lang]
        self.public = public
        self.today = today or datetime.now()
        self._shared: dict[date, dict] = {}

    # -- names -------------------------------------------------------------------------------------
    def _name(self, ind: Indicator) -> str:
        return (ind.name_en or ind.name) if self.lang == "en" else ind.name

    def _region_name(self, code: str) -> str:
        r = self.q.region_by_code.get(code)
        if r is None:
            return code
        return (r.name_en or r.name) if self.lang == "en" else r.name

    def visible(self) -> list[Indicator]:
        return plans.visible(self.q, self.public)

    # -- shared per month ---------------------------------------------------------------------------
    def _month(self, month: date) -> dict:
        shared = self._shared.get(month)
        if shared is None:
            from ..warehouse.quality import data_quality

            q = self.q
            available = plans.available_plans(q)
            plan = plans.default_plan(available, month)
            shared = self._shared[month] = {
                "county": {r["indicator"]: r for r in q.township_profile(q.county.code, month)},
                "quality": data_quality(q, as_of=month),
                "plan": plans.plan_report(q, plan, month, self.public) if plan else None,
            }
        return shared

    # -- the content --------------------------------------------------------------------------------
    def build(self, region: str, month: date) -> Briefing:
        q, t = self.q, self.t
        is_county = region == q.county.code
        shared = self._month(month)
        # A township is compared with its county (the root, or a county of a city).
        reference = region if is_county else (q.hierarchy.parent(region) or q.county.code)
        self._reference = reference
        county_profile = shared["county"] if reference == q.county.code else \
            {r["indicator"]: r for r in q.township_profile(reference, month)}
        profile = county_profile if is_county else \
            {r["indicator"]: r for r in q.township_profile(region, month)}
        visible = self.visible()
        rows_by_code = {ind.code: self._row(ind, profile.get(ind.code),
                                            county_profile.get(ind.code), is_county, shared)
                        for ind in visible}
        derived = self._mark_derived(rows_by_code, visible, region, reference, is_county,
                                     profile, county_profile)
        kind = "county" if is_county else "township"
        domains = []
        for domain, names in DOMAINS.items():
            members = [i for i in visible if i.domain == domain
                       and (is_county or not i.county_only)]
            members.sort(key=lambda i: not i.headline)   # headline first, catalogue order
            shown = members[:PER_DOMAIN[kind]]
            domains.append((names[1] if self.lang == "en" else names[0],
                            [rows_by_code[i.code] for i in shown]))

        region_row = q.region_by_code[region]
        facts = []
        if region_row.population:
            facts.append(t["population"].format(v=region_row.population / 10_000,
                                                people=region_row.population))
        if region_row.area_km2:
            facts.append(t["area"].format(v=region_row.area_km2))
        strengths, weaknesses, summary = (self._county_extremes(visible, profile) if is_county
                                          else self._township_extremes(visible, profile,
                                                                       county_profile))
        alerts, more = self._alerts(region)
        source_key = "source_demo" if q.meta.get("source") == "demo" else "source_import"
        briefing = Briefing(
            kind=kind, region=region, name=self._region_name(region),
            county_name=self._region_name(reference), month=month, as_of=q.as_of,
            snapshot=q.snapshot.manifest.label, made=self.today,
            source=t[source_key].format(county=self._region_name(q.county.code)),
            schematic=any(r.schematic for r in q.townships), public=self.public,
            lang=self.lang, facts=facts, summary=summary, domains=domains,
            strengths=strengths, weaknesses=weaknesses, alerts=alerts, more_alerts=more,
            events=self._events(region, month),
            gaps=self._gaps(region, is_county, visible, profile, county_profile, shared),
            derived_note=derived)
        if is_county:
            briefing.plan_lines = self._plan_lines(shared["plan"])
            briefing.ranking = self._ranking(month, visible)
        return briefing

    def _mark_derived(self, rows: dict, visible, region: str, reference: str,
                      is_county: bool, profile: dict, county_profile: dict) -> str:
        """Mark with ※ the figures derived from the level below (a county's figure summed from
        its townships' reports); the note under the header says so."""
        q, marked = self.q, None
        for ind in visible:
            theirs = is_county or ind.county_only
            figure = (county_profile if theirs else profile).get(ind.code)
            found = q.derived(reference if theirs else region, ind.code,
                              figure["period"]) if figure else None
            if found is not None:
                row = rows[ind.code]
                rows[ind.code] = replace(row, number="※" + row.number, value="※" + row.value)
                marked = marked or (reference if theirs else region)
        if marked is None:
            return ""
        return "※ " + derived_label(q.hierarchy.children_level(marked), self.lang)

    def _row(self, ind: Indicator, own: dict | None, county: dict | None, is_county: bool,
             shared: dict) -> BriefRow:
        """The detail page's cell logic (detail_view.TownshipDetail._cell), figure by figure."""
        t, lang = self.t, self.lang
        if is_county or ind.county_only:
            source = county
            rank = "—" if is_county else t["county_only"]
        else:
            source = own
            stale = bool(own and county and own["period"] < county["period"])
            if stale:
                rank = t["not_reported"]
            elif own and own["rank"] and own["rank_of"]:
                rank = f"{own['rank']}/{own['rank_of']}"
            else:
                rank = "—"
        value = source["value"] if source else None
        yoy = source["yoy_value"] if source else None
        period = source["period"] if source else None
        progress = target_progress(value, ind)
        number, unit = value_parts(value, ind, lang)
        mark = ""
        report = shared["plan"]
        if is_county and report is not None:
            a = report.get(ind.code)
            if a is not None and a.status:
                mark = f"{core_plan.STATUS_MARKS[a.status]} {a.status_word(lang)}"
        return BriefRow(ind.code, self._name(ind), format_value(value, ind, lang), number, unit,
                        format_value(county["value"] if county else None, ind, lang), rank,
                        format_change(value, yoy, ind, lang),
                        "—" if progress is None else progress_text(progress), progress,
                        period_label(period, ind.frequency, lang), mark)

    def _township_extremes(self, visible, profile, county_profile):
        t = self.t
        ranked = []
        top = bottom = 0
        peers = len(self.q.hierarchy.children(self._reference)) or len(self.q.townships)
        for ind in visible:
            own, county = profile.get(ind.code), county_profile.get(ind.code)
            if ind.county_only or own is None or not own["rank"] or not own["rank_of"] \
                    or ind.polarity == "neutral":
                continue
            if county and own["period"] < county["period"]:
                continue   # not this period's rank
            kind = rank_class(own["rank"], own["rank_of"], ind)
            top += kind > 0
            bottom += kind < 0
            ranked.append((own["rank"] / own["rank_of"], own["rank"], ind, own))

        def item(entry):
            _, rank, ind, own = entry
            return t["rank_item"].format(name=self._name(ind), rank=rank, of=own["rank_of"],
                                         value=format_value(own["value"], ind, self.lang))
        best = sorted(ranked, key=lambda e: (e[0], e[1]))[:3]
        worst = sorted(ranked, key=lambda e: (-e[0], -e[1]))[:3]
        summary = t["summary"].format(n=peers, top=top, bottom=bottom)
        return [item(e) for e in best], [item(e) for e in worst], summary

    def _county_extremes(self, visible, profile):
        """The county has no rank: its best and worst changes on a year ago, by polarity."""
        t, lang = self.t, self.lang
        moves = []
        for ind in visible:
            row = profile.get(ind.code)
            if row is None or ind.polarity == "neutral":
                continue
            delta = change(row["value"], row["yoy_value"], ind)
            verdict = trend_verdict(row["value"], row["yoy_value"], ind)
            if delta is None or verdict == 0:
                continue
            moves.append((verdict * abs(delta), ind, row))

        def item(entry):
            _, ind, row = entry
            return t["yoy_item"].format(name=self._name(ind),
                                        change=format_change(row["value"], row["yoy_value"], ind,
                                                             lang),
                                        value=format_value(row["value"], ind, lang))
        best = [m for m in sorted(moves, key=lambda m: -m[0]) if m[0] > 0][:3]
        worst = [m for m in sorted(moves, key=lambda m: m[0]) if m[0] < 0][:3]
        return [item(m) for m in best], [item(m) for m in worst], ""

    def _alerts(self, region: str) -> tuple[list[tuple[str, str, str]], int]:
        """Open alerts as the alert list shows them (most severe, newest first)."""
        if self.alerts is None:
            return [], 0
        t, en = self.t, self.lang == "en"
        internal = {i.code for i in self.q.indicators if i.sensitivity == "internal"}
        county = region == self.q.county.code
        records = self.alerts.list(region=None if county else region, open_only=True)
        if self.public:
            records = [a for a in records if a.indicator not in internal]
        out = []
        for a in records[:ALERT_ROWS]:
            message = alert_message(a, "en") if en else a.message
            # The engine's messages start with their place and indicator ("柳城畲族镇 事件处置完成率
            # 2026年11月为…"): a subject put before one said both twice.
            if not message.startswith(self._region_name(a.region)):
                what = a.indicator_name or t["events_alert"]
                if en and a.indicator in self.q.indicator_by_code:
                    what = self._name(self.q.indicator_by_code[a.indicator])
                if county:
                    what = f"{self._region_name(a.region)} · {what}"
                message = f"{what}: {message}" if en else f"{what}：{message}"
            status = _ALERT_STATUS_EN.get(a.status, a.status) if en else a.status
            if a.overdue:
                status += f" · {t['overdue']}"
            deadline = t["deadline"].format(d=a.deadline) if a.deadline else t["no_deadline"]
            out.append((t["severity"].get(a.severity, a.severity), message,
                        f"{status} · {deadline}"))
        return out, max(0, len(records) - ALERT_ROWS)

    def _events(self, region: str, month: date) -> list[str]:
        t, q, en = self.t, self.q, self.lang == "en"
        filter_region = None if region == q.county.code else region
        start, end, fell_back, counts = event_window(q, filter_region, month)
        total = sum(counts.values())
        if not total:
            return [t["no_events"]]
        when = month_label(month, self.lang)
        if fell_back:
            last = end - timedelta(days=1)
            day = last.strftime("%b %d") if en else f"{last.month}月{last.day}日"
            when = t["events_fallback"].format(day=day, n=(end - start).days)
        line = t["events_line"].format(when=when, total=total, overdue=counts.get(OVERDUE, 0),
                                       open=counts.get(OPEN, 0), closed=counts.get(CLOSED, 0))
        categories = q.event_categories(filter_region, start, end)
        sep = ", " if en else "、"
        items = sep.join(f"{event_category(c, self.lang)} {n}" for c, n in categories)
        return [line, t["categories"].format(items=items)] if items else [line]

    def _gaps(self, region, is_county, visible, profile, county_profile, shared) -> list[str]:
        t = self.t
        sep = ", " if self.lang == "en" else "、"
        names = {i.code for i in visible}
        report = shared["quality"]
        region_name = self.q.region_by_code[region].name
        missing = []
        for ind in visible:
            if is_county:
                quality = report.indicator(ind.code)
                if quality.months_late:
                    missing.append(self._name(ind))
                continue
            if ind.county_only:
                continue
            own, county = profile.get(ind.code), county_profile.get(ind.code)
            if own is None or (county and own["period"] < county["period"]):
                missing.append(self._name(ind))
        late: dict[str, int] = {}
        for quality in report.indicators:
            if quality.code not in names or not quality.months_late:
                continue
            if is_county:
                lag = quality.months_late
            else:
                lag = next((m for n, m in quality.late_regions if n == region_name), 0)
            if lag:
                late[quality.department] = max(late.get(quality.department, 0), lag)
        lines = []
        if missing:
            lines.append(t["gaps_missing"].format(items=sep.join(missing)))
        if late:
            items = sep.join(t["late_item"].format(name=self.q.department(d, self.lang), n=n,
                                                   s=plural(n))
                             for d, n in sorted(late.items(), key=lambda kv: -kv[1]))
            lines.append(t["gaps_late"].format(items=items))
        return lines or [t["no_gaps"]]

    def _plan_lines(self, report: plans.PlanReport | None) -> list[str]:
        """The 规划目标 page in four lines: the plan, its counts, the three furthest behind."""
        if report is None or not report.assessments:
            return []
        t, lang = self.t, self.lang
        counts = report.counts()
        items = "  ".join(f"{core_plan.STATUS_MARKS[s]} {core_plan.STATUS_WORDS[s][lang == 'en']}"
                          f" {counts[s]}" for s in core_plan.STATUSES)
        lines = [t["plan"].format(plan=report.plan.label(lang)),
                 t["plan_counts"].format(items=items, n=len(report.assessments))]
        laggards = [a for a in report.assessments
                    if a.status in (core_plan.MISSED, core_plan.BEHIND)]
        laggards.sort(key=lambda a: (a.attainment if a.attainment is not None else 9.0))
        for a in laggards[:3]:
            texts = core_plan.describe(a, lang)
            lines.append(f"{texts['mark']} " + t["plan_item"].format(
                name=texts["indicator"], latest=texts["latest"], target=texts["target"],
                share=texts["attainment"]))
        return lines

    def _ranking(self, month: date, visible) -> list[str]:
        """Townships by (indicators in the top third) − (indicators in the bottom third)."""
        scores = []
        county_profile = self._month(month)["county"]
        codes = {i.code: i for i in visible if not i.county_only and i.polarity != "neutral"}
        # The root's children: a county's townships, a city's counties.
        children = [self.q.region_by_code[c] for c in self.q.hierarchy.children(self.q.county.code)]
        for k, town in enumerate(children):
            score = 0
            for row in self.q.township_profile(town.code, month):
                ind = codes.get(row["indicator"])
                county = county_profile.get(row["indicator"])
                if ind is None or (county and row["period"] < county["period"]):
                    continue
                score += rank_class(row["rank"], row["rank_of"], ind)
            scores.append((-score, k, town.code, score))
        scores.sort()
        return [self.t["ranking_item"].format(rank=n, name=self._region_name(code), score=score)
                for n, (_, _, code, score) in enumerate(scores, start=1)]


# --- drawing ---------------------------------------------------------------------------------------
BLACK, DARK, MID, LIGHT, RULE = "#000000", "#333333", "#666666", "#d9d9d9", "#999999"


class _Page:
    """Millimetres on the page to the PDF's dots, and the type in points."""

    def __init__(self, painter: QPainter, resolution: int):
        self.p = painter
        self.k = resolution / 25.4
        self.family = theme.load_font()

    def mm(self, v: float) -> float:
        return v * self.k

    def rect(self, x: float, y: float, w: float, h: float) -> QRectF:
        return QRectF(self.mm(x), self.mm(y), self.mm(w), self.mm(h))

    def font(self, pt: float, bold: bool = False) -> QFont:
        f = QFont(self.family)
        f.setPixelSize(max(1, round(pt / 72 * 25.4 * self.k)))
        f.setBold(bold)
        # No "fi" ligature: its glyph has no text behind it, so "briefing" would be copied
        # and searched as "brie ng".
        f.setFeature(QFont.Tag("liga"), 0)
        return f

    def text(self, x, y, w, h, text, pt=7.5, bold=False, colour=BLACK,
             align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
             elide=True) -> None:
        font = self.font(pt, bold)
        self.p.setFont(font)
        self.p.setPen(QColor(colour))
        rect = self.rect(x, y, w, h)
        if elide:
            text = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        self.p.drawText(rect, int(align), text)

    def wrapped(self, x, y, w, text, pt=7.0, colour=BLACK, max_lines=3) -> float:
        """Draw text wrapped to width w; returns the height used (mm)."""
        font = self.font(pt)
        fm = QFontMetricsF(font)
        rect = fm.boundingRect(self.rect(x, y, w, 100), int(Qt.TextFlag.TextWordWrap), text)
        line = fm.height()
        height = min(rect.height(), line * max_lines)
        self.p.setFont(font)
        self.p.setPen(QColor(colour))
        self.p.drawText(QRectF(self.mm(x), self.mm(y), self.mm(w), height),
                        int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft), text)
        return height / self.k

    def line(self, x1, y1, x2, y2, colour=RULE, width=0.2) -> None:
        self.p.setPen(QPen(QColor(colour), self.mm(width)))
        self.p.drawLine(QPointF(self.mm(x1), self.mm(y1)), QPointF(self.mm(x2), self.mm(y2)))


def _map_picture(page: _Page, x, y, w, h, queries: Queries, highlight: str | None) -> None:
    """The townships in outline, the briefed one filled dark and hatched (it survives
    photocopying), through the map panel's own geometry code."""
    from ..geo.index import RegionIndex
    from .map.items import rings_to_path

    index = RegionIndex.from_wkb(queries.geometries_wkb("township"))
    if not len(index):
        return
    x0, y0, x1, y1 = index.bounds
    box = page.rect(x, y, w, h)
    scale = min(box.width() / (x1 - x0), box.height() / (y1 - y0))
    # The map panel's paths are in km with y flipped (y down): scale and centre them.
    transform = QTransform()
    transform.translate(box.center().x() - (x0 + x1) / 2 * scale,
                        box.center().y() + (y0 + y1) / 2 * scale)
    transform.scale(scale, scale)
    p = page.p
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    outline = QPen(QColor(MID), page.mm(0.15))
    for code in index.codes:
        path = transform.map(rings_to_path(index.rings(code)))
        p.setPen(outline)
        p.setBrush(QColor("#f2f2f2"))
        p.drawPath(path)
    if highlight in index:
        path = transform.map(rings_to_path(index.rings(highlight)))
        p.setPen(QPen(QColor(BLACK), page.mm(0.45)))
        p.setBrush(QColor("#7a7a7a"))
        p.drawPath(path)
        p.setBrush(QBrush(QColor(BLACK), Qt.BrushStyle.BDiagPattern))
        p.drawPath(path)
    p.restore()


def _status_box(page: _Page, x, y, w, h, share: float | None, text: str, pt: float) -> None:
    """A target-progress bar: outlined, filled to the share; the number beside it."""
    bar_w = w * 0.5
    if share is None:
        page.text(x, y, w, h, text, pt,
                  align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return
    page.p.setPen(QPen(QColor(DARK), page.mm(0.15)))
    page.p.setBrush(Qt.BrushStyle.NoBrush)
    bar = page.rect(x, y + h * 0.3, bar_w, h * 0.4)
    page.p.drawRect(bar)
    if share is not None and share > 0:
        filled = QRectF(bar.left(), bar.top(), bar.width() * min(share, 1.0), bar.height())
        page.p.fillRect(filled, QColor("#8c8c8c" if share < 1 else DARK))
    page.text(x + bar_w + 1, y, w - bar_w - 1, h, text, pt,
              align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def paint_briefing(painter: QPainter, resolution: int, b: Briefing, queries: Queries) -> None:
    """Draw one briefing on an A4 portrait page (origin at the paper's corner)."""
    page = _Page(painter, resolution)
    t = _T[b.lang]
    L, R, W = 12.0, 198.0, 186.0
    body = 7.5
    # -- header --------------------------------------------------------------------------------
    page.text(L, 10, 120, 10, t["title"].format(name=b.name), 17, bold=True)
    right = f"{b.county_name} · {month_label(b.month, b.lang)}"
    page.text(R - 70, 10, 70, 10, right, 11, bold=True,
              align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    made = b.made.strftime("%Y-%m-%d") if b.lang == "en" else \
        f"{b.made.year}年{b.made.month}月{b.made.day}日"
    meta = [f"{t['period']} {month_label(b.month, b.lang)}",
            f"{t['as_of']} {month_label(b.as_of, b.lang) if b.as_of else '—'}",
            f"{t['snapshot']} {b.snapshot}", f"{t['made']} {made}",
            f"{t['source']}：{b.source}" if b.lang != "en" else f"{t['source']}: {b.source}"]
    if b.schematic:
        meta.append(t["schematic"])
    if b.derived_note:
        meta.append(b.derived_note)
    if b.public:
        meta.append(t["public"])
    page.wrapped(L, 20.5, W, " · ".join(meta), 6.8, DARK, max_lines=2)
    page.line(L, 27.5, R, 27.5, BLACK, 0.4)

    # -- map, facts, plan (county), strengths and weaknesses ------------------------------------------
    top = 30.0
    map_w = 42.0
    _map_picture(page, L, top, map_w, 42, queries, b.region if b.kind == "township" else None)
    x = L + map_w + 5
    w = R - x
    y = top
    if b.facts:
        page.text(x, y, w, 4.6, "　".join(b.facts) if b.lang != "en" else " · ".join(b.facts),
                  body, colour=DARK)
        y += 4.8
    if b.kind == "county" and b.plan_lines:
        page.text(x, y, w, 5, b.plan_lines[0], 9, bold=True)
        y += 5
        page.text(x, y, w, 4.4, b.plan_lines[1], 7.4)
        y += 4.4
        for line in b.plan_lines[2:]:
            page.text(x + 2, y, w - 2, 3.9, line, 7, colour=DARK)
            y += 3.9
        y += 1
    elif b.summary:
        page.text(x, y, w, 5, b.summary, body, bold=True)
        y += 6
    half = (w - 4) / 2
    s_title = t["strengths_county" if b.kind == "county" else "strengths"]
    w_title = t["weaknesses_county" if b.kind == "county" else "weaknesses"]
    page.text(x, y, half, 5, "▲ " + s_title, 8.5, bold=True)
    page.text(x + half + 4, y, half, 5, "▼ " + w_title, 8.5, bold=True)
    y += 5
    for k in range(3):
        if k < len(b.strengths):
            page.text(x, y, half, 4.2, f"{k + 1}. {b.strengths[k]}", 7.2)
        if k < len(b.weaknesses):
            page.text(x + half + 4, y, half, 4.2, f"{k + 1}. {b.weaknesses[k]}", 7.2)
        y += 4.2

    # -- the six domains --------------------------------------------------------------------------------
    y = max(y, top + 42) + 3
    county = b.kind == "county"
    headers = t["headers_county" if county else "headers"]
    widths = [58, 22, 18, 24, 16, 24, 24] if not county else [58, 22, 18, 22, 24, 24, 18]
    row_h = 4.05 if county else 4.5
    row_pt = 7.2 if county else 7.6
    page.p.fillRect(page.rect(L, y, W, 5), QColor(LIGHT))
    cx = L
    for k, (head, wd) in enumerate(zip(headers, widths)):
        align = Qt.AlignmentFlag.AlignLeft if k in (0, 2) or k == len(headers) - 1 and county \
            else Qt.AlignmentFlag.AlignRight
        page.text(cx + 1, y, wd - 2, 5, head, 7, bold=True,
                  align=align | Qt.AlignmentFlag.AlignVCenter)
        cx += wd
    y += 5.3
    for domain, rows in b.domains:
        page.text(L, y, W, 4.4, f"■ {domain}", 8, bold=True)
        page.line(L, y + 4.4, R, y + 4.4, RULE, 0.15)
        y += 4.6
        for r in rows:
            cells = [r.name, r.number, r.unit]
            cells += [r.period, r.yoy] if county else [r.county, r.rank, r.yoy]
            cx = L
            for k, text in enumerate(cells):
                wd = widths[k]
                align = Qt.AlignmentFlag.AlignLeft if k in (0, 2) else Qt.AlignmentFlag.AlignRight
                inset = 3 if k == 0 else 1
                page.text(cx + inset, y, wd - inset - 1, row_h, text, row_pt,
                          colour=BLACK if k != 2 else DARK,
                          align=align | Qt.AlignmentFlag.AlignVCenter)
                if k == 2:
                    cx += wd
                    continue
                cx += wd
            p_x = L + sum(widths[:len(cells)])
            _status_box(page, p_x + 2, y, widths[len(cells)] - 3, row_h, r.share, r.progress,
                        row_pt - 0.2)
            if county:
                page.text(p_x + widths[len(cells)] + 1, y, widths[-1] - 1, row_h, r.plan_mark,
                          7, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            y += row_h
        y += 0.6

    # -- county: the townships' ranking ---------------------------------------------------------------
    if county and b.ranking:
        y += 1
        page.text(L, y, W, 4.6, t["ranking"], 8.5, bold=True)
        y += 4.8
        columns = 6
        per = (len(b.ranking) + columns - 1) // columns
        col_w = W / columns
        for k, item in enumerate(b.ranking):
            c, r = divmod(k, per)
            page.text(L + c * col_w, y + r * 3.8, col_w - 1, 3.8, item, 7)
        y += per * 3.8 + 1

    # -- alerts, events, gaps ---------------------------------------------------------------------------
    y += 1.5
    page.line(L, y, R, y, BLACK, 0.3)
    y += 1
    page.text(L, y, W, 5, t["alerts"], 9, bold=True)
    y += 5
    if not b.alerts:
        page.text(L + 2, y, W, 4, t["no_alerts"], body, colour=DARK)
        y += 4
    for severity, what, status in b.alerts[:ALERT_ROWS - county]:
        page.text(L + 2, y, 14, 4, f"[{severity}]", 7.2, bold=True)
        page.text(L + 16, y, W - 70, 4, what, 7.2)
        page.text(R - 54, y, 54, 4, status, 7.2, colour=DARK,
                  align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        y += 4
    more = b.more_alerts + max(0, len(b.alerts) - (ALERT_ROWS - county))
    if more:
        page.text(L + 16, y, W - 16, 3.6, t["more_alerts"].format(n=more), 6.8, colour=MID)
        y += 3.6
    y += 1.5
    page.text(L, y, 22, 4.4, t["events"], 9, bold=True)
    ey = y
    for line in b.events:
        page.text(L + 22, ey, W - 22, 4.4, line, 7.2)
        ey += 4.2
    y = ey + 1
    page.text(L, y, 22, 4.4, t["gaps"], 9, bold=True)
    for line in b.gaps:
        used = page.wrapped(L + 22, y + 0.6, W - 22, line, 7.0, BLACK, max_lines=2)
        y += max(4.2, used + 0.4)

    # -- footer ---------------------------------------------------------------------------------------
    page.line(L, 286, R, 286, RULE, 0.2)
    page.text(L, 286.5, W, 4, t["footer"].format(snapshot=b.snapshot), 6.3, colour=MID)


def output_folder(path: Path) -> Path:
    """The folder a briefing at `path` goes to; BriefingError if there is none."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BriefingError(f"输出目录不存在：{folder}")
    return folder


def write_pdf(briefing: Briefing, queries: Queries, path) -> Path:
    """Draw the briefing into a PDF at `path`, atomically: nothing is left under `path` or a
    temporary name if anything fails. Raises BriefingError when the folder cannot be written."""
    path = Path(path)
    folder = output_folder(path)
    tmp = folder / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "wb"):
            pass
    except PermissionError:
        raise BriefingError(f"无法写入 {path}：没有写入权限") from None
    except OSError as exc:
        raise BriefingError(f"无法写入 {path}：{exc.strerror or exc}") from None
    try:
        writer = QPdfWriter(str(tmp))
        writer.setResolution(RESOLUTION)
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                         QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
        writer.setTitle(_T[briefing.lang]["title"].format(name=briefing.name)
                        + f" · {month_label(briefing.month, briefing.lang)}")
        writer.setCreator("City Cockpit 城市大脑 · 数字驾驶舱")
        painter = QPainter(writer)
        if not painter.isActive():
            raise BriefingError(f"无法写入 {path}")
        try:
            paint_briefing(painter, writer.resolution(), briefing, queries)
        finally:
            painter.end()
        del painter, writer
        if tmp.stat().st_size == 0:
            raise BriefingError(f"无法写入 {path}")
        tmp.write_bytes(tag_subset_fonts(tmp.read_bytes()))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_SUBSET_NAME = re.compile(rb"/FontName /([A-Z]{6})\+([^\s/<>\[\]()]+)")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf]) ?\r?\n")


def tag_subset_fonts(data: bytes) -> bytes:
    """Give each font's /BaseFont the subset tag its descriptor already has (QRAAAA+Noto…).

    Qt embeds only the glyphs used, and tags the descriptor's /FontName, but leaves /BaseFont
    untagged, which the PDF standard asks for and tools read (pdffonts reports "sub no"). The
    names are lengthened in place and the cross-reference table shifted to match; a file this
    does not recognise is returned unchanged."""
    tags = {name: tag + b"+" + name for tag, name in _SUBSET_NAME.findall(data)}
    if not tags:
        return data
    start = data.rfind(b"startxref")
    xref = data.rfind(b"\nxref", 0, start) + 1
    if start < 0 or xref <= 0:
        return data
    pieces, shifts, last = [], [], 0
    pattern = re.compile(rb"/BaseFont /(" + b"|".join(re.escape(n) for n in tags) + rb")(?=[\s/>])")
    for m in pattern.finditer(data, 0, xref):
        pieces += [data[last:m.start(1)], tags[m.group(1)]]
        shifts.append((m.start(1), len(tags[m.group(1)]) - len(m.group(1))))
        last = m.end(1)
    if not shifts:
        return data

    def moved(offset: int) -> int:
        return offset + sum(d for at, d in shifts if at < offset)

    table = data[xref:start]
    entries = list(_XREF_ENTRY.finditer(table))
    if not entries:
        return data
    new_table = bytearray(table[:entries[0].start()])
    for e in entries:
        offset = int(e.group(1))
        if e.group(3) == b"n":
            offset = moved(offset)
        new_table += b"%010d %s %s \n" % (offset, e.group(2), e.group(3))
    new_table += table[entries[-1].end():]
    tail = data[start:]
    old = re.search(rb"startxref\s+(\d+)", tail)
    if old is None:
        return data
    body = b"".join(pieces) + data[last:xref]
    tail = tail[:old.start(1)] + str(len(body)).encode() + tail[old.end(1):]
    return body + bytes(new_table) + tail


def file_name(briefing: Briefing) -> str:
    """桃溪镇_2025-12_简报.pdf"""
    suffix = "briefing" if briefing.lang == "en" else "简报"
    return f"{briefing.name}_{briefing.month:%Y-%m}_{suffix}.pdf"


# --- `cockpit brief` ---------------------------------------------------------------------------------
def run_brief(args) -> int:
    """`cockpit brief --township 桃溪镇 | --county | --all --out …`: one line and exit 2 for a
    mistake (unknown township, month outside the data, a path that cannot be written)."""
    import sys

    from ..alerts.store import AlertService
    from .app import CockpitUsageError, LiveWarehouse, _application, _state_with, initial_state

    out = Path(args.out)
    if not args.all and out.suffix.lower() != ".pdf":
        raise UsageError(f"输出文件应为 .pdf：{out}")
    if not args.all:
        try:
            output_folder(out)     # before seconds of evaluating and drawing, not after
        except BriefingError as exc:
            raise UsageError(str(exc)) from None
    if args.all:
        if out.exists() and not out.is_dir():
            raise UsageError(f"--all 的输出应为目录，而 {out} 是文件")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"无法创建输出目录 {out}：{exc.strerror or exc}") from None
    # --as-of: the warehouse as it was when that day ended (a DuckLake keeps every snapshot).
    warehouse = LiveWarehouse(args.db, as_of=getattr(args, "as_of", None))
    try:
        q = warehouse.queries
        try:
            state = _state_with(q, initial_state(q), township=args.township, period=args.period)
        except CockpitUsageError as exc:
            raise UsageError(str(exc)) from None
        _application(offscreen=True)
        alerts = AlertService(warehouse.root, scope=q.county.code)
        try:
            if alerts.store.last_evaluation(q.county.code) is None:
                alerts.evaluate(warehouse.snapshot)   # as the cockpit does when it starts
        except Exception as exc:  # alerts belong on the page, but are not worth no page
            print(f"cockpit: 预警评估失败：{exc}", file=sys.stderr)
        builder = BriefingBuilder(q, alerts, lang=args.lang or "zh_CN", public=args.public)
        month = state.period
        try:
            if args.all:
                step = progress.steps(len(q.townships))
                for town in q.townships:
                    briefing = builder.build(town.code, month)
                    write_pdf(briefing, q, out / file_name(briefing))
                    step(town.name)
                print(f"已生成 {len(q.townships)} 份乡镇简报（{month_label(month)}）→ {out}")
                return 0
            region = q.county.code if args.county else state.region
            briefing = builder.build(region, month)
            write_pdf(briefing, q, out)
        except BriefingError as exc:
            raise UsageError(str(exc)) from None
        # (the command speaks Chinese: the region by its Chinese name, whatever the PDF's language)
        english = "（英文）" if builder.lang == "en" else ""
        print(f"已生成 {q.region_by_code[region].name} {month_label(month)} 简报{english} → {out}")
        return 0
    finally:
        warehouse.close()
