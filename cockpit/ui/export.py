"""导出: the briefing PDF of the selected region, the window as a PNG, and the page on screen as an
Excel workbook (ranking and alerts on the cockpit, the detail page's indicators, the 规划目标
page's targets and township contributions, the data-quality tables).

The workbook's figures are the page's own: values in the indicator's unit rounded as the page
rounds them (a page's 1.47 万件 is 14,695 in a 件 column), changes and shares as the numbers the
page prints. In public mode nothing internal is written. Every file is written to a temporary
name and renamed.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..core import i18n
from ..core import plan as core_plan
from ..core.formatting import format_change, month_label, period_label
from ..core.i18n import FREQUENCY
from ..core.workbook import Column, Number, Sheet, split_shown, write_workbook
from ..warehouse import plans

_TEXT = {
    "zh_CN": {"brief": "简报 PDF（{region}）", "png": "当前画面 PNG", "excel": "表格 Excel（{page}）",
              "pages": {"cockpit": "驾驶舱", "detail": "详情", "plan": "规划目标", "quality": "数据质量"},
              "saved": "已导出 {path}", "failed": "导出失败", "failed_because": "导出失败：{reason}",
              "save_as": "导出到…", "cannot_write": "无法写入 {path}",
              # the workbook: sheet names, headers, words in cells, the note row
              "unit_header": "{name}（{unit}）", "sep": "；",
              "demo": "演示数据（数值为虚构）", "reported": "部门报送数据",
              "as_of": "数据截至 {month}", "snapshot": "快照 {label}",
              "source": "来源：{county}城市大脑数据仓库（{source}）", "exported": "导出于 {at}",
              "ranking": "乡镇排名（{name}）",
              "ranking_cols": ("排名", "乡镇（街道）", "环比", "环比单位", "同比", "同比单位", "备注"),
              "not_reported": "未报送",
              "alerts": "预警列表",
              "alerts_cols": ("等级", "期间", "乡镇（街道）", "指标", "内容", "状态", "承办部门",
                              "办理期限", "已逾期"),
              "yes": "是",
              "detail": "指标全景（{region}）",
              "detail_cols": ("领域", "指标", "单位", "数值", "全县", "排名", "参与排名", "同比",
                              "同比单位", "目标进度（%）", "数据期", "备注"),
              "plan": "规划目标", "plan_named": "规划目标（{plan}）", "targets_from": "目标来源：{sources}",
              "plan_cols": ("指标", "单位", "基期值", "基期值（{year}年）", "基期来源", "最新值",
                            "最新值期间", "目标值（{year}年）", "完成度（%）", "状态",
                            "预测值（{year}年）", "年度口径", "目标来源"),
              "from_data": "据数据推算", "from_plan": "规划",
              "pulls": "乡镇贡献（{name}）",
              "pulls_cols": ("位次", "乡镇（街道）", "对全县与目标差距的拉动"),
              "quality_window": "统计 {start} 至 {end}",
              "departments": "部门数据质量",
              "departments_cols": ("牵头单位", "指标数", "完整率（%）", "迟报指标数", "最长迟报（月）",
                                   "最新数据期"),
              "indicators": "指标数据质量",
              "indicators_cols": ("指标", "牵头单位", "频度", "完整率（%）", "及时性", "最长迟报（月）",
                                  "最新数据期")},
    "en": {"brief": "Briefing PDF ({region})", "png": "Screen PNG", "excel": "Excel ({page})",
           "pages": {"cockpit": "cockpit", "detail": "details", "plan": "plan targets",
                     "quality": "data quality"},
           "saved": "Saved {path}", "failed": "Export failed",
           "failed_because": "Export failed: {reason}", "save_as": "Export to…",
           "cannot_write": "Cannot write {path}",
           "unit_header": "{name} ({unit})", "sep": "; ",
           "demo": "demo data, invented figures", "reported": "departments' reports",
           "as_of": "data as of {month}", "snapshot": "snapshot {label}",
           "source": "source: {county} City Brain warehouse ({source})",
           "exported": "exported {at}",
           "ranking": "Ranking ({name})",
           "ranking_cols": ("Rank", "Township", "MoM", "MoM unit", "YoY", "YoY unit", "Note"),
           "not_reported": "not reported",
           "alerts": "Alerts",
           "alerts_cols": ("Level", "Period", "Township", "Indicator", "Message", "Status",
                           "Department", "Deadline", "Overdue"),
           "yes": "yes",
           "detail": "All indicators ({region})",
           "detail_cols": ("Domain", "Indicator", "Unit", "Value", "County", "Rank", "Ranked",
                           "YoY", "YoY unit", "Target progress (%)", "Period", "Note"),
           "plan": "Plan targets", "plan_named": "Targets ({plan})",
           "targets_from": "targets from: {sources}",
           "plan_cols": ("Indicator", "Unit", "Baseline", "Baseline ({year})", "Baseline from",
                         "Latest", "Latest period", "Target ({year})", "Attained (%)", "Status",
                         "Projected ({year})", "Annual basis", "Targets from"),
           "from_data": "from the data", "from_plan": "plan",
           "pulls": "Townships ({name})",
           "pulls_cols": ("Place", "Township", "Pull on the county's distance to target"),
           "quality_window": "{start} to {end}",
           "departments": "Departments' data quality",
           "departments_cols": ("Department", "Indicators", "Complete (%)", "Late indicators",
                                "Longest delay (months)", "Latest period"),
           "indicators": "Indicators' data quality",
           "indicators_cols": ("Indicator", "Department", "Frequency", "Complete (%)",
                               "Timeliness", "Longest delay (months)", "Latest period")},
}


def _text(window) -> dict:
    return _TEXT["en" if window.ctx.lang == "en" else "zh_CN"]


def page_on_screen(window) -> str:
    if window.showing_detail:
        return "detail"
    if window.showing_plan:
        return "plan"
    if window.showing_quality:
        return "quality"
    return "cockpit"


# --- the menu -----------------------------------------------------------------------------------------
def install_export_menu(window) -> QMenu:
    """Give the header's 导出 button its menu (the wall hides the button)."""
    button = window.header.export_button
    menu = QMenu(button)
    window.export_actions = {
        "brief": menu.addAction("", lambda: _run(window, "brief")),
        "png": menu.addAction("", lambda: _run(window, "png")),
        "excel": menu.addAction("", lambda: _run(window, "excel")),
    }
    menu.aboutToShow.connect(lambda: _label_actions(window))
    button.setMenu(menu)
    window.export_menu = menu
    _label_actions(window)
    return menu


def _label_actions(window) -> None:
    t = _text(window)
    window.export_actions["brief"].setText(t["brief"].format(region=window.ctx.region_name()))
    window.export_actions["png"].setText(t["png"])
    window.export_actions["excel"].setText(
        t["excel"].format(page=t["pages"][page_on_screen(window)]))


def default_name(window, kind: str) -> str:
    ctx = window.ctx
    stem = f"{ctx.region_name()}_{ctx.state.period:%Y-%m}"
    if kind == "brief":
        return f"{stem}_{'briefing' if ctx.lang == 'en' else '简报'}.pdf"
    page = _text(window)["pages"][page_on_screen(window)]
    return f"{page}_{stem}.{'png' if kind == 'png' else 'xlsx'}"


def _run(window, kind: str) -> Path | None:
    t = _text(window)
    filters = {"brief": "PDF (*.pdf)", "png": "PNG (*.png)", "excel": "Excel (*.xlsx)"}
    start = Path.home() / default_name(window, kind)
    chosen, _ = QFileDialog.getSaveFileName(window, t["save_as"], str(start), filters[kind])
    if not chosen:
        return None
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        path = {"brief": export_briefing, "png": export_png, "excel": export_excel}[kind](
            window, chosen)
    except Exception as exc:  # a full disk, a locked file: say so, keep the window running
        QGuiApplication.restoreOverrideCursor()
        QMessageBox.warning(window, t["failed"], t["failed_because"].format(reason=exc))
        return None
    QGuiApplication.restoreOverrideCursor()
    window.statusBar().showMessage(t["saved"].format(path=path), 8000)
    return path


# --- the three exports -------------------------------------------------------------------------------
def export_briefing(window, path) -> Path:
    """The selected region's briefing for the selected month, as the CLI writes it."""
    from .briefing import BriefingBuilder, write_pdf

    ctx = window.ctx
    builder = BriefingBuilder(ctx.queries, ctx.alerts, ctx.lang, ctx.public_mode)
    return write_pdf(builder.build(ctx.state.region, ctx.state.period), ctx.queries, path)


def export_png(window, path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp.png")
    try:
        if not window.grab().save(str(tmp), "PNG"):
            raise OSError(_text(window)["cannot_write"].format(path=path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def export_excel(window, path) -> Path:
    return write_workbook(path, sheets_for(window))


def sheets_for(window) -> list[Sheet]:
    page = page_on_screen(window)
    if page == "detail":
        return [_detail_sheet(window)]
    if page == "plan":
        return _plan_sheets(window)
    if page == "quality":
        return _quality_sheets(window)
    return [s for s in (_ranking_sheet(window), _alerts_sheet(window)) if s is not None]


# --- sheets ------------------------------------------------------------------------------------------
def _note(window, region: str | None = None, extra: str = "") -> str:
    ctx, t = window.ctx, _text(window)
    q, lang = ctx.queries, ctx.lang
    source = t["demo"] if q.meta.get("source") == "demo" else t["reported"]
    parts = [ctx.region_name(region) if region else None, month_label(ctx.state.period, lang),
             t["as_of"].format(month=month_label(q.as_of, lang) if q.as_of else "—"),
             t["snapshot"].format(label=q.snapshot.manifest.label),
             t["source"].format(county=ctx.region_name(q.county.code), source=source),
             extra or None, t["exported"].format(at=f"{datetime.now():%Y-%m-%d %H:%M}")]
    return " · ".join(p for p in parts if p)


def _unit_header(window, name: str, unit: str) -> str:
    """A header with its unit, in the window's language (the unit as the indicator's: 亿元 is
    "100M yuan", the numbers under it are the same)."""
    lang = window.ctx.lang
    shown = i18n.unit(unit, lang)
    return _text(window)["unit_header"].format(name=name, unit=shown) if shown else name


def _value(value, indicator) -> Number | None:
    if value is None or value != value:
        return None
    return Number(round(float(value), indicator.decimals), indicator.decimals)


def _shown(text: str) -> tuple[Number | None, str]:
    """A printed change or share: its number (None for "—") and its unit."""
    number, unit = split_shown(text)
    return number, unit if number is not None else ""


def _columns(headers, widths, texts) -> list[Column]:
    return [Column(h, w, text=k in texts) for k, (h, w) in enumerate(zip(headers, widths))]


def _ranking_sheet(window) -> Sheet | None:
    ctx, t = window.ctx, _text(window)
    ind = ctx.indicator()
    if ind.county_only or (ctx.public_mode and ind.sensitivity == "internal"):
        return None
    rows = window.ranking.table_rows()
    name = ctx.tr_name(ind)
    rank, town, mom, mom_unit, yoy, yoy_unit, remark = t["ranking_cols"]
    sheet = Sheet(t["ranking"].format(name=name)[:31], [
        Column(rank, 6), Column(town, 14, text=True),
        Column(_unit_header(window, name, ind.unit), 16), Column(mom, 10),
        Column(mom_unit, 10, text=True), Column(yoy, 10), Column(yoy_unit, 10, text=True),
        Column(remark, 10, text=True)],
        note=_note(window, ctx.county_code, ind.definition_in(ctx.lang)))
    for rank, code, name, value, prev, yoy in rows:
        prev_n, prev_u = _shown(format_change(value, prev, ind, ctx.lang))
        yoy_n, yoy_u = _shown(format_change(value, yoy, ind, ctx.lang))
        sheet.rows.append([Number(rank) if rank else None, name, _value(value, ind), prev_n,
                           prev_u, yoy_n, yoy_u, "" if value is not None else t["not_reported"]])
    return sheet


def _alerts_sheet(window) -> Sheet:
    ctx, t = window.ctx, _text(window)
    internal = {i.code for i in ctx.queries.indicators if i.sensitivity == "internal"}
    alerts = [a for a in window.alerts.shown_alerts()
              if not (ctx.public_mode and a.indicator in internal)]
    sheet = Sheet(t["alerts"], _columns(t["alerts_cols"], (6, 12, 14, 20, 60, 10, 18, 12, 8),
                                        range(9)), note=_note(window, ctx.state.region))
    for a in alerts:
        texts = window.alerts.alert_texts(a)
        sheet.rows.append([texts["severity"], texts["period"], texts["place"],
                           texts["indicator"], texts["message"], texts["status"],
                           a.department or "", a.deadline or "", t["yes"] if a.overdue else ""])
    return sheet


def _detail_sheet(window) -> Sheet:
    ctx, detail, t = window.ctx, window.detail, _text(window)
    q = ctx.queries
    region, month = detail.region, detail.month
    is_county = region == ctx.county_code
    county = {r["indicator"]: r for r in q.township_profile(ctx.county_code, month)}
    own = county if is_county else {r["indicator"]: r for r in q.township_profile(region, month)}
    sheet = Sheet(t["detail"].format(region=ctx.region_name(region)),
                  _columns(t["detail_cols"], (10, 24, 8, 12, 12, 6, 8, 10, 10, 12, 12, 14),
                           (0, 1, 2, 8, 10, 11)),
                  note=_note(window, region))
    for code in detail.indicator_codes():
        ind = ctx.indicator(code)
        texts = detail.row_for(code)
        source = county.get(code) if is_county or ind.county_only else own.get(code)
        county_row = county.get(code)
        rank = of = None
        if not is_county and not ind.county_only and source and "/" in texts["rank"]:
            rank, of = (Number(int(x)) for x in texts["rank"].split("/"))
        remark = texts["rank"] if not any(ch.isdigit() for ch in texts["rank"]) else ""
        yoy_n, yoy_u = _shown(texts["yoy"])
        progress, _ = _shown(texts["progress"])
        sheet.rows.append([ctx.domain_name(ind.domain), texts["indicator"],
                           i18n.unit(ind.unit, ctx.lang),
                           _value(source["value"] if source else None, ind),
                           _value(county_row["value"] if county_row else None, ind), rank, of,
                           yoy_n, yoy_u, progress, texts["period"],
                           "" if remark == "—" else remark])
    return sheet


def _plan_sheets(window) -> list[Sheet]:
    ctx, page, t = window.ctx, window.plan, _text(window)
    lang = ctx.lang
    report = page.report
    (indicator, unit, baseline, baseline_in, baseline_from, latest, latest_when, target,
     attained, status, projected, basis, source) = t["plan_cols"]
    if report is None:
        return [Sheet(t["plan"], [Column(indicator, 24, text=True)], note=_note(window))]
    plan = report.plan
    sources = t["sep"].join(plans.source_in(s, lang) for s in plan.sources)
    extra = f"{plan.label(lang)} · {t['targets_from'].format(sources=sources)}"
    year = plan.target_year
    base_year = plan.baseline_year
    targets = Sheet(t["plan_named"].format(plan=plan.name_in(lang)), [
        Column(indicator, 24, text=True), Column(unit, 8, text=True),
        Column(baseline_in.format(year=base_year) if base_year else baseline, 12),
        Column(baseline_from, 12, text=True), Column(latest, 12),
        Column(latest_when, 20, text=True), Column(target.format(year=year), 12),
        Column(attained, 10), Column(status, 10, text=True),
        Column(projected.format(year=year), 12), Column(basis, 12, text=True),
        Column(source, 40, text=True)], note=_note(window, ctx.county_code, extra))
    for a, texts in zip(report.assessments, page.row_texts()):
        ind = a.indicator
        share, _ = _shown(texts["attainment"])
        targets.rows.append([
            texts["indicator"], i18n.unit(ind.unit, lang), _value(a.baseline, ind),
            t["from_data"] if a.baseline_derived else (t["from_plan"] if a.baseline is not None
                                                       else ""),
            _value(a.latest.value if a.latest else None, ind), texts["latest_when"],
            _value(a.target.target_value, ind), share, texts["status"],
            _value(a.projection, ind), texts["basis"], plans.source_in(a.target.source, lang)])
    sheets = [targets]
    a = page.selected
    rows = page.townships.rows
    if a is not None and rows:
        ind = a.indicator
        name = ctx.tr_name(ind)
        pull_unit = "个百分点" if ind.is_rate else ind.unit
        decimals = 2 if ind.is_rate else max(ind.decimals, 1)
        when = core_plan.figure_when(a.latest, ind, lang)
        place, town, pull = t["pulls_cols"]
        towns = Sheet(t["pulls"].format(name=name)[:31], [
            Column(place, 6), Column(town, 14, text=True),
            Column(_unit_header(window, f"{name} {when}", ind.unit), 22),
            Column(_unit_header(window, pull, pull_unit), 22)],
            note=_note(window, ctx.county_code, extra))
        for r in rows:
            towns.rows.append([Number(r.rank), r.name, _value(r.latest_value, ind),
                               Number(round(r.pull, decimals), decimals)])
        sheets.append(towns)
    return sheets


def _quality_sheets(window) -> list[Sheet]:
    ctx, page, t = window.ctx, window.quality, _text(window)
    lang, q = ctx.lang, ctx.queries
    report = page.report_now()
    internal = {i.code for i in q.indicators if i.sensitivity == "internal"}
    shown = [i for i in report.indicators if not (ctx.public_mode and i.code in internal)]
    window_text = t["quality_window"].format(start=month_label(report.window_start, lang),
                                             end=month_label(report.window_end, lang))
    departments = Sheet(t["departments"], _columns(t["departments_cols"],
                                                   (26, 8, 10, 10, 12, 14), (0, 5)),
                        note=_note(window, None, window_text))
    for d in report.departments:
        completeness, _ = split_shown(d.completeness_label)
        departments.rows.append([
            q.department(d.department, lang), Number(d.indicators), completeness,
            Number(d.late_indicators), Number(d.months_late or 0),
            month_label(d.last_period, lang) if d.last_period else "—"])
    indicators = Sheet(t["indicators"], _columns(t["indicators_cols"],
                                                 (24, 24, 8, 10, 30, 12, 14), (0, 1, 2, 4, 6)),
                       note=_note(window, None, window_text))
    by_name = {r.name: ctx.region_name(r.code) for r in q.regions}
    for i in shown:
        completeness, _ = split_shown(i.completeness_label)
        ind = q.indicator_by_code.get(i.code)
        indicators.rows.append([
            ctx.tr_name(ind) if ind else i.name, q.department(i.department, lang),
            FREQUENCY[i18n.lang_of(lang)].get(i.frequency, i.frequency), completeness,
            i.timeliness_text(lang, lambda name: by_name.get(name, name)),
            Number(i.months_late) if i.months_late is not None else None,
            period_label(i.last_period, i.frequency, lang)])
    return [departments, indicators]
