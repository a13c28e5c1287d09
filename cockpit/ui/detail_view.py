"""The township detail page: every indicator of one township against the county, with its rank,
change, target progress and trend, and the township's recent events beside them.

Opened from the map (double-click) or the 详情 button; the main window swaps it in and listens to
`closed` to swap back. It follows the selection while shown and catches up when shown again.
"""
from __future__ import annotations

import math
from datetime import date

import numpy as np
from PySide6.QtCore import (QAbstractTableModel, QEvent, QModelIndex, QPointF, QRectF, QSize, Qt,
                            Signal)
from PySide6.QtGui import QBrush, QLinearGradient, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QLabel, QPushButton,
                               QSplitter, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
                               QVBoxLayout, QWidget)

from ..core import i18n
from ..core.catalogue import DOMAINS, Indicator
from ..core.formatting import (format_change, format_value, month_label,
                               period_label, target_progress, trend_verdict)
from . import theme
from .context import CockpitContext
from .events_panel import EventsPanel
from .panel import Panel, figure_table

SPARK_PERIODS = 24
TREND_MIN_WIDTH = 110   # px of sparkline still worth drawing
EVENTS_MIN_WIDTH = 500  # px the events list needs beside the table; below that it goes under

COLUMNS = ("indicator", "value", "county", "rank", "yoy", "progress", "trend")
NAME, VALUE, COUNTY, RANK, YOY, PROGRESS, TREND = range(len(COLUMNS))

# Custom roles the delegate paints from.
KIND_ROLE = Qt.ItemDataRole.UserRole + 1       # "section" | "indicator"
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2   # float share of target, or None
SPARK_ROLE = Qt.ItemDataRole.UserRole + 3      # np.ndarray of values, oldest first
SECTION_NOTE_ROLE = Qt.ItemDataRole.UserRole + 4
CODE_ROLE = Qt.ItemDataRole.UserRole + 5

_TEXT = {
    "zh_CN": {
        "headers": ("指标", "数值", "全县", "排名", "同比", "目标进度", f"近{SPARK_PERIODS}期"),
        "back_county": "返回全县", "back_to": "返回{whole}", "close": "返回驾驶舱",
        "kind": {"街道": "街道", "镇": "镇", "乡": "乡", "县": "县"},
        "population": "人口 {v:.1f} 万", "area": "面积 {v:,.1f} km²",
        "table_title": "指标全景", "county_only": "仅全县", "not_reported": "未报送",
        "rank_legend": "排名：", "legend_top": "前三分之一", "legend_bottom": "后三分之一",
        "summary": "排名前三分之一 {top} 项 · 后三分之一 {bottom} 项",
        "section_count": "{n} 项", "section_bottom": "靠后 {n} 项",
        "tip_period": "数据期", "tip_unit": "单位", "tip_department": "牵头单位",
        "tip_definition": "口径", "tip_target": "目标", "tip_county_only": "该指标仅统计全县，显示全县数值",
        "tip_stale": "本期未报送，显示最近一期（{period}）的数值，排名不参与本期比较",
        "tip_internal": "内部指标（公开演示模式下隐藏）",
        "no_target": "—", "target_year": "{year}年 ",
        "colon": "：", "gap": "　", "facts_sep": "　·　",
    },
    "en": {
        "headers": ("Indicator", "Value", "County", "Rank", "YoY", "Target",
                    f"Last {SPARK_PERIODS}"),
        "back_county": "Back to county", "back_to": "Back to {whole}", "close": "Back to cockpit",
        "kind": {"街道": "subdistrict", "镇": "town", "乡": "township", "县": "county"},
        "population": "pop. {people:,.0f}", "area": "{v:,.1f} km²",
        "table_title": "All indicators", "county_only": "county", "not_reported": "missing",
        "rank_legend": "Rank: ", "legend_top": "top third", "legend_bottom": "bottom third",
        "summary": "top third: {top} · bottom third: {bottom}",
        "section_count": "{n}", "section_bottom": "{n} low",
        "tip_period": "Period", "tip_unit": "Unit", "tip_department": "Department",
        "tip_definition": "Definition", "tip_target": "Target",
        "tip_county_only": "Reported for the county only; the county figure is shown",
        "tip_stale": "Not reported this period: latest value ({period}) shown, not ranked",
        "tip_internal": "Internal indicator (hidden in public mode)",
        "no_target": "—", "target_year": "{year}: ",
        "colon": ": ", "gap": "&nbsp;&nbsp;&nbsp;", "facts_sep": "  ·  ",
    },
}


def _text(lang: str) -> dict:
    return _TEXT["en" if lang == "en" else "zh_CN"]


def _progress_color(share: float) -> str:
    if share >= 1.0:
        return theme.GOOD
    if share >= 0.9:
        return theme.ACCENT
    if share >= 0.7:
        return theme.ACCENT_2
    return theme.BAD


def progress_text(share: float) -> str:
    # Round down below the target: "100%" must mean the target is met.
    percent = share * 100
    return f"{math.floor(percent) if share < 1 else round(percent):.0f}%"


def rank_class(rank: int | None, of: int | None, indicator: Indicator) -> int:
    """+1 top third, -1 bottom third, 0 otherwise; a neutral indicator's rank is only an order."""
    if not rank or not of or indicator.polarity == "neutral":
        return 0
    if rank <= of / 3:
        return 1
    if rank > of * 2 / 3:
        return -1
    return 0


_VERDICT_COLORS = {1: theme.GOOD, -1: theme.BAD}
# The item colours of assets/theme.qss (hover, selection) and the ledger rule between rows.
_HOVER = theme.color("#10284a")
_SELECTED = theme.color("#0f4766")
_SELECTED_TEXT = theme.color("#ffffff")
_RULE = theme.color(theme.GRID)
_SPARK_PEN = QPen(theme.color(theme.ACCENT), 1.4)
_SPARK_MARGIN = 4


class _ProfileModel(QAbstractTableModel):
    """Section rows (one per domain) followed by that domain's indicator rows.

    The row structure depends only on the catalogue, so a region or period change updates the
    cells in place (one dataChanged) and the spans set on section rows stay valid.
    """

    def __init__(self, lang: str, parent=None):
        super().__init__(parent)
        self.text = _text(lang)
        self.rows: list[tuple] = []          # ("section", domain, title) | ("indicator", Indicator)
        self.cells: dict[str, dict] = {}     # indicator code -> computed cell values
        self.section_notes: dict[str, str] = {}

    def set_structure(self, rows: list[tuple]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.cells = {}
        self.endResetModel()

    def set_cells(self, cells: dict[str, dict], section_notes: dict[str, str]) -> None:
        self.cells = cells
        self.section_notes = section_notes
        if self.rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self.rows) - 1, len(COLUMNS) - 1))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text["headers"][section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(section)
        return None

    @staticmethod
    def _alignment(col: int):
        if col in (VALUE, COUNTY, YOY):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if col == RANK:
            return Qt.AlignmentFlag.AlignCenter
        return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

    def flags(self, index):
        if index.isValid() and self.rows[index.row()][0] == "section":
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == KIND_ROLE:
            return row[0]
        if row[0] == "section":
            if role == Qt.ItemDataRole.DisplayRole and col == 0:
                return row[2]
            if role == SECTION_NOTE_ROLE:
                return self.section_notes.get(row[1], "")
            return None
        cell = self.cells.get(row[1].code)
        if role == CODE_ROLE:
            return row[1].code
        if cell is None:
            return None
        key = COLUMNS[col]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell["texts"].get(key, "")
        if role == Qt.ItemDataRole.ForegroundRole:
            return theme.color(cell["colors"].get(key, theme.TEXT))
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell["tooltip"]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._alignment(col)
        if role == PROGRESS_ROLE:
            return cell["progress"]
        if role == SPARK_ROLE:
            return cell["spark"]
        return None


class _ProfileDelegate(QStyledItemDelegate):
    """Paints every cell itself: the section bands, the rows ruled like a ledger, text, the
    target-progress bars and the sparklines.

    The style sheet's item painting (QStyleSheetStyle, once per cell, through Python for every
    role it asks the model) made the detail page's table cost ~115 ms of CPU per selection on
    the shared 2-core machine, two thirds of a selection with the page open; reading the model's
    cells directly and caching each sparkline's paths leaves the drawing itself."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        model = index.model()
        row = model.rows[index.row()]
        if row[0] == "section":
            self._paint_section(painter, option, index)
            return
        rect = option.rect
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, _SELECTED)
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(rect, _HOVER)
        painter.fillRect(rect.left(), rect.bottom(), rect.width(), 1, _RULE)
        cell = model.cells.get(row[1].code)
        if cell is None:
            return
        col = index.column()
        if col == PROGRESS or col == TREND:
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setFont(option.font)
            area = QRectF(rect).adjusted(8, 0, -8, 0)
            if col == PROGRESS:
                self._paint_progress(painter, area, cell["progress"], option)
            else:
                self._paint_spark(painter, area.adjusted(0, 7, -3, -7), cell)
            painter.restore()
            return
        key = COLUMNS[col]
        text_rect = rect.adjusted(9, 0, -9, 0)   # the sheet's 6 px padding and the style's 3
        text = option.fontMetrics.elidedText(cell["texts"].get(key, ""),
                                             Qt.TextElideMode.ElideRight, text_rect.width())
        painter.setFont(option.font)
        painter.setPen(_SELECTED_TEXT if selected
                       else theme.color(cell["colors"].get(key, theme.TEXT)))
        painter.drawText(text_rect, model._alignment(col), text)

    @staticmethod
    def _paint_section(painter: QPainter, option, index) -> None:
        painter.save()
        rect = QRectF(option.rect)
        gradient = QLinearGradient(rect.topLeft(), rect.topRight())
        gradient.setColorAt(0.0, theme.color(theme.ACCENT, 46))
        gradient.setColorAt(0.6, theme.color(theme.ACCENT, 10))
        gradient.setColorAt(1.0, theme.color(theme.ACCENT, 0))
        painter.fillRect(rect, QBrush(gradient))
        painter.fillRect(QRectF(rect.left(), rect.top() + 5, 3, rect.height() - 10),
                         theme.color(theme.ACCENT))
        font = theme.font(max(12, option.font.pixelSize() + 1), bold=True)
        painter.setFont(font)
        painter.setPen(theme.color("#7fe3ff"))
        text_rect = rect.adjusted(14, 0, -10, 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         index.data(Qt.ItemDataRole.DisplayRole) or "")
        title_w = painter.fontMetrics().horizontalAdvance(
            index.data(Qt.ItemDataRole.DisplayRole) or "")
        note = index.data(SECTION_NOTE_ROLE) or ""
        if note:
            painter.setFont(theme.font(max(11, option.font.pixelSize() - 2)))
            # note is "12 项" optionally followed by "|靠后 2 项"
            parts = note.split("|")
            x = text_rect.left() + title_w + 14
            for k, part in enumerate(parts):
                painter.setPen(theme.color(theme.TEXT_DIM if k == 0 else theme.BAD))
                w = painter.fontMetrics().horizontalAdvance(part)
                painter.drawText(QRectF(x, rect.top(), w + 2, rect.height()),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, part)
                x += w + 12
        painter.restore()

    @staticmethod
    def _paint_progress(painter: QPainter, rect: QRectF, share, opt) -> None:
        fm = opt.fontMetrics
        if share is None or (isinstance(share, float) and math.isnan(share)):
            painter.setPen(theme.color(theme.TEXT_DIM))
            painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "—")
            return
        label = progress_text(share)
        label_w = fm.horizontalAdvance("100%") + 6
        thick = max(4.0, round(fm.height() * 0.3))
        bar = QRectF(rect.left(), rect.center().y() - thick / 2,
                     max(10.0, rect.width() - label_w), thick)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color(theme.GRID))
        painter.drawRoundedRect(bar, thick / 2, thick / 2)
        color = _progress_color(share)
        filled = QRectF(bar.left(), bar.top(), bar.width() * max(0.0, min(share, 1.0)),
                        bar.height())
        if filled.width() > 0.5:
            painter.setBrush(theme.color(color))
            painter.drawRoundedRect(filled, thick / 2, thick / 2)
        painter.setPen(theme.color(color))
        painter.drawText(QRectF(bar.right() + 4, rect.top(), label_w, rect.height()),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, label)

    @staticmethod
    def _spark_paths(values, width: float, height: float):
        """(line, filled area or None, last point) of a sparkline in a width × height box at
        the origin, or None when there is nothing to draw."""
        if values is None or len(values) == 0:
            return None
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)
        if not finite.any():
            return None
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        span = hi - lo
        n = len(values)
        step = width / max(n - 1, 1)

        def point(k: int) -> QPointF:
            y = 0.5 if span == 0 else (values[k] - lo) / span
            return QPointF(k * step, height - y * height)

        line = QPainterPath()
        pen_down = False
        for k in range(n):
            if not finite[k]:
                pen_down = False
                continue
            if pen_down:
                line.lineTo(point(k))
            else:
                line.moveTo(point(k))
                pen_down = True
        area = None
        if finite.all() and n > 1:
            area = QPainterPath(line)
            area.lineTo(QPointF(width, height))
            area.lineTo(QPointF(0, height))
            area.closeSubpath()
        return line, area, point(int(np.flatnonzero(finite)[-1]))

    @classmethod
    def _paint_spark(cls, painter: QPainter, rect: QRectF, cell: dict) -> None:
        # Drawn once per cell and size into a pixmap (an antialiased path and its gradient
        # cost ~1.5 ms each; a selection repaints every visible row).
        ratio = painter.device().devicePixelRatioF()
        size = (round(rect.width()), round(rect.height()), ratio)
        cached = cell.get("spark_pixmap")
        if cached is None or cached[0] != size:
            cached = cell["spark_pixmap"] = (size, cls._render_spark(cell["spark"], *size))
        if cached[1] is not None:
            painter.drawPixmap(QPointF(rect.left() - _SPARK_MARGIN, rect.top() - _SPARK_MARGIN),
                               cached[1])

    @classmethod
    def _render_spark(cls, values, width: int, height: int, ratio: float) -> QPixmap | None:
        paths = cls._spark_paths(values, width, height)
        if paths is None or width < 1 or height < 1:
            return None
        line, area, last = paths
        # A margin all round: the last point's dot and the line's width reach past the box.
        outer = (width + 2 * _SPARK_MARGIN, height + 2 * _SPARK_MARGIN)
        pixmap = QPixmap(round(outer[0] * ratio), round(outer[1] * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(_SPARK_MARGIN, _SPARK_MARGIN)
        if area is not None:
            gradient = QLinearGradient(QPointF(0, 0), QPointF(0, height))
            gradient.setColorAt(0.0, theme.color(theme.ACCENT, 70))
            gradient.setColorAt(1.0, theme.color(theme.ACCENT, 0))
            painter.fillPath(area, QBrush(gradient))
        painter.setPen(_SPARK_PEN)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(line)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.color(theme.HIGHLIGHT))
        painter.drawEllipse(last, 2.6, 2.6)
        painter.end()
        return pixmap


_TABLE_STYLE = """
QTableView#profileTable { background: transparent; border: none; }
QTableView#profileTable QHeaderView::section { border-right: none; padding: 4px 8px; }
"""

_PAGE_STYLE = f"""
QWidget#townshipDetail {{ background-color: {theme.BG}; }}
QLabel#detailName {{ color: {theme.HIGHLIGHT}; }}
QLabel#detailKind {{
    color: {theme.ACCENT}; border: 1px solid {theme.ACCENT}; border-radius: 3px;
    padding: 0px 6px;
}}
"""


class TownshipDetail(Panel):
    """Everything about `ctx.state.region` (the county's own figures for the county)."""

    fields = frozenset({"region", "period"})
    defer_until_shown = True
    TEXT = _TEXT
    closed = Signal()

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("townshipDetail")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_PAGE_STYLE)
        self.text = self.t
        self._region: str = ctx.state.region
        self._month: date = ctx.state.period
        self._header_plain = ""

        # -- header ------------------------------------------------------------------------
        header = QFrame(self)
        header.setObjectName("headerBar")
        self.name_label = QLabel(header)
        self.name_label.setObjectName("detailName")
        self.kind_label = QLabel(header)
        self.kind_label.setObjectName("detailKind")
        self.facts_label = QLabel(header)
        self.facts_label.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.summary_label = QLabel(header)
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.county_button = QPushButton(self.text["back_county"], header)
        self.county_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.county_button.clicked.connect(self._on_back_to_county)
        self.close_button = QPushButton(self.text["close"], header)
        self.close_button.setObjectName("primary")
        self.close_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button.clicked.connect(self.closed.emit)
        bar = QHBoxLayout(header)
        bar.setContentsMargins(16, 10, 16, 10)
        bar.setSpacing(12)
        bar.addWidget(self.name_label)
        bar.addWidget(self.kind_label, 0, Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.facts_label, 0, Qt.AlignmentFlag.AlignVCenter)
        bar.addStretch(1)
        bar.addWidget(self.summary_label, 0, Qt.AlignmentFlag.AlignVCenter)
        bar.addSpacing(8)
        bar.addWidget(self.county_button)
        bar.addWidget(self.close_button)

        # -- indicator table -----------------------------------------------------------------
        table_panel = QFrame(self)
        table_panel.setObjectName("panel")
        self.table_title = QLabel(table_panel)
        self.table_title.setObjectName("panelTitle")
        legend = self.legend = QLabel(table_panel)
        legend.setTextFormat(Qt.TextFormat.RichText)
        legend.setText(
            f"<span style='color:{theme.TEXT_DIM}'>{self.text['rank_legend']}</span>"
            f"<span style='color:{theme.GOOD}'>■ {self.text['legend_top']}</span>"
            f"{self.text['gap']}"
            f"<span style='color:{theme.BAD}'>■ {self.text['legend_bottom']}</span>")
        self.model = _ProfileModel(ctx.lang, self)
        self.view = figure_table(table_panel, "profileTable", _TABLE_STYLE, self.model,
                                 _ProfileDelegate, len(COLUMNS), TREND)
        self.view.setMouseTracking(True)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.horizontalHeader().setMinimumSectionSize(24)
        self.view.installEventFilter(self)

        title_row = QHBoxLayout()
        title_row.setContentsMargins(0, 0, 0, 0)
        title_row.addWidget(self.table_title, 1)
        title_row.addWidget(legend, 0)
        table_layout = QVBoxLayout(table_panel)
        table_layout.setContentsMargins(12, 10, 12, 10)
        table_layout.setSpacing(6)
        table_layout.addLayout(title_row)
        table_layout.addWidget(self.view, 1)

        # -- events ----------------------------------------------------------------------------
        self.events_panel = EventsPanel(ctx, self)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(8)
        self.splitter.addWidget(table_panel)
        self.splitter.addWidget(self.events_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStyleSheet("QSplitter::handle { background: transparent; }")
        self.splitter.installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        body = QVBoxLayout()
        body.setContentsMargins(10, 10, 10, 10)
        body.addWidget(self.splitter, 1)
        layout.addLayout(body, 1)

        self._apply_fonts()
        self._build_structure()
        self.sync()

    # -- selection -----------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        self.refresh()

    def on_reload(self) -> None:
        self._build_structure()
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)   # catches up on what changed while hidden
        self._fit_columns()
        self._fit_splitter(force=True)

    def disconnect_context(self) -> None:
        super().disconnect_context()
        self.events_panel.disconnect_context()

    def _on_back_to_county(self) -> None:
        self.ctx.select(region=self._reference())

    def _has_children(self) -> bool:
        """A county of a city: its own figures throughout, county-only ones included."""
        return self.ctx.hierarchy.has_children(self._region)

    def _reference(self) -> str:
        """What the shown region is compared with: its parent (a township's county, a county's
        city), the root for the root itself."""
        return self.ctx.hierarchy.parent(self._region) or self.ctx.county_code

    # -- data ------------------------------------------------------------------------------------
    def _build_structure(self) -> None:
        """Section and indicator rows from the catalogue (changes only on reload)."""
        visible = self.ctx.visible_indicators()
        domains = list(DOMAINS) + sorted({i.domain for i in visible} - set(DOMAINS))
        rows: list[tuple] = []
        for domain in domains:
            members = [i for i in visible if i.domain == domain]
            if not members:
                continue
            rows.append(("section", domain, self.ctx.domain_name(domain)))
            rows += [("indicator", i) for i in members]
        self.view.clearSpans()
        self.model.set_structure(rows)
        for r, row in enumerate(rows):
            if row[0] == "section":
                self.view.setSpan(r, 0, 1, len(COLUMNS))

    def _county_figures(self, month: date) -> tuple[dict, dict]:
        """(profile by code, 24-period series by code) of the county (or the city) the shown
        region is compared with, for a month (the query memo keeps them: every township page of
        the month shares them)."""
        q, county = self.ctx.queries, self._reference()
        profile = {r["indicator"]: r for r in q.township_profile(county, month)}
        codes = [i.code for i in q.indicators if i.county_only]
        series = q.series_many(county, codes, month, SPARK_PERIODS) if codes else {}
        return profile, series

    def _region_figures(self, indicators: list[Indicator], is_county: bool,
                        county: tuple[dict, dict]) -> tuple[dict, dict]:
        """(profile by code, sparkline series by code) of the shown region: two queries, the
        sparklines of every row in one batch."""
        q = self.ctx.queries
        county_profile, county_series = county
        if is_county:
            return county_profile, q.series_many(self._region, [i.code for i in indicators],
                                                 self._month, SPARK_PERIODS)
        profile = {r["indicator"]: r for r in q.township_profile(self._region, self._month)}
        own = [i.code for i in indicators if not i.county_only or self._has_children()]
        series = dict(county_series)
        series.update(q.series_many(self._region, own, self._month, SPARK_PERIODS))
        return profile, series

    def refresh(self) -> None:
        ctx = self.ctx
        self._region, self._month = ctx.state.region, ctx.state.period
        is_county = self._region == ctx.county_code
        county = self._county_figures(self._month)
        county_profile = county[0]
        indicators = [row[1] for row in self.model.rows if row[0] == "indicator"]
        profile, series = self._region_figures(indicators, is_county, county)

        cells: dict[str, dict] = {}
        bottom_by_domain: dict[str, int] = {}
        top = bottom = 0
        for ind in indicators:
            cell = self._cell(ind, profile.get(ind.code), county_profile.get(ind.code),
                              series.get(ind.code), is_county)
            cells[ind.code] = cell
            if cell["rank_class"] > 0:
                top += 1
            elif cell["rank_class"] < 0:
                bottom += 1
                bottom_by_domain[ind.domain] = bottom_by_domain.get(ind.domain, 0) + 1
        notes = {}
        t = self.text
        for row in self.model.rows:
            if row[0] == "section":
                n = sum(1 for i in indicators if i.domain == row[1])
                note = t["section_count"].format(n=n)
                if bottom_by_domain.get(row[1]):
                    note += "|" + t["section_bottom"].format(n=bottom_by_domain[row[1]])
                notes[row[1]] = note
        self.model.set_cells(cells, notes)
        self.view.setColumnHidden(COUNTY, is_county)
        self.view.setColumnHidden(RANK, is_county)
        self.legend.setVisible(not is_county)
        self._update_header(is_county, top, bottom)
        self._fit_columns()
        self._fit_splitter()

    def _cell(self, ind: Indicator, own: dict | None, county: dict | None, series,
              is_county: bool) -> dict:
        """Texts, colours, progress and sparkline of one indicator row."""
        t, lang = self.text, self.ctx.lang
        county_value = county["value"] if county else None
        rank_kind = 0
        stale = False
        if is_county or (ind.county_only and not self._has_children()):
            # The county's own figure; a township page shows it dimmed, as not its own.
            source = county
            rank_text = "—" if is_county else t["county_only"]
            rank_color = theme.TEXT_DIM
            value_color = theme.TEXT if is_county else theme.TEXT_DIM
        else:
            source = own
            value_color = theme.TEXT
            # township_profile answers with the township's latest period: older than the
            # county's means this period was not reported, so the rank is not this period's.
            stale = bool(own and county and own["period"] < county["period"])
            if stale:
                rank_text, rank_color, value_color = (t["not_reported"], theme.ACCENT_2,
                                                      theme.TEXT_DIM)
            elif own and own["rank"] and own["rank_of"]:
                rank_text = f"{own['rank']}/{own['rank_of']}"
                rank_kind = rank_class(own["rank"], own["rank_of"], ind)
                rank_color = _VERDICT_COLORS.get(rank_kind, theme.TEXT)
            else:
                rank_text, rank_color = "—", theme.TEXT_DIM
        value = source["value"] if source else None
        yoy = source["yoy_value"] if source else None
        period = source["period"] if source else None
        progress = target_progress(value, ind)
        texts = {
            "indicator": self.ctx.tr_name(ind),
            "value": format_value(value, ind, self.ctx.lang),
            "county": format_value(county_value, ind, self.ctx.lang),
            "rank": rank_text,
            "yoy": format_change(value, yoy, ind, lang),
            "progress": t["no_target"] if progress is None else progress_text(progress),
            "trend": "",
            "period": period_label(period, ind.frequency, lang),
        }
        colors = {
            "indicator": theme.TEXT, "value": value_color, "county": theme.TEXT_DIM,
            "rank": rank_color,
            "yoy": _VERDICT_COLORS.get(trend_verdict(value, yoy, ind), theme.TEXT_DIM),
        }
        spark = series.values if series is not None and len(series.values) else None
        return {
            "texts": texts, "colors": colors, "progress": progress, "spark": spark,
            "rank_class": rank_kind,
            "tooltip": self._tooltip(ind, period, is_county, stale,
                                     self.ctx.provenance_note(
                                         self._region if not (ind.county_only and not
                                                              self._has_children())
                                         else self._reference(), ind.code, period)),
        }

    def _tooltip(self, ind: Indicator, period, is_county: bool, stale: bool,
                 provenance: str = "") -> str:
        t, lang = self.text, self.ctx.lang
        colon = t["colon"]
        lines = [f"<b>{self.ctx.tr_name(ind)}</b>"]
        lines.append(f"{t['tip_period']}{colon}{period_label(period, ind.frequency, lang)}"
                     f"{t['gap']}{t['tip_unit']}{colon}{i18n.unit(ind.unit, lang) or '—'}")
        if provenance:
            lines.append(f"<span style='color:{theme.ACCENT}'>{provenance}</span>")
        lines.append(f"{t['tip_department']}{colon}"
                     f"{self.ctx.queries.department(ind.department, lang)}")
        lines.append(f"{t['tip_definition']}{colon}{ind.definition_in(lang)}")
        if ind.target_value is not None:
            year = t["target_year"].format(year=ind.target_year) if ind.target_year else ""
            lines.append(f"{t['tip_target']}{colon}{year}"
                         f"{format_value(ind.target_value, ind, lang)}")
        if ind.county_only and not is_county:
            lines.append(f"<span style='color:{theme.TEXT_DIM}'>{t['tip_county_only']}</span>")
        if stale:
            note = t["tip_stale"].format(period=period_label(period, ind.frequency, lang))
            lines.append(f"<span style='color:{theme.ACCENT_2}'>{note}</span>")
        if ind.sensitivity == "internal":
            lines.append(f"<span style='color:{theme.ACCENT_2}'>{t['tip_internal']}</span>")
        # Rich text: Qt word-wraps it, so a long 口径 does not make a screen-wide tooltip.
        return "<br>".join(lines)

    def _update_header(self, is_county: bool, top: int, bottom: int) -> None:
        t, ctx = self.text, self.ctx
        region = ctx.queries.region_by_code.get(self._region)
        name = ctx.region_name(self._region)
        kind = t["kind"].get(region.kind, region.kind or "") if region else ""
        facts = []
        if region and region.population:
            facts.append(t["population"].format(v=region.population / 10_000,
                                                people=region.population))
        if region and region.area_km2:
            facts.append(t["area"].format(v=region.area_km2))
        facts.append(month_label(self._month, ctx.lang))
        self.name_label.setText(name)
        self.kind_label.setText(kind)
        self.kind_label.setVisible(bool(kind))
        self.facts_label.setText(t["facts_sep"].join(facts))
        self._header_plain = " · ".join([name, kind] + facts)
        self.county_button.setEnabled(not is_county)
        whole = ctx.whole_word(self._reference())
        self.county_button.setText(t["back_to"].format(whole=whole))
        self.model.text = dict(self.model.text, headers=(
            *t["headers"][:2], whole, *t["headers"][3:]))
        if is_county:
            self.summary_label.clear()
        else:
            summary = t["summary"].format(top=f"<b style='color:{theme.GOOD}'>{top}</b>",
                                          bottom=f"<b style='color:{theme.BAD}'>{bottom}</b>")
            self.summary_label.setText(f"<span style='color:{theme.TEXT_DIM}'>{summary}</span>")
        self.table_title.setText(f"{t['table_title']} · {name} · "
                                 f"{month_label(self._month, ctx.lang)}")

    # -- layout -----------------------------------------------------------------------------------
    def apply_scale(self) -> None:
        """Called by the window as it resizes; table text and buttons follow theme.qss."""
        self._apply_fonts()
        self.events_panel.set_scale(self.scale)
        self._fit_columns()
        self._fit_splitter(force=True)

    def _apply_fonts(self) -> None:
        # Secondary text keeps a legible floor on small windows (the window scales to 0.62).
        s = self.scale
        self.name_label.setFont(theme.font(max(20, 26 * s), bold=True))
        self.kind_label.setFont(theme.font(max(12, 14 * s)))
        self.facts_label.setFont(theme.font(max(13, 15 * s)))
        self.summary_label.setFont(theme.font(max(12, 14 * s)))
        self.legend.setFont(theme.font(max(12, 13 * s)))

    def _fit_columns(self) -> None:
        fm = self.view.fontMetrics()
        pad = 22

        def widest(key: str, *extra: str) -> int:
            texts = [c["texts"][key] for c in self.model.cells.values()]
            texts += [self.text["headers"][COLUMNS.index(key)], *extra]
            return max(fm.horizontalAdvance(s) for s in texts) + pad

        if not self.model.cells:
            return
        self.view.setColumnWidth(NAME, widest("indicator"))
        self.view.setColumnWidth(VALUE, widest("value"))
        self.view.setColumnWidth(COUNTY, widest("county"))
        self.view.setColumnWidth(RANK, widest("rank", "18/18"))
        self.view.setColumnWidth(YOY, widest("yoy"))
        self.view.setColumnWidth(PROGRESS, fm.horizontalAdvance("100%") * 2 + 40)
        self.view.verticalHeader().setDefaultSectionSize(max(fm.height() + 12, 20))

    def _table_width(self) -> int:
        """Width the indicator table needs to show every column without clipping."""
        widths = sum(self.view.columnWidth(c) for c in range(len(COLUMNS))
                     if c != TREND and not self.view.isColumnHidden(c))
        chrome = 24 + 2 + self.view.verticalScrollBar().sizeHint().width() + 4
        return widths + TREND_MIN_WIDTH + chrome

    def _fit_splitter(self, force: bool = False) -> None:
        """Events beside the table when both fit, below it on laptop-sized windows."""
        total = self.splitter.width()
        if total <= 0:
            return
        need = self._table_width()
        wide = total - need - self.splitter.handleWidth() >= EVENTS_MIN_WIDTH
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if orientation == self.splitter.orientation() and not force:
            return
        self.splitter.setOrientation(orientation)
        if wide:
            table = max(need, int(total * 0.58))
            self.splitter.setSizes([table, total - table])
        else:
            height = self.splitter.height()
            self.splitter.setSizes([int(height * 0.62), height - int(height * 0.62)])

    def eventFilter(self, watched, event) -> bool:
        if watched is self.view and event.type() in (QEvent.Type.FontChange,
                                                      QEvent.Type.StyleChange):
            self._fit_columns()
        elif watched is self.splitter and event.type() == QEvent.Type.Resize:
            self._fit_splitter()
        return super().eventFilter(watched, event)

    # -- public state for tests and the window -------------------------------------------------
    def _flush(self) -> None:
        self.catch_up()   # a reader of a hidden page gets what it would show

    @property
    def region(self) -> str:
        """The region code the page shows."""
        self._flush()
        return self._region

    @property
    def month(self) -> date:
        self._flush()
        return self._month

    def indicator_codes(self) -> list[str]:
        return [row[1].code for row in self.model.rows if row[0] == "indicator"]

    def section_titles(self) -> list[str]:
        return [row[2] for row in self.model.rows if row[0] == "section"]

    def row_for(self, indicator_code: str) -> dict[str, str]:
        """The texts shown in that indicator's row: indicator, value, county, rank, yoy,
        progress, and the period the value belongs to."""
        self._flush()
        texts = dict(self.model.cells[indicator_code]["texts"])
        texts.pop("trend", None)
        return texts

    def header_text(self) -> str:
        self._flush()
        return self._header_plain

    def sizeHint(self) -> QSize:
        return QSize(1200, 700)
