"""规划目标: where the county stands on every target of a plan — baseline → latest → target,
attainment, status, projection — with the selected target's trajectory and the townships that pull
the county towards it or away from it.

Opened with the 规划目标 button (`CockpitWindow.show_plan`); the page follows the selection like any
panel: the period sets the month judged, the indicator the row shown in the chart, the region the
township marked in the ranked list; clicking a row or a township writes the selection back.
The chart and the list paint with plain functions (`paint_trajectory`, `paint_contributions`) so
the county briefing draws the same pictures on paper.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QSplitter, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
                               QVBoxLayout, QWidget)

from ..core import i18n
from ..core import plan as core
from ..core.formatting import format_difference, format_value, month_label, number
from ..warehouse import plans
from . import theme
from .context import OVERVIEW, CockpitContext
from .panel import Panel, TitleLabel, figure_table, signals_blocked

_TEXT = {
    "zh_CN": {
        "title": "规划目标", "close": "返回驾驶舱",
        "headers": ("指标", "基期", "最新", "目标", "完成度", "状态", "预测"),
        "source": "目标来源：{source}", "as_of": "评估月份：{month}",
        "ended": "规划期已结束：按 {year} 年全年数据终评",
        "running": "规划期内：按最新 12 个月的年度口径评估，并按趋势预测 {year} 年",
        "upcoming": "规划尚未开始",
        "table": "指标完成情况", "trajectory": "轨迹", "townships": "乡镇贡献",
        "townships_note": "对全县与目标差距的拉动（正值拉动，负值拖后）",
        "county_only": "该指标仅统计全县，没有乡镇数据",
        "no_townships": "暂无乡镇数据", "no_target": "本规划没有可显示的指标",
        "actual": "实际（滚动12个月）", "path": "规划路径",
        "projection": "趋势预测", "target": "目标", "baseline": "基期",
        "basis_note": "年度口径：流量指标取全年合计，比率与均值取全年平均，存量取年末值；"
                      "基期为空时按基期年数据推算。",
        "method": "预测方法：{method}。",
        "derived": "据 {year} 年数据推算（{basis}）",
        "tip_latest": "{when}，{basis}",
        "summary": "{mark} {word} {n}", "sep": "　·　",
    },
    "en": {
        "title": "Plan targets", "close": "Back to cockpit",
        "headers": ("Indicator", "Baseline", "Latest", "Target", "Attained", "Status",
                    "Projected"),
        "source": "Targets from: {source}", "as_of": "Judged as of {month}",
        "ended": "Plan ended: final judgement on {year} data",
        "running": "Plan running: latest 12 months on the annual basis, trend projected to {year}",
        "upcoming": "Plan not started",
        "table": "Targets", "trajectory": "Trajectory", "townships": "Township contributions",
        "townships_note": "pull on the county's distance to target (+ forward, − back)",
        "county_only": "County-level indicator: no township data",
        "no_townships": "No township data", "no_target": "No indicators to show in this plan",
        "actual": "Actual (rolling 12 months)", "path": "Planned path",
        "projection": "Projection", "target": "Target", "baseline": "Baseline",
        "basis_note": "Annual basis: flows are annual totals, rates and means annual means, "
                      "stocks year-end levels; an empty baseline is the baseline year's data.",
        "method": "Projection: {method}.",
        "derived": "From {year} data ({basis})",
        "tip_latest": "{when}, {basis}",
        "summary": "{mark} {word} {n}", "sep": "  ·  ",
    },
}

STATUS_COLORS = {core.MET: theme.GOOD, core.ON_TRACK: theme.ACCENT, core.BEHIND: theme.ACCENT_2,
                 core.MISSED: theme.BAD}
COLUMNS = ("indicator", "baseline", "latest", "target", "attainment", "status", "projection")
NAME, BASELINE, LATEST, TARGET, ATTAINMENT, STATUS, PROJECTION = range(len(COLUMNS))
SHARE_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
CODE_ROLE = Qt.ItemDataRole.UserRole + 3


def _text(lang: str) -> dict:
    return _TEXT["en" if lang == "en" else "zh_CN"]


# --- drawing, for the screen and for paper ---------------------------------------------------------
@dataclass(frozen=True)
class ChartPalette:
    background: str | None
    text: str
    dim: str
    grid: str
    actual: str
    path: str
    projection: str
    target: str
    latest: str
    good: str
    bad: str


DARK = ChartPalette(None, theme.TEXT, theme.TEXT_DIM, theme.GRID, theme.ACCENT, "#c7d6ea",
                    theme.ACCENT_2, theme.GOOD, theme.HIGHLIGHT, theme.GOOD, theme.BAD)
PRINT = ChartPalette("#ffffff", "#000000", "#555555", "#d0d0d0", "#000000", "#555555",
                     "#000000", "#000000", "#000000", "#333333", "#333333")


def _font(px: float, bold: bool = False) -> QFont:
    font = QFont(theme.load_font())
    font.setPixelSize(max(1, round(px)))
    font.setBold(bold)
    return font


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    base = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for k in (1, 2, 2.5, 5, 10):
        if raw <= k * base:
            return k * base
    return 10 * base


def paint_trajectory(p: QPainter, rect: QRectF, a: core.Assessment | None,
                     palette: ChartPalette = DARK, lang: str = "zh_CN", px: float = 13,
                     line: float = 1.0) -> None:
    """Actual rolling figures and calendar-year dots against the straight path from baseline to
    target, with the trend's projection to the target year. `line` scales pen widths (a PDF's
    device has many more dots per pixel)."""
    t = _text(lang)
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if palette.background:
        p.fillRect(rect, QColor(palette.background))
    if a is None or a.latest is None:
        p.setPen(QColor(palette.dim))
        p.setFont(_font(px))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, t["no_townships"] if a else "—")
        p.restore()
        return
    ind, target = a.indicator, a.target
    ty = float(target.target_year)
    by = float(target.baseline_year) if target.baseline_year else a.latest.t
    history = [f for f in a.history if min(by, a.latest.t - 5) - 1e-9 <= f.t <= ty + 1e-9]
    x0 = min([by] + [f.t for f in history[:1]])
    x1 = ty + 0.35
    values = [f.value for f in history] + [target.target_value]
    values += [v for v in (a.baseline, a.projection) if v is not None]
    if a.trend is not None:
        values.append(a.trend.at(max(a.trend.start, x0)))
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.12 or max(abs(hi) * 0.05, 1.0)
    lo, hi = lo - pad, hi + pad
    if ind.is_rate:
        hi = min(hi, 100.0 + pad * 0.4)

    fm = QFontMetricsF(_font(px))
    step = _nice_step(hi - lo)
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    labels = [number(v, decimals) for v in _ticks(lo, hi, step)]
    left = rect.left() + max(fm.horizontalAdvance(s) for s in labels) + 8 * line
    legend_h = fm.height() * 1.5
    plot = QRectF(left, rect.top() + legend_h, rect.right() - left - 6 * line,
                  rect.height() - legend_h - fm.height() * 1.6)

    def X(v: float) -> float:
        return plot.left() + (v - x0) / (x1 - x0) * plot.width()

    def Y(v: float) -> float:
        return plot.bottom() - (v - lo) / (hi - lo) * plot.height()

    p.setFont(_font(px))
    grid = QPen(QColor(palette.grid), 1.0 * line)
    for v in _ticks(lo, hi, step):
        p.setPen(grid)
        p.drawLine(QPointF(plot.left(), Y(v)), QPointF(plot.right(), Y(v)))
        p.setPen(QColor(palette.dim))
        p.drawText(QRectF(rect.left(), Y(v) - fm.height() / 2, left - rect.left() - 5 * line,
                          fm.height()), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   number(v, decimals))
    year_step = 1 if x1 - x0 <= 12 else 2
    for year in range(math.ceil(x0), int(ty) + 1, year_step):
        p.setPen(grid)
        p.drawLine(QPointF(X(year), plot.top()), QPointF(X(year), plot.bottom()))
        p.setPen(QColor(palette.dim))
        p.drawText(QRectF(X(year) - 40, plot.bottom() + 2 * line, 80, fm.height() * 1.3),
                   Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, str(year))

    # The straight path from baseline to target, and the target itself.
    if a.baseline is not None and target.baseline_year:
        pen = QPen(QColor(palette.path), 1.6 * line, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QPointF(X(by), Y(a.baseline)), QPointF(X(ty), Y(target.target_value)))
    p.setPen(QPen(QColor(palette.target), 2.0 * line))
    p.setBrush(Qt.BrushStyle.NoBrush)
    tx, tyv = X(ty), Y(target.target_value)
    diamond = QPainterPath()
    r = 6 * line
    diamond.moveTo(tx, tyv - r)
    diamond.lineTo(tx + r, tyv)
    diamond.lineTo(tx, tyv + r)
    diamond.lineTo(tx - r, tyv)
    diamond.closeSubpath()
    p.drawPath(diamond)

    # The projection, dotted, from the trend's line at the latest figure to the target year.
    if a.trend is not None and a.projection is not None:
        p.setPen(QPen(QColor(palette.projection), 2.0 * line, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(X(a.latest.t), Y(a.trend.at(a.latest.t))),
                   QPointF(X(ty), Y(a.projection)))
        p.setBrush(QColor(palette.projection))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(QPointF(X(ty), Y(a.projection)), 3.5 * line, 3.5 * line)

    # The actual rolling figures and the calendar years.
    if history:
        path = QPainterPath(QPointF(X(history[0].t), Y(history[0].value)))
        for f in history[1:]:
            path.lineTo(X(f.t), Y(f.value))
        p.setPen(QPen(QColor(palette.actual), 2.2 * line))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(palette.actual))
        for f in history:
            if f.calendar_year:
                p.drawEllipse(QPointF(X(f.t), Y(f.value)), 3.6 * line, 3.6 * line)
    if a.baseline is not None and target.baseline_year:
        p.setPen(QPen(QColor(palette.path), 1.6 * line))
        p.setBrush(QColor(palette.background or theme.PANEL))
        p.drawEllipse(QPointF(X(by), Y(a.baseline)), 4 * line, 4 * line)
    p.setPen(QPen(QColor(palette.background or theme.PANEL), 1.5 * line))
    p.setBrush(QColor(palette.latest))
    p.drawEllipse(QPointF(X(a.latest.t), Y(a.latest.value)), 5 * line, 5 * line)

    # Labels at the right end: target and projection, kept apart.
    p.setFont(_font(px * 0.95))
    target_label = f"{t['target']} {format_value(target.target_value, ind, lang)}"
    labels = [(tyv, target_label, palette.target)]
    if a.projection is not None:
        labels.append((Y(a.projection),
                       f"{t['projection']} {format_value(a.projection, ind, lang)}",
                       palette.projection))
    labels.sort()
    # Centred on their points, left of them, pushed apart so they never overlap.
    if len(labels) == 2 and labels[1][0] - labels[0][0] < fm.height():
        middle = (labels[0][0] + labels[1][0]) / 2
        labels = [(middle - fm.height() / 2, *labels[0][1:]),
                  (middle + fm.height() / 2, *labels[1][1:])]
    for y, text, colour in labels:
        width = fm.horizontalAdvance(text) + 4
        p.setPen(QColor(colour))
        p.drawText(QRectF(X(ty) - 12 * line - width, y - fm.height() / 2, width, fm.height()),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)

    # Legend across the top.
    items = [(palette.actual, "line", t["actual"]), (palette.path, "dash", t["path"]),
             (palette.projection, "dot", t["projection"]), (palette.target, "diamond",
                                                            t["target"])]
    x = plot.left()
    y = rect.top() + legend_h / 2
    p.setFont(_font(px * 0.9))
    for colour, kind, label in items:
        style = {"line": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine,
                 "dot": Qt.PenStyle.DotLine}.get(kind, Qt.PenStyle.SolidLine)
        p.setPen(QPen(QColor(colour), 2.0 * line, style))
        if kind == "diamond":
            p.drawRect(QRectF(x + 6 * line, y - 3 * line, 6 * line, 6 * line))
        else:
            p.drawLine(QPointF(x, y), QPointF(x + 18 * line, y))
        p.setPen(QColor(palette.dim))
        w = fm.horizontalAdvance(label)
        p.drawText(QRectF(x + 22 * line, y - fm.height() / 2, w + 4, fm.height()),
                   Qt.AlignmentFlag.AlignVCenter, label)
        x += 22 * line + w + 16 * line
    p.restore()


def _ticks(lo: float, hi: float, step: float) -> list[float]:
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


@dataclass(frozen=True)
class TownshipRow:
    rank: int
    code: str
    name: str
    latest: str
    pull: float
    pull_text: str
    latest_value: float


MIN_ROW = 1.25  # a row at least this many text heights tall


def contribution_rows(rect: QRectF, n: int, px: float) -> list[QRectF]:
    """Where the ranked list's rows go: as tall as the space allows, within reason."""
    height = QFontMetricsF(_font(px)).height()
    h = min(max(height * MIN_ROW, rect.height() / max(n, 1)), height * 2.0)
    return [QRectF(rect.left(), rect.top() + k * h, rect.width(), h) for k in range(n)]


def paint_contributions(p: QPainter, rect: QRectF, rows: list[TownshipRow | None],
                        selected: str | None = None, palette: ChartPalette = DARK,
                        px: float = 13, line: float = 1.0) -> None:
    """Ranked townships with bars diverging from zero (positive pulls towards the target)."""
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if palette.background:
        p.fillRect(rect, QColor(palette.background))
    fm = QFontMetricsF(_font(px))
    rects = contribution_rows(rect, len(rows), px)
    h = rects[0].height() if rects else 0.0
    real = [r for r in rows if r is not None]
    name_w = max([fm.horizontalAdvance(r.name) for r in real] + [0]) + 8 * line
    rank_w = fm.horizontalAdvance("188") + 8 * line
    value_w = max([fm.horizontalAdvance(r.latest) for r in real] + [0]) + 12 * line
    pull_w = max([fm.horizontalAdvance(r.pull_text) for r in real] + [0]) + 8 * line
    bar_left = rect.left() + rank_w + name_w + value_w
    bar_w = max(20.0, rect.right() - pull_w - bar_left)
    scale = max([abs(r.pull) for r in real] + [1e-12])
    zero = bar_left + bar_w / 2
    for r, row in zip(rows, rects):
        if r is None:
            p.setPen(QColor(palette.dim))
            p.setFont(_font(px))
            p.drawText(QRectF(row.left() + rank_w, row.top(), row.width(), h),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "⋯")
            continue
        is_selected = r.code == selected
        if is_selected:
            p.fillRect(row, QColor(theme.blend(theme.HIGHLIGHT, 40)) if palette is DARK
                       else QColor("#e8e8e8"))
        text_colour = QColor(palette.latest if is_selected else palette.text)
        p.setFont(_font(px, bold=is_selected))
        p.setPen(QColor(palette.dim))
        p.drawText(QRectF(row.left(), row.top(), rank_w - 6 * line, h),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(r.rank))
        p.setPen(text_colour)
        p.drawText(QRectF(row.left() + rank_w, row.top(), name_w, h),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, r.name)
        p.setPen(QColor(palette.dim if not is_selected else palette.latest))
        p.drawText(QRectF(row.left() + rank_w + name_w, row.top(), value_w - 10 * line, h),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, r.latest)
        width = bar_w / 2 * abs(r.pull) / scale
        bar = QRectF(zero if r.pull >= 0 else zero - width, row.top() + h * 0.28, width,
                     h * 0.44)
        colour = palette.good if r.pull >= 0 else palette.bad
        p.setPen(Qt.PenStyle.NoPen)
        if palette is PRINT and r.pull < 0:
            p.setBrush(QColor("#ffffff"))
            p.setPen(QPen(QColor(colour), 0.8 * line))
        else:
            p.setBrush(QColor(colour))
        p.drawRect(bar)
        p.setPen(QColor(colour) if palette is DARK else text_colour)
        p.drawText(QRectF(rect.right() - pull_w, row.top(), pull_w, h),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, r.pull_text)
    p.setPen(QPen(QColor(palette.dim), 1.0 * line))
    p.drawLine(QPointF(zero, rect.top()), QPointF(zero, rect.top() + len(rows) * h))
    p.restore()


def township_rows(queries, assessment: core.Assessment | None, lang: str = "zh_CN"
                  ) -> list[TownshipRow]:
    """The ranked list's rows: strongest pull first."""
    if assessment is None:
        return []
    ind = assessment.indicator
    by_code = queries.region_by_code
    out = []
    for k, c in enumerate(plans.township_contributions(queries, assessment), start=1):
        region = by_code.get(c.region)
        name = (region.name_en or region.name) if region and lang == "en" else \
            (region.name if region else c.region)
        out.append(TownshipRow(k, c.region, name, format_value(c.latest, ind, lang), c.pull,
                               format_difference(c.pull, ind, lang), c.latest))
    return out


def rows_that_fit(rows: list[TownshipRow], room: int, selected: str | None = None
                  ) -> list[TownshipRow | None]:
    """All rows if `room` lines hold them; else the strongest pulls, the selected township and
    the weakest, with None (a "⋯" line) where rows are left out."""
    if len(rows) <= room:
        return list(rows)
    index = next((k for k, r in enumerate(rows) if r.code == selected), None)
    inside = index is not None and 0 < index < len(rows) - 1
    lines = room - (3 if inside else 1)
    top = max(1, lines // 2)
    bottom = max(1, lines - top)
    if inside and (index < top or index >= len(rows) - bottom):
        inside = False
        top, bottom = max(1, (room - 1) // 2), max(1, room - 1 - max(1, (room - 1) // 2))
    out: list[TownshipRow | None] = list(rows[:top]) + [None]
    if inside:
        out += [rows[index], None]
    return out + list(rows[len(rows) - bottom:])


# --- widgets -----------------------------------------------------------------------------------------
class TrajectoryChart(QWidget):
    def __init__(self, lang: str, parent=None):
        super().__init__(parent)
        self.lang = lang
        self.assessment: core.Assessment | None = None
        self.px = 13.0
        self.setMinimumHeight(180)

    def set_assessment(self, a: core.Assessment | None) -> None:
        self.assessment = a
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        paint_trajectory(p, QRectF(self.rect()).adjusted(4, 4, -4, -4), self.assessment, DARK,
                         self.lang, self.px)
        p.end()


class ContributionList(QWidget):
    township_clicked = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[TownshipRow] = []
        self.selected: str | None = None
        self.message = ""
        self.px = 13.0
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMouseTracking(True)

    def set_rows(self, rows: list[TownshipRow], message: str = "") -> None:
        self.rows, self.message = rows, message
        self.update()

    def set_selected(self, code: str | None) -> None:
        if code != self.selected:
            self.selected = code
            self.update()

    def shown_rows(self) -> list[TownshipRow | None]:
        """The rows drawn: every township when they fit, else the ends and the selected one."""
        height = QFontMetricsF(_font(self.px)).height() * MIN_ROW
        return rows_that_fit(self.rows, max(5, int(self.height() / height)), self.selected)

    def row_rect(self, code: str) -> QRectF:
        shown = self.shown_rows()
        rects = contribution_rows(QRectF(self.rect()), len(shown), self.px)
        return rects[[r.code if r else None for r in shown].index(code)]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if not self.rows:
            p.setPen(QColor(theme.TEXT_DIM))
            p.setFont(_font(self.px))
            p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter, self.message)
        else:
            paint_contributions(p, QRectF(self.rect()), self.shown_rows(), self.selected, DARK,
                                self.px)
        p.end()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            pos = event.position()
            shown = self.shown_rows()
            rects = contribution_rows(QRectF(self.rect()), len(shown), self.px)
            for row, rect in zip(shown, rects):
                if row is not None and rect.contains(pos):
                    self.township_clicked.emit(row.code)
                    event.accept()
                    return
        super().mouseReleaseEvent(event)


class _PlanModel(QAbstractTableModel):
    def __init__(self, lang: str, parent=None):
        super().__init__(parent)
        self.lang = lang
        self.text = _text(lang)
        self.assessments: list[core.Assessment] = []
        self.texts: list[dict[str, str]] = []
        self.headers = list(self.text["headers"])

    def set_report(self, report: plans.PlanReport | None) -> None:
        self.beginResetModel()
        self.assessments = list(report.assessments) if report else []
        self.texts = [core.describe(a, self.lang) for a in self.assessments]
        if report and report.assessments:
            t = report.assessments[0].target
            head = list(self.text["headers"])
            year = " {y}" if self.lang == "en" else "（{y}年）"
            if t.baseline_year:
                head[BASELINE] += year.format(y=t.baseline_year)
            head[TARGET] += year.format(y=report.plan.target_year)
            ends = {a.latest.end for a in report.assessments if a.latest}
            if len(ends) == 1 and next(iter(ends)).month == 12:
                head[LATEST] += year.format(y=next(iter(ends)).year)
            else:
                head[LATEST] += " (annual basis)" if self.lang == "en" else "（年度口径）"
            head[PROJECTION] += year.format(y=report.plan.target_year)
            self.headers = head
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.assessments)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(section)
        return None

    @staticmethod
    def _alignment(col: int):
        if col in (BASELINE, LATEST, TARGET, PROJECTION):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        a, texts, col = self.assessments[index.row()], self.texts[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == STATUS:
                return f"{texts['mark']} {texts['status']}"
            return texts[COLUMNS[col]]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == BASELINE and a.baseline_derived or col == PROJECTION:
                return QColor(theme.TEXT_DIM)
            if col == STATUS:
                return QColor(STATUS_COLORS.get(a.status, theme.TEXT_DIM))
            return QColor(theme.TEXT)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(a, texts)
        if role == SHARE_ROLE:
            return a.attainment
        if role == STATUS_ROLE:
            return a.status
        if role == CODE_ROLE:
            return a.code
        return None

    def _tooltip(self, a: core.Assessment, texts: dict) -> str:
        t = self.text
        lines = [f"<b>{texts['indicator']}</b>",
                 t["tip_latest"].format(when=texts["latest_when"], basis=texts["basis"])]
        if a.baseline_derived:
            lines.append(t["derived"].format(year=a.target.baseline_year, basis=texts["basis"]))
        if a.target.source:
            lines.append(plans.source_in(a.target.source, self.lang))
        lines.append(core.projection_method(a.indicator, self.lang))
        return "<br>".join(lines)


class _PlanDelegate(QStyledItemDelegate):
    """The attainment bar and the status word on its coloured chip."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        col = index.column()
        if col not in (ATTAINMENT, STATUS):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(opt.rect).adjusted(8, 0, -8, 0)
        status = index.data(STATUS_ROLE)
        colour = QColor(STATUS_COLORS.get(status, theme.TEXT_DIM))
        fm = opt.fontMetrics
        if col == ATTAINMENT:
            share = index.data(SHARE_ROLE)
            label_w = fm.horizontalAdvance("−100%") + 6
            thick = max(5.0, round(fm.height() * 0.32))
            bar = QRectF(rect.left(), rect.center().y() - thick / 2,
                         max(10.0, rect.width() - label_w), thick)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.GRID))
            painter.drawRoundedRect(bar, thick / 2, thick / 2)
            if share is not None and share > 0:
                filled = QRectF(bar.left(), bar.top(), bar.width() * min(share, 1.0), thick)
                painter.setBrush(colour)
                painter.drawRoundedRect(filled, thick / 2, thick / 2)
            painter.setPen(colour)
            painter.drawText(QRectF(bar.right() + 4, rect.top(), label_w, rect.height()),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)
        else:
            width = fm.horizontalAdvance(text) + 16
            chip = QRectF(rect.left(), rect.center().y() - fm.height() * 0.62, width,
                          fm.height() * 1.24)
            painter.setPen(QPen(colour, 1.2))
            painter.setBrush(theme.blend(STATUS_COLORS.get(status, theme.TEXT_DIM), 46))
            painter.drawRoundedRect(chip, 3, 3)
            painter.setPen(colour if status != core.MET else QColor(theme.TEXT))
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


_TABLE_STYLE = f"""
QTableView#planTable {{ background: transparent; border: none; }}
QTableView#planTable::item {{ padding: 0px 6px; border-bottom: 1px solid {theme.GRID}; }}
QTableView#planTable::item:selected {{ background-color: #123a5c; }}
QTableView#planTable QHeaderView::section {{ border-right: none; padding: 4px 8px; }}
"""


class PlanPage(Panel):
    """Every target of the chosen plan, judged as of the selected month."""

    fields = frozenset({"period", "indicator", "region"})
    TEXT = _TEXT
    closed = Signal()

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("planPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(f"QFrame#planPage {{ background-color: {theme.BG}; }}")
        self.text = t = self.t
        self.report: plans.PlanReport | None = None
        self.selected: core.Assessment | None = None   # the row shown in chart and list
        self._plans: list[plans.Plan] = []
        self._chosen: str | None = None      # a plan the user picked; None: the month's plan
        self._cache: dict[tuple, plans.PlanReport] = {}

        header = QFrame(self, objectName="headerBar")
        self.title = QLabel(t["title"], header)
        self.title.setStyleSheet(f"color: {theme.HIGHLIGHT};")
        self.plan_picker = QComboBox(header)
        self.plan_picker.currentIndexChanged.connect(self._on_plan_picked)
        self.plan_label = QLabel(header)
        self.source_label = QLabel(header)
        self.source_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.source_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary_label = QLabel(header)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.close_button = QPushButton(t["close"], header, objectName="primary")
        self.close_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button.clicked.connect(self.closed.emit)
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(self.title)
        top.addWidget(self.plan_label)
        top.addWidget(self.plan_picker)
        top.addSpacing(8)
        top.addWidget(self.summary_label)
        top.addStretch(1)
        top.addWidget(self.close_button)
        bar = QVBoxLayout(header)
        bar.setContentsMargins(16, 8, 16, 8)
        bar.setSpacing(2)
        bar.addLayout(top)
        bar.addWidget(self.source_label)

        table_panel = QFrame(self, objectName="panel")
        self.table_title = QLabel(t["table"], table_panel, objectName="panelTitle")
        self.model = _PlanModel(ctx.lang, self)
        self.view = figure_table(table_panel, "planTable", _TABLE_STYLE, self.model,
                                 _PlanDelegate, len(COLUMNS), ATTAINMENT)
        self.view.clicked.connect(self._on_row_clicked)
        self.footnote = QLabel(table_panel)
        self.footnote.setWordWrap(True)
        self.footnote.setStyleSheet(f"color: {theme.TEXT_DIM};")
        table_layout = QVBoxLayout(table_panel)
        table_layout.setContentsMargins(12, 10, 12, 8)
        table_layout.setSpacing(6)
        table_layout.addWidget(self.table_title)
        table_layout.addWidget(self.view, 1)
        table_layout.addWidget(self.footnote)

        chart_panel = QFrame(self, objectName="panel")
        self.chart_title = TitleLabel(parent=chart_panel)
        self.chart = TrajectoryChart(ctx.lang, chart_panel)
        chart_layout = QVBoxLayout(chart_panel)
        chart_layout.setContentsMargins(12, 10, 12, 8)
        chart_layout.addWidget(self.chart_title)
        chart_layout.addWidget(self.chart, 1)

        towns_panel = QFrame(self, objectName="panel")
        self.towns_title = TitleLabel(parent=towns_panel)
        self.towns_note = QLabel(t["townships_note"], towns_panel)
        self.towns_note.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.townships = ContributionList(towns_panel)
        self.townships.township_clicked.connect(self._on_township_clicked)
        towns_layout = QVBoxLayout(towns_panel)
        towns_layout.setContentsMargins(12, 10, 12, 8)
        towns_layout.addWidget(self.towns_title)
        towns_layout.addWidget(self.towns_note)
        towns_layout.addWidget(self.townships, 1)

        right = QSplitter(Qt.Orientation.Vertical, self)
        right.setChildrenCollapsible(False)
        right.addWidget(chart_panel)
        right.addWidget(towns_panel)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        split.addWidget(table_panel)
        split.addWidget(right)
        split.setStretchFactor(0, 11)
        split.setStretchFactor(1, 9)
        split.setStyleSheet("QSplitter::handle { background: transparent; }")
        self.splitter, self.side = split, right
        self._sized = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        body = QVBoxLayout()
        body.setContentsMargins(10, 10, 10, 10)
        body.addWidget(split, 1)
        layout.addLayout(body, 1)

        self._apply_fonts()
        self.sync()

    # -- selection ----------------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        if "period" in changed:   # another month: the plan's judgement changes
            self.refresh()
            return
        if "indicator" in changed:
            self._show_selected()
        if "region" in changed:
            self.townships.set_selected(state.region)

    def on_reload(self) -> None:
        self._cache.clear()
        self.refresh()

    def showEvent(self, event) -> None:
        if not self._sized and self.width() > 0:
            # The table wants most of the width; the township list more height than the chart.
            self._sized = True
            total, height = self.splitter.width(), self.side.height()
            self.splitter.setSizes([int(total * 0.58), total - int(total * 0.58)])
            self.side.setSizes([int(height * 0.45), height - int(height * 0.45)])
        super().showEvent(event)   # catches up on what changed while hidden

    def _on_plan_picked(self, index: int) -> None:
        if index < 0 or index >= len(self._plans):
            return
        name = self._plans[index].name
        month_plan = plans.default_plan(self._plans, self.ctx.state.period)
        self._chosen = None if month_plan and month_plan.name == name else name
        self.refresh()

    def _on_row_clicked(self, index: QModelIndex) -> None:
        code = index.data(CODE_ROLE)
        if not code:
            return
        ind = self.ctx.indicator(code)
        changes = {"indicator": code}
        if self.ctx.state.domain not in (OVERVIEW, ind.domain):
            changes["domain"] = ind.domain
        self.ctx.select(**changes)

    def _on_township_clicked(self, code: str) -> None:
        self.ctx.select(region=code)

    # -- data ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        ctx, t = self.ctx, self.text
        q, month = ctx.queries, ctx.state.period
        self._plans = plans.available_plans(q)
        plan = plans.find_plan(self._plans, self._chosen, month) or \
            plans.default_plan(self._plans, month)
        with signals_blocked(self.plan_picker):
            self.plan_picker.clear()
            for p in self._plans:
                self.plan_picker.addItem(p.label(ctx.lang))
            if plan is not None:
                self.plan_picker.setCurrentIndex(self._plans.index(plan))
        several = len(self._plans) > 1
        self.plan_picker.setVisible(several)
        self.plan_label.setVisible(not several)
        if plan is None:
            self.report = None
            self.model.set_report(None)
            self.plan_label.setText("")
            self.source_label.setText(t["no_target"])
            self.summary_label.clear()
            self._show_selected()
            return
        key = (plan.name, month, ctx.public_mode)
        if key not in self._cache:
            if len(self._cache) > 48:
                self._cache.clear()
            self._cache[key] = plans.plan_report(q, plan, month, ctx.public_mode)
        self.report = report = self._cache[key]
        self.model.set_report(report)
        # An ended plan has nothing left to project.
        self.view.setColumnHidden(PROJECTION, all(a.ended for a in report.assessments))
        self.plan_label.setText(plan.label(ctx.lang))
        if month.year > plan.target_year or any(a.ended for a in report.assessments):
            stage = t["ended"].format(year=plan.target_year)
        elif plan.baseline_year and month.year <= plan.baseline_year:
            stage = t["upcoming"]
        else:
            stage = t["running"].format(year=plan.target_year)
        self.source_label.setText(
            t["sep"].join([t["source"].format(source=plan.source_text(lang=ctx.lang)),
                           t["as_of"].format(month=month_label(month, ctx.lang)), stage]))
        self.source_label.setToolTip("\n".join(plans.source_in(s, ctx.lang)
                                               for s in plan.sources))
        counts = report.counts()
        parts = []
        for status in core.STATUSES:
            n = counts[status]
            colour = STATUS_COLORS[status] if n else theme.TEXT_DIM
            word = core.STATUS_WORDS[status][1 if ctx.lang == "en" else 0]
            parts.append(f"<span style='color:{colour}'>"
                         + t["summary"].format(mark=core.STATUS_MARKS[status], word=word,
                                               n=f"<b>{n}</b>") + "</span>")
        self.summary_label.setText("&nbsp;&nbsp;&nbsp;".join(parts))
        note = t["basis_note"]
        if not all(a.ended for a in report.assessments):
            method = core.PROJECTION_METHOD["en" if ctx.lang == "en" else "zh_CN"]
            note += " " + t["method"].format(method=method)
        self.footnote.setText(note)
        self._fit_columns()
        self._show_selected()

    def _show_selected(self) -> None:
        """The chart and the township list of the selected indicator (else the first row)."""
        t = self.text
        report = self.report
        a = report.get(self.ctx.state.indicator) if report else None
        if a is None and report and report.assessments:
            a = report.assessments[0]
        self.selected = a
        if a is not None:
            row = report.assessments.index(a)
            if not self.view.selectionModel().isRowSelected(row, QModelIndex()):
                self.view.selectRow(row)
            self.view.scrollTo(self.model.index(row, 0))
        name = self.ctx.tr_name(a.indicator) if a else ""
        unit = f"（{a.indicator.unit}）" if a and self.ctx.lang != "en" else \
            (f" ({i18n.unit(a.indicator.unit, 'en')})" if a and a.indicator.unit else "")
        self.chart_title.setText(f"{t['trajectory']} · {name}{unit}" if a else t["trajectory"])
        self.chart.set_assessment(a)
        self.towns_title.setText(f"{t['townships']} · {name}" if a else t["townships"])
        if a is None:
            self.townships.set_rows([], t["no_target"])
        elif a.indicator.county_only:
            self.townships.set_rows([], t["county_only"])
        else:
            rows = township_rows(self.ctx.queries, a, self.ctx.lang)
            self.townships.set_rows(rows, "" if rows else t["no_townships"])
        self.townships.set_selected(self.ctx.state.region)

    # -- layout ----------------------------------------------------------------------------------------
    def apply_scale(self) -> None:
        self._apply_fonts()
        self._fit_columns()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _apply_fonts(self) -> None:
        s = self.scale
        self.title.setFont(theme.font(max(20, 26 * s), bold=True))
        self.plan_label.setFont(theme.font(max(16, 20 * s), bold=True))
        self.summary_label.setFont(theme.font(max(14, 17 * s)))
        self.source_label.setFont(theme.font(max(12, 14 * s)))
        self.footnote.setFont(theme.font(max(12, 13 * s)))
        self.towns_note.setFont(theme.font(max(12, 13 * s)))
        self.chart.px = max(12, 14 * s)
        self.townships.px = max(12, 15 * s)
        self.chart.update()
        self.townships.update()

    def _fit_columns(self) -> None:
        fm = self.view.fontMetrics()
        pad = 24
        if not self.model.texts:
            return

        def widest(col: int, *extra: str) -> int:
            key = COLUMNS[col]
            texts = [row[key] for row in self.model.texts] + [self.model.headers[col], *extra]
            return max(fm.horizontalAdvance(s) for s in texts) + pad

        for col in (NAME, BASELINE, LATEST, TARGET, PROJECTION):
            self.view.setColumnWidth(col, widest(col))
        # On a laptop the bar keeps room to be read: names give way (elided, full in the tip).
        room = self.view.viewport().width() - sum(
            self.view.columnWidth(c) for c in range(len(COLUMNS))
            if c != ATTAINMENT and not self.view.isColumnHidden(c))
        need = fm.horizontalAdvance("−100%") + 80
        if room < need:
            self.view.setColumnWidth(NAME, max(fm.horizontalAdvance("指标名称…") + pad,
                                               self.view.columnWidth(NAME) - (need - room)))
        self.view.setColumnWidth(STATUS, fm.horizontalAdvance("○ 有望达成") + 40)
        self.view.verticalHeader().setDefaultSectionSize(max(fm.height() + 12, 22))

    # -- public state for tests, the export and the wall ----------------------------------------------
    @property
    def plan(self) -> plans.Plan | None:
        return self.report.plan if self.report else None

    def plan_names(self) -> list[str]:
        return [p.name for p in self._plans]

    def choose_plan(self, name: str) -> None:
        self.plan_picker.setCurrentIndex(self.plan_names().index(name))

    def row_texts(self) -> list[dict[str, str]]:
        """What each row shows, with the code of its indicator."""
        return [dict(texts, code=a.code) for a, texts in zip(self.model.assessments,
                                                             self.model.texts)]

    def township_texts(self) -> list[tuple[str, str, str]]:
        """(name, latest, pull) of the ranked list, top first."""
        return [(r.name, r.latest, r.pull_text) for r in self.townships.rows]

    def header_text(self) -> str:
        return " · ".join(filter(None, [self.title.text(), self.plan_label.text(),
                                        self.source_label.text()]))

    def sizeHint(self) -> QSize:
        return QSize(1400, 800)
