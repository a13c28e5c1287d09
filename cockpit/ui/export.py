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

from ..core import plan as core_plan
from ..core.formatting import format_change, month_label
from ..core.workbook import Column, Number, Sheet, split_shown, write_workbook

_TEXT = {
    "zh_CN": {"brief": "简报 PDF（{region}）", "png": "当前画面 PNG", "excel": "表格 Excel（{page}）",
              "pages": {"cockpit": "驾驶舱", "detail": "详情", "plan": "规划目标", "quality": "数据质量"},
              "saved": "已导出 {path}", "failed": "导出失败", "save_as": "导出到…"},
    "en": {"brief": "Briefing PDF ({region})", "png": "Screen PNG", "excel": "Excel ({page})",
           "pages": {"cockpit": "cockpit", "detail": "details", "plan": "plan targets",
                     "quality": "data quality"},
           "saved": "Saved {path}", "failed": "Export failed", "save_as": "Export to…"},
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
        QMessageBox.warning(window, t["failed"], f"{t['failed']}：{exc}")
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
            raise OSError(f"无法写入 {path}")
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
def _note(ctx, region: str | None = None, extra: str = "") -> str:
    q = ctx.queries
    source = "演示数据（数值为虚构）" if q.meta.get("source") == "demo" else "部门报送数据"
    parts = [ctx.region_name(region) if region else None, month_label(ctx.state.period),
             f"数据截至 {month_label(q.as_of) if q.as_of else '—'}",
             f"快照 {q.snapshot.manifest.label}", f"来源：{q.county.name}城市大脑数据仓库（{source}）",
             extra or None, f"导出于 {datetime.now():%Y-%m-%d %H:%M}"]
    return " · ".join(p for p in parts if p)


def _unit_header(name: str, unit: str) -> str:
    return f"{name}（{unit}）" if unit else name


def _value(value, indicator) -> Number | None:
    if value is None or value != value:
        return None
    return Number(round(float(value), indicator.decimals), indicator.decimals)


def _shown(text: str) -> tuple[Number | None, str]:
    """A printed change or share: its number (None for "—") and its unit."""
    number, unit = split_shown(text)
    return number, unit if number is not None else ""


def _ranking_sheet(window) -> Sheet | None:
    ctx = window.ctx
    ind = ctx.indicator()
    if ind.county_only or (ctx.public_mode and ind.sensitivity == "internal"):
        return None
    rows = window.ranking.table_rows()
    sheet = Sheet(f"乡镇排名（{ind.name}）"[:31], [
        Column("排名", 6), Column("乡镇（街道）", 14, text=True),
        Column(_unit_header(ind.name, ind.unit), 16), Column("环比", 10),
        Column("环比单位", 10, text=True), Column("同比", 10), Column("同比单位", 10, text=True),
        Column("备注", 10, text=True)], note=_note(ctx, ctx.county_code, ind.definition))
    for rank, code, name, value, prev, yoy in rows:
        prev_n, prev_u = _shown(format_change(value, prev, ind, ctx.lang))
        yoy_n, yoy_u = _shown(format_change(value, yoy, ind, ctx.lang))
        sheet.rows.append([Number(rank) if rank else None, name, _value(value, ind), prev_n,
                           prev_u, yoy_n, yoy_u, "" if value is not None else "未报送"])
    return sheet


def _alerts_sheet(window) -> Sheet:
    ctx = window.ctx
    internal = {i.code for i in ctx.queries.indicators if i.sensitivity == "internal"}
    alerts = [a for a in window.alerts.shown_alerts()
              if not (ctx.public_mode and a.indicator in internal)]
    sheet = Sheet("预警列表", [
        Column("等级", 6, text=True), Column("期间", 12, text=True),
        Column("乡镇（街道）", 14, text=True), Column("指标", 20, text=True),
        Column("内容", 60, text=True), Column("状态", 10, text=True),
        Column("承办部门", 18, text=True), Column("办理期限", 12, text=True),
        Column("已逾期", 8, text=True)], note=_note(ctx, ctx.state.region))
    for a in alerts:
        sheet.rows.append([a.severity, a.period_label, a.region_name, a.indicator_name or "事件",
                           a.message, a.status, a.department or "", a.deadline or "",
                           "是" if a.overdue else ""])
    return sheet


def _detail_sheet(window) -> Sheet:
    ctx, detail = window.ctx, window.detail
    q = ctx.queries
    region, month = detail.region, detail.month
    is_county = region == ctx.county_code
    county = {r["indicator"]: r for r in q.township_profile(ctx.county_code, month)}
    own = county if is_county else {r["indicator"]: r for r in q.township_profile(region, month)}
    sheet = Sheet(f"指标全景（{ctx.region_name(region)}）", [
        Column("领域", 10, text=True), Column("指标", 24, text=True), Column("单位", 8, text=True),
        Column("数值", 12), Column("全县", 12), Column("排名", 6), Column("参与排名", 8),
        Column("同比", 10), Column("同比单位", 10, text=True), Column("目标进度（%）", 12),
        Column("数据期", 12, text=True), Column("备注", 14, text=True)],
        note=_note(ctx, region))
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
        sheet.rows.append([ctx.domain_name(ind.domain), texts["indicator"], ind.unit,
                           _value(source["value"] if source else None, ind),
                           _value(county_row["value"] if county_row else None, ind), rank, of,
                           yoy_n, yoy_u, progress, texts["period"],
                           "" if remark == "—" else remark])
    return sheet


def _plan_sheets(window) -> list[Sheet]:
    ctx, page = window.ctx, window.plan
    report = page.report
    if report is None:
        return [Sheet("规划目标", [Column("指标", 24, text=True)], note=_note(ctx))]
    plan = report.plan
    extra = f"{plan.label()} · 目标来源：{'；'.join(plan.sources)}"
    year = plan.target_year
    base_year = plan.baseline_year
    targets = Sheet(f"规划目标（{plan.name}）", [
        Column("指标", 24, text=True), Column("单位", 8, text=True),
        Column(f"基期值（{base_year}年）" if base_year else "基期值", 12),
        Column("基期来源", 12, text=True), Column("最新值", 12),
        Column("最新值期间", 20, text=True), Column(f"目标值（{year}年）", 12),
        Column("完成度（%）", 10), Column("状态", 10, text=True),
        Column(f"预测值（{year}年）", 12), Column("年度口径", 12, text=True),
        Column("目标来源", 40, text=True)], note=_note(ctx, ctx.county_code, extra))
    for a, texts in zip(report.assessments, page.row_texts()):
        ind = a.indicator
        share, _ = _shown(texts["attainment"])
        targets.rows.append([
            texts["indicator"], ind.unit, _value(a.baseline, ind),
            "据数据推算" if a.baseline_derived else ("规划" if a.baseline is not None else ""),
            _value(a.latest.value if a.latest else None, ind), texts["latest_when"],
            _value(a.target.target_value, ind), share, texts["status"],
            _value(a.projection, ind), texts["basis"], a.target.source])
    sheets = [targets]
    a = page.selected
    rows = page.townships.rows
    if a is not None and rows:
        ind = a.indicator
        unit = "个百分点" if ind.is_rate else ind.unit
        decimals = 2 if ind.is_rate else max(ind.decimals, 1)
        when = core_plan.figure_when(a.latest, ind)
        towns = Sheet(f"乡镇贡献（{ind.name}）"[:31], [
            Column("位次", 6), Column("乡镇（街道）", 14, text=True),
            Column(_unit_header(f"{ind.name} {when}", ind.unit), 22),
            Column(_unit_header("对全县与目标差距的拉动", unit), 22)],
            note=_note(ctx, ctx.county_code, extra))
        for r in rows:
            towns.rows.append([Number(r.rank), r.name, _value(r.latest_value, ind),
                               Number(round(r.pull, decimals), decimals)])
        sheets.append(towns)
    return sheets


def _quality_sheets(window) -> list[Sheet]:
    ctx, page = window.ctx, window.quality
    report = page.report_now()
    internal = {i.code for i in ctx.queries.indicators if i.sensitivity == "internal"}
    shown = [i for i in report.indicators if not (ctx.public_mode and i.code in internal)]
    window_text = f"统计 {month_label(report.window_start)} 至 {month_label(report.window_end)}"
    departments = Sheet("部门数据质量", [
        Column("牵头单位", 26, text=True), Column("指标数", 8), Column("完整率（%）", 10),
        Column("迟报指标数", 10), Column("最长迟报（月）", 12), Column("最新数据期", 14, text=True)],
        note=_note(ctx, None, window_text))
    for d in report.departments:
        completeness, _ = split_shown(d.completeness_label)
        departments.rows.append([
            d.department, Number(d.indicators), completeness, Number(d.late_indicators),
            Number(d.months_late or 0), month_label(d.last_period) if d.last_period else "—"])
    indicators = Sheet("指标数据质量", [
        Column("指标", 24, text=True), Column("牵头单位", 24, text=True),
        Column("频度", 8, text=True), Column("完整率（%）", 10), Column("及时性", 30, text=True),
        Column("最长迟报（月）", 12), Column("最新数据期", 14, text=True)],
        note=_note(ctx, None, window_text))
    freq = {"month": "月度", "quarter": "季度", "year": "年度"}
    for i in shown:
        completeness, _ = split_shown(i.completeness_label)
        indicators.rows.append([i.name, i.department, freq.get(i.frequency, i.frequency),
                                completeness, i.timeliness_label,
                                Number(i.months_late) if i.months_late is not None else None,
                                i.last_update_label])
    return [departments, indicators]
