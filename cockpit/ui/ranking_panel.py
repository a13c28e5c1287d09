"""The ranking of one level: each township's (or, at a city, each county's) value of the selected
indicator and period, best first; clicking a county drills into it.

The bars are painted by one widget rather than one graphics item per bar: 18 rows, one paint, and
the rows double as hit areas. A region change only recolours (repaints); an indicator or period
change re-reads one query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import math

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (QColor, QFontMetrics, QLinearGradient, QPainter, QPen, QPixmap,
                           QRegion)
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout,
                               QWidget)

from ..core.catalogue import Indicator
from ..core.formatting import format_change, format_value, period_label
from ..core.ranking import best_first, ranks
from . import theme
from .context import CockpitContext
from .lateness import period_html
from .panel import Panel, Pictures, SteadyLabel, TitleLabel

_TEXT = {
    "zh_CN": {
        "title": "{children}排名", "county": "全县", "county_total": "{whole}合计", "from": "起点",
        "target": "目标", "missing": "未报送",
        "county_only": "该指标仅统计{whole}，无乡镇排名", "no_data": "该期暂无数据",
        "polarity": {"higher": "越高越好", "lower": "越低越好", "neutral": "按数值排序"},
        "rank": "第{rank}名 / {count}", "prev": "环比", "yoy": "同比",
        "click": "点击查看", "click_back": "再次点击返回上一级",
    },
    "en": {
        "title": "{children} ranking", "county": "County", "county_total": "{whole} total",
        "from": "from", "target": "Target",
        "missing": "Not reported",
        "county_only": "{whole}-level indicator: no township ranking",
        "no_data": "No data for this period",
        "polarity": {"higher": "higher is better", "lower": "lower is better",
                     "neutral": "by value"},
        "rank": "Rank {rank} of {count}", "prev": "vs prev.", "yoy": "YoY",
        "click": "Click to select", "click_back": "Click again to go back up",
    },
}

# Bars of the other townships run from bright cyan (first) to a deeper blue (last).
_BAR_FIRST = QColor(theme.ACCENT)
_BAR_LAST = QColor("#1f6aa8")
_DATA_FIELDS = frozenset({"indicator", "period"})
_STRIP_ROWS = 4   # a repaint of up to this many rows is copied from pictures of their strips


@dataclass(frozen=True)
class _Row:
    code: str
    name: str
    value: float | None       # None: not reported
    rank: int | None
    prev_value: float | None
    yoy_value: float | None
    colour: str


def _mix(a: QColor, b: QColor, t: float) -> str:
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t)).name()


def _finite(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


class _RankingChart(QWidget):
    """Paints the rows; reports clicks on a township's row."""

    township_clicked = Signal(str)

    def __init__(self, texts: dict, lang: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.scale = 1.0
        self._t = texts
        self.lang = lang
        self.rows: list[_Row] = []
        self.indicator: Indicator | None = None
        self.selected: str | None = None
        self.county_value: float | None = None   # drawn as a line
        self.target_value: float | None = None
        self.totals: str = ""   # county figures not on the townships' scale (summed indicators)
        self.whole = texts["county"]   # what the reference line stands for: 全县, 全市 …
        self._hover: int | None = None
        self._layout_cache: dict | None = None
        # (row, selection, hover near it) -> its strip's picture, for the current layout
        self.strips = Pictures(4 << 20)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumHeight(120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._ground = QColor(theme.PANEL)

    def set_data(self, rows: list[_Row], indicator: Indicator, county_value, target_value,
                 totals: str = "") -> None:
        self.rows = rows
        self.indicator = indicator
        self.county_value = county_value
        self.target_value = target_value
        self.totals = totals
        self._layout_cache = None
        self.update()

    def set_selected(self, code: str | None) -> None:
        if code == self.selected:
            return
        rows = [i for i, row in enumerate(self.rows) if row.code in (code, self.selected)]
        self.selected = code
        # Only the rows that gain or lose the highlight change (the layout already measures
        # every name and value in bold): repaint those, not the whole chart, on a selection.
        for i in rows:
            self.update(self.row_rect(i).toAlignedRect())

    # -- geometry -------------------------------------------------------------------------------
    def _layout(self) -> dict:
        """Rows, columns and value scale for the current size; cached until data or size change."""
        if self._layout_cache is not None:
            return self._layout_cache
        w, h = self.width(), self.height()
        n = max(1, len(self.rows))
        has_refs = (self.county_value is not None or self.target_value is not None
                    or bool(self.totals))
        # The font follows the row height so all 18 names stay legible at any panel size.
        guess_row = (h - 6) / (n + (1.2 if has_refs else 0))
        px = int(np.clip(round(guess_row * 0.56), 9, round(18 * self.scale)))
        strip = px + 8 if has_refs else 2
        row_h = (h - strip - 4) / n
        px = int(np.clip(round(min(px, row_h * 0.62)), 9, round(18 * self.scale)))

        font, bold = theme.font(px), theme.font(px, True)
        fm, fm_bold = QFontMetrics(font), QFontMetrics(bold)
        rank_w = fm_bold.horizontalAdvance("88") + px * 0.9
        name_w = max([fm_bold.horizontalAdvance(r.name) for r in self.rows] + [px * 3])
        labels = {r.code: self._value_text(r) for r in self.rows}
        value_w = max([fm_bold.horizontalAdvance(t) for t in labels.values()] + [px * 3])
        x_rank = 4.0
        x_name = x_rank + rank_w + px * 0.6
        bar_x0 = x_name + name_w + px * 0.8
        bar_x1 = max(bar_x0 + 20, w - value_w - px * 0.8)

        values = [r.value for r in self.rows if r.value is not None]
        refs = [v for v in (self.county_value, self.target_value) if v is not None]
        lo = min([0.0] + values + refs)
        hi = max([0.0] + values + refs)
        base = _baseline(values + refs)
        if base > 0:
            lo = base
        if hi == lo:
            hi = lo + 1.0
        has_negative = lo < 0
        if has_negative:
            # Labels of negative bars go left of the bar: make room on that side too.
            bar_x0 += value_w + px * 0.4

        self.strips.clear()   # drawn for the old layout
        self._layout_cache = {
            "px": px, "font": font, "bold": bold, "fm": fm, "strip": strip, "row_h": row_h,
            "x_rank": x_rank, "rank_w": rank_w, "x_name": x_name, "bar_x0": bar_x0,
            "bar_x1": bar_x1, "lo": lo, "hi": hi, "labels": labels, "value_w": value_w,
            "base": max(base, 0.0) if lo >= 0 else 0.0,
        }
        return self._layout_cache

    def capacity(self) -> int:
        """How many rows fit at the smallest legible type: 9 px at a desk, the wall's floor on
        a wall. More townships than that are condensed by the panel (top, selection, bottom)."""
        smallest = max(9, theme.text_floor())
        room = self.height() - (smallest + 8) - 4
        return max(3, int(room // (smallest / 0.62)))

    def _value_text(self, row: _Row) -> str:
        if row.value is None:
            return self._t["missing"]
        return format_value(row.value, self.indicator, self.lang)

    def x_of(self, value: float) -> float:
        g = self._layout()
        return g["bar_x0"] + (value - g["lo"]) / (g["hi"] - g["lo"]) * (g["bar_x1"] - g["bar_x0"])

    def row_rect(self, index: int) -> QRectF:
        g = self._layout()
        return QRectF(0, g["strip"] + index * g["row_h"], self.width(), g["row_h"])

    def bar_rect(self, index: int) -> QRectF:
        """The bar of a reported township (an empty rect at zero for a missing one)."""
        g = self._layout()
        row = self.rows[index]
        rect = self.row_rect(index)
        thickness = max(3.0, min(g["row_h"] * 0.56, g["px"] * 1.3))
        zero = self.x_of(g["base"])
        end = self.x_of(row.value) if row.value is not None else zero
        left, right = min(zero, end), max(zero, end)
        return QRectF(left, rect.center().y() - thickness / 2, right - left, thickness)

    def index_at(self, pos: QPointF) -> int | None:
        g = self._layout()
        if not self.rows or pos.y() < g["strip"]:
            return None
        index = int((pos.y() - g["strip"]) // g["row_h"])
        return index if 0 <= index < len(self.rows) else None

    def resizeEvent(self, event) -> None:
        self._layout_cache = None
        super().resizeEvent(event)

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        dirty = event.region()
        if not self.rows or self.indicator is None:
            p = QPainter(self)
            p.fillRect(event.rect(), self._ground)   # opaque: no styled frame behind it
            p.end()
            return
        g = self._layout()
        # The rows reaching into the repainted area beyond the pixel line they share with a
        # neighbour (each strip's picture has that line as a full repaint draws it).
        rows = [i for i in range(len(self.rows))
                if dirty.intersects(self.row_rect(i).adjusted(0, 1, 0, -1).toAlignedRect())]
        if len(rows) > _STRIP_ROWS or dirty.boundingRect().top() < g["strip"]:
            p = QPainter(self)
            self._paint(p, g, dirty)
            p.end()
            return
        # A selection repaints the two rows that gain and lose the highlight: each is copied
        # from a picture of its strip in that state, drawn once per layout.
        p = QPainter(self)
        for i in rows:
            p.drawPixmap(self.row_rect(i).toAlignedRect().topLeft(), self._strip(i, g))
        p.end()

    def _strip(self, i: int, g: dict) -> QPixmap:
        """Row i's strip as the chart shows it now (the selection and the pointer near it)."""
        near = {row.code for row in self.rows[max(0, i - 1):i + 2]}
        key = (i, self.selected if self.selected in near else None,
               self._hover if self._hover is not None and abs(self._hover - i) <= 1 else None)

        def draw() -> QPixmap:
            strip = self.row_rect(i).toAlignedRect()
            ratio = self.devicePixelRatioF()
            picture = QPixmap(round(strip.width() * ratio), round(strip.height() * ratio))
            picture.setDevicePixelRatio(ratio)
            q = QPainter(picture)
            q.translate(-strip.topLeft())
            self._paint(q, g, QRegion(strip))
            q.end()
            return picture
        return self.strips.get(key, draw)

    def draw_ahead(self, code: str) -> None:
        """Draw, while the cockpit is idle, the strips a selection of `code` copies: its row
        highlighted and the row losing the highlight, and its row plain for the selection
        after it."""
        codes = [row.code for row in self.rows]
        if code not in codes or code == self.selected or self.indicator is None:
            return
        g, shown, row = self._layout(), self.selected, codes.index(code)
        try:   # as the chart would be: the strips' pictures are keyed by the selection
            self.selected = code
            for i in {row} | ({codes.index(shown)} if shown in codes else set()):
                self._strip(i, g)
            self.selected = None
            self._strip(row, g)
        finally:
            self.selected = shown

    def _paint(self, p: QPainter, g: dict, dirty: QRegion) -> None:
        """Everything in `dirty`: its ground (the chart is opaque, so the panel's styled frame
        is not painted behind it), the rows that reach into it, the reference lines and labels."""
        p.setClipRegion(dirty)
        p.fillRect(dirty.boundingRect(), self._ground)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        px, row_h = g["px"], g["row_h"]
        zero = self.x_of(g["base"])

        # Rows outside the area being repainted are skipped (a selection repaints two rows);
        # only those around it are looked at.
        area = dirty.boundingRect()
        near = range(max(0, int((area.top() - g["strip"]) // row_h) - 1),
                     min(len(self.rows), int((area.bottom() - g["strip"]) // row_h) + 2))
        shown = [i for i in near if dirty.intersects(self.row_rect(i).toAlignedRect())]
        tints = {i: self._row_tint(i, self.rows[i]) for i in shown}
        for i in shown:
            tint = tints[i]
            if tint is not None:
                p.fillRect(self.row_rect(i).adjusted(0, 1, 0, -1), tint)
            if self.rows[i].code == self.selected:
                rect = self.row_rect(i)
                p.fillRect(QRectF(0, rect.top() + 1, 3, rect.height() - 2),
                           QColor(theme.HIGHLIGHT))
        # Reference lines go behind the bars and the value labels.
        self._paint_reference_lines(p, g, dirty.boundingRect())

        for i in shown:
            row = self.rows[i]
            rect = self.row_rect(i)
            selected = row.code == self.selected
            self._paint_rank(p, g, rect, row, selected)
            p.setFont(g["bold"] if selected else g["font"])
            name_colour = (theme.HIGHLIGHT if selected
                           else theme.TEXT if row.value is not None else theme.TEXT_DIM)
            p.setPen(QColor(name_colour))
            p.drawText(QRectF(g["x_name"], rect.top(), g["bar_x0"] - g["x_name"], row_h),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, row.name)

            if row.value is None:
                self._paint_label(p, g, QPointF(zero + px * 0.4, rect.center().y()),
                                  self._t["missing"], theme.blend(theme.TEXT_DIM, 170),
                                  g["font"], tints[i], left_aligned=True)
                continue
            bar = self.bar_rect(i)
            far = bar.right() if row.value >= 0 else bar.left()
            gradient = QLinearGradient(QPointF(zero, 0), QPointF(far, 0))
            gradient.setColorAt(0.0, theme.blend(row.colour, 60))
            gradient.setColorAt(1.0, QColor(row.colour))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(gradient)
            radius = min(2.5, bar.height() / 2)
            p.drawRoundedRect(bar, radius, radius)
            gap = px * 0.4
            anchor = QPointF(far + gap if row.value >= 0 else far - gap, rect.center().y())
            self._paint_label(p, g, anchor, g["labels"][row.code],
                              QColor(theme.HIGHLIGHT if selected else theme.TEXT),
                              g["bold"] if selected else g["font"], tints[i],
                              left_aligned=row.value >= 0)

        if dirty.boundingRect().top() < g["strip"]:
            self._paint_reference_labels(p, g)

    def _row_tint(self, index: int, row: _Row) -> QColor | None:
        if row.code == self.selected:
            return theme.blend(theme.HIGHLIGHT, 30)
        if index == self._hover:
            return theme.blend(theme.TEXT, 14)
        return None

    @staticmethod
    def _paint_label(p: QPainter, g: dict, anchor: QPointF, text: str, colour: QColor, font,
                     tint: QColor | None, left_aligned: bool) -> None:
        """Text beside a bar on a knocked-out background: a reference line never runs through it."""
        fm = QFontMetrics(font)
        width, height = fm.horizontalAdvance(text) + 6, fm.height()
        left = anchor.x() - 3 if left_aligned else anchor.x() - width + 3
        rect = QRectF(left, anchor.y() - height / 2, width, height)
        p.fillRect(rect, QColor(theme.PANEL))
        if tint is not None:
            p.fillRect(rect, tint)
        p.setFont(font)
        p.setPen(colour)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_rank(self, p: QPainter, g: dict, rect: QRectF, row: _Row, selected: bool):
        px = g["px"]
        badge = QRectF(g["x_rank"], rect.center().y() - px * 0.68, g["rank_w"], px * 1.36)
        text = "—" if row.rank is None else str(row.rank)
        p.setFont(g["bold"])
        if row.rank is not None and row.rank <= 3:
            # The podium gets filled badges; the colour says "top", not "selected".
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color(theme.ACCENT, 215 - 45 * (row.rank - 1)))
            p.drawRoundedRect(badge, 3, 3)
            p.setPen(QColor(theme.BG))
        else:
            p.setPen(QPen(theme.color(theme.PANEL_EDGE), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(badge, 3, 3)
            p.setPen(QColor(theme.HIGHLIGHT if selected else theme.TEXT_DIM))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)

    def _references(self) -> list[tuple[float, QColor, str]]:
        refs = []
        if self.county_value is not None:
            refs.append((self.county_value, theme.blend(theme.TEXT, 190),
                         f"{self.whole} {format_value(self.county_value, self.indicator, self.lang)}"))
        if self.target_value is not None:
            refs.append((self.target_value, QColor(theme.ACCENT_2),
                         f"{self._t['target']} {_round_target(self.target_value, self.indicator, self.lang)}"))
        return sorted(refs, key=lambda ref: ref[0])

    def _paint_reference_lines(self, p: QPainter, g: dict, area: QRect) -> None:
        """Dashed vertical lines as small filled rectangles, only where `area` is repainted: an
        antialiased dashed pen strokes every dash of the chart's height even when two rows
        are repainted (~1 ms a line)."""
        top, bottom = g["strip"] - 2, g["strip"] + g["row_h"] * len(self.rows)
        width, dash, gap = 1.3, 4 * 1.3, 3 * 1.3
        first, last = max(top, area.top() - dash), min(bottom, area.bottom() + 1)
        for value, colour, _ in self._references():
            x = self.x_of(value) - width / 2
            y = top + math.floor((first - top) / (dash + gap)) * (dash + gap)
            while y < last:
                p.fillRect(QRectF(x, y, width, min(dash, bottom - y)), colour)
                y += dash + gap

    def _paint_reference_labels(self, p: QPainter, g: dict) -> None:
        p.setFont(g["font"])
        fm = g["fm"]
        height = g["strip"] - 2
        placed: list[QRectF] = []
        if self.totals:
            width = fm.horizontalAdvance(self.totals) + 4
            rect = QRectF(self.width() - 4 - width, 0, width, height)
            p.setPen(theme.blend(theme.TEXT, 190))
            p.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                       self.totals)
            placed.append(rect)
        refs = self._references()
        # With two lines, the left one's label ends at its line and the right one's starts
        # there; labels pushed in from an edge push their neighbour along.
        rects = []
        for k, (value, _, label) in enumerate(refs):
            x, width = self.x_of(value), fm.horizontalAdvance(label) + 4
            if len(refs) == 2:
                left = x - width - 3 if k == 0 else x + 3
            else:
                left = x - width / 2
            rects.append(QRectF(left, 0, width, height))
        limit = self.width() - 2
        for k in reversed(range(len(rects))):
            if rects[k].right() > limit:
                rects[k].moveRight(limit)
            limit = rects[k].left() - 8
        floor = 2.0
        for rect in rects:
            if rect.left() < floor:
                rect.moveLeft(floor)
            floor = rect.right() + 8
        for rect, (_, colour, label) in zip(rects, refs):
            p.setPen(colour)
            p.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignHCenter, label)
        placed += rects
        if g["base"] > 0:
            # The bars start above zero: say where, unless a reference label is in the way.
            label = f"{self._t['from']} {_round_target(g['base'], self.indicator, self.lang)}"
            rect = QRectF(g["bar_x0"], 0, fm.horizontalAdvance(label) + 4, height)
            if not any(rect.intersects(other) for other in placed):
                p.setPen(theme.blend(theme.TEXT_DIM, 200))
                p.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                           label)

    # -- mouse ----------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:
        index = self.index_at(event.position())
        if index != self._hover:
            self._hover = index
            self.setCursor(Qt.CursorShape.PointingHandCursor if index is not None
                           else Qt.CursorShape.ArrowCursor)
            self.update()
            if index is not None:
                QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_for(index), self)
            else:
                QToolTip.hideText()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.index_at(event.position())
            if index is not None:
                self.township_clicked.emit(self.rows[index].code)
                event.accept()
                return
        super().mouseReleaseEvent(event)

    def tooltip_for(self, index: int) -> str:
        row, ind, t = self.rows[index], self.indicator, self._t
        if row.value is None:
            return f"{row.name} · {t['missing']}"
        lines = [f"<b>{row.name}</b> · {t['rank'].format(rank=row.rank, count=self._ranked())}",
                 f"<b>{format_value(row.value, ind, self.lang)}</b>",
                 f"{t['prev']} {format_change(row.value, row.prev_value, ind, self.lang)}"
                 f" · {t['yoy']} {format_change(row.value, row.yoy_value, ind, self.lang)}",
                 t["click_back"] if row.code == self.selected else t["click"]]
        return "<br>".join(lines)

    def _ranked(self) -> int:
        return sum(1 for r in self.rows if r.value is not None)


def _baseline(values: list[float]) -> float:
    """Where bars start: zero, unless all values are positive and tightly clustered.

    Rates such as 96–100 % would all look full from zero; starting a little below the smallest
    value (a round number, labelled on the chart) keeps their differences visible.
    """
    if not values or min(values) <= 0:
        return 0.0
    lo, hi = min(values), max(values)
    if hi - lo >= 0.35 * hi:
        return 0.0
    spread = max(hi - lo, hi * 0.01)
    start = lo - spread * 0.6
    step = 10 ** np.floor(np.log10(spread / 2))
    for factor in (1, 2, 5, 10):
        if spread / (step * factor) <= 6:
            step *= factor
            break
    return max(0.0, float(np.floor(start / step) * step))


def _round_target(target: float, ind: Indicator, lang: str) -> str:
    text = format_value(target, ind, lang)
    if float(target).is_integer() and ind.decimals:
        text = text.replace(f"{target:,.{ind.decimals}f}", f"{target:,.0f}", 1)
    return text


class RankingPanel(Panel):
    """The shown level's regions for the selected indicator and period, best first; click a row
    to select it."""

    fields = _DATA_FIELDS | {"region"}
    TEXT = _TEXT

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        self._t = self.t
        self._order: list[str] = []
        self._missing: list[str] = []
        self._colours: dict[str, str] = {}
        self._highlighted: str | None = None
        self.message_text: str | None = None
        self._message_parts = ("", "")
        self.county_line_value: float | None = None   # the dashed 全县 line, if drawn
        self.title_text = ""
        self._all_rows: list[_Row] = []
        self._row_index_of: list | None = None
        self._row_index_cache: dict[str, int] = {}
        self._chart_args = (None, None, None, "")
        self._shape: tuple[int, int, int] | None = None
        self._view_code: str | None = None   # the region whose children are ranked

        self._build()
        self.chart.township_clicked.connect(self._on_township_clicked)
        self.sync()

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(6)
        header = QHBoxLayout()
        header.setSpacing(10)
        self._title = TitleLabel(parent=self)
        self._title.setFont(theme.font(17, True))
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # the month and the polarity: a new month's text does not lay the window out again
        self._subtitle = SteadyLabel(self)
        self._subtitle.setFont(theme.font(12))
        self._subtitle.setStyleSheet(f"color: {theme.TEXT_DIM};")
        header.addWidget(self._title, 1)
        header.addWidget(self._subtitle)
        layout.addLayout(header)

        self.chart = _RankingChart(self._t, self.ctx.lang, self)
        layout.addWidget(self.chart, 1)
        self._message = QLabel(self)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setTextFormat(Qt.TextFormat.RichText)
        self._message.setWordWrap(True)
        self._message.setFont(theme.font(15))
        self._message.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self._message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self._message.hide()
        layout.addWidget(self._message, 1)

    # -- selection ----------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        if changed & _DATA_FIELDS or self.ctx.view_code != self._view_code:
            self._refresh_data()
        self._refresh_highlight()

    def _on_township_clicked(self, code: str) -> None:
        # Clicking the selected township again goes back up to its county; clicking a county
        # (a city's ranking) drills into it.
        if code == self.ctx.state.region:
            self.ctx.select(region=self.ctx.view_code)
        else:
            self.ctx.select(region=code)

    def mouseReleaseEvent(self, event) -> None:
        # A click sent to the panel itself (QTest, accessibility tools) lands on the row under it
        # too; real clicks reach the chart directly and are accepted there.
        if event.button() == Qt.MouseButton.LeftButton and self.chart.isVisible():
            local = self.chart.mapFrom(self, event.position().toPoint())
            index = None
            if self.chart.rect().contains(local):
                index = self.chart.index_at(QPointF(local))
            if index is not None:
                self._on_township_clicked(self.chart.rows[index].code)
                event.accept()
                return
        super().mouseReleaseEvent(event)

    # -- public state for tests -----------------------------------------------------------------
    @property
    def highlighted_region(self) -> str | None:
        self.catch_up()   # read while hidden: what it will show
        return self._highlighted

    def order(self) -> list[str]:
        """Region codes of the ranked townships, top to bottom (missing ones not included)."""
        self.catch_up()
        return list(self._order)

    def missing_regions(self) -> list[str]:
        """Townships without a report for the period, as listed under the ranking."""
        self.catch_up()
        return list(self._missing)

    def table_rows(self) -> list[tuple]:
        """Every township as ranked, also those a condensed list leaves out: (rank, code, name,
        value, previous period's value, year-ago value); rank and values None if not reported."""
        return [(r.rank, r.code, r.name, r.value, r.prev_value, r.yoy_value)
                for r in self._all_rows]

    def bar_color(self, code: str) -> str | None:
        """The bar's colour as #rrggbb: HIGHLIGHT for the selected township, NO_DATA if missing.

        None for a region without a row (the county, or any region of a county-only indicator).
        """
        if code in self._missing:
            return theme.NO_DATA
        if code not in self._colours:
            return None
        return theme.HIGHLIGHT if code == self._highlighted else self._colours[code]

    def widget_pos_of(self, code: str) -> QPoint:
        """A point (panel coordinates) inside that township's bar, or its row if it has none."""
        index = [r.code for r in self.chart.rows].index(code)
        bar = self.chart.bar_rect(index)
        if bar.width() >= 2:
            point = bar.center()
        else:
            point = QPointF(self.chart.row_rect(index).center().x(), bar.center().y())
        return self.chart.mapTo(self, point.toPoint())

    # -- refresh --------------------------------------------------------------------------------
    def _refresh_data(self) -> None:
        ctx = self.ctx
        ind = ctx.indicator()
        t = self._t
        view = self._view_code = ctx.view_code
        whole = ctx.whole_word(view)
        polarity = t["polarity"].get(ind.polarity, "")
        self.title_text = t["title"].format(children=ctx.children_noun(view)) \
            + f" · {ctx.tr_name(ind)}"
        self._title.setText(self.title_text)
        self._title.setToolTip(self.title_text)

        if ind.county_only and ctx.hierarchy.children_level(view) == "township":
            county = ctx.queries.series(view, ind.code, end=ctx.state.period)
            detail = ""
            if len(county.periods):
                period = period_label(county.periods[-1].astype(date), ind.frequency, ctx.lang)
                detail = f"{whole} {format_value(county.values[-1], ind, ctx.lang)} · {period}"
            self._show_message(t["county_only"].format(whole=whole), ind, detail)
            self._subtitle.setText("")
            return
        values = ctx.queries.child_values(view, ind.code, ctx.state.period)
        if values.period is None:
            self._show_message(t["no_data"], ind)
            self._subtitle.setText(polarity)
            return
        shown, tip = period_html(ctx, values.period, ind.frequency)
        self._subtitle.setText(f"{shown} · {polarity}")
        self._subtitle.setToolTip(tip)

        reported = {}
        for code, value, prev, yoy in zip(values.regions, values.values, values.prev_values,
                                          values.yoy_values):
            if np.isfinite(value):
                reported[str(code)] = (float(value), _finite(prev), _finite(yoy))
        children = ctx.hierarchy.children(view)
        # In the children's usual order, so ties keep it; ranks by the one rule (core.ranking).
        listed = [code for code in children if code in reported]
        listed += [code for code in reported if code not in set(listed)]
        figures = [reported[code][0] for code in listed]
        ranked = best_first(listed, figures, ind.polarity)
        rank_of = dict(zip(listed, ranks(figures, ind.polarity).tolist()))
        missing = [code for code in children if code not in reported]

        rows: list[_Row] = []
        self._colours = {}
        for i, code in enumerate(ranked):
            value, prev, yoy = reported[code]
            rank = rank_of[code]
            colour = _mix(_BAR_FIRST, _BAR_LAST, i / max(1, len(ranked) - 1))
            self._colours[code] = colour
            rows.append(_Row(code, ctx.region_name(code), value, rank, prev, yoy, colour))
        for code in missing:
            rows.append(_Row(code, ctx.region_name(code), None, None, None, None, theme.NO_DATA))
        self._order, self._missing = ranked, missing

        county = ctx.queries.series(view, ind.code, values.period, values.period)
        county_value = _finite(county.values[0]) if len(county.values) else None
        target = ind.target_value
        totals = ""
        self.chart.whole = whole
        if ind.aggregation == "sum":
            # A county total dwarfs every township: say it in words, keep it off the scale.
            parts = []
            if county_value is not None:
                parts.append(f"{t['county_total'].format(whole=whole)}"
                             f" {format_value(county_value, ind, ctx.lang)}")
            if target is not None:
                parts.append(f"{t['target']} {_round_target(target, ind, ctx.lang)}")
            totals = " · ".join(parts)
            county_value = target = None
        self.county_line_value = county_value
        self.message_text = None
        self._message.hide()
        self.chart.show()
        self._all_rows = rows
        self._chart_args = (ind, county_value, target, totals)
        self._show_rows()

    # A province or the nation has more townships than a panel has lines: show the top, the
    # selected township with its neighbours, and the bottom, with their true ranks.
    MAX_ROWS = 30
    TOP, AROUND, BOTTOM = 14, 3, 5

    def _condensing(self) -> tuple[int, int, int] | None:
        """(top, around, bottom) rows to show when all of them do not fit, else None."""
        limit = min(self.MAX_ROWS, self.chart.capacity())
        if len(self._all_rows) <= limit:
            return None
        if limit >= self.MAX_ROWS:
            return self.TOP, self.AROUND, self.BOTTOM
        # A small panel (a laptop) or big type (a wall): fewer, larger rows — the top, the
        # bottom and the selected township, never small print.
        around = 0 if limit < 8 else 1
        bottom = max(1, (limit - 2 * around - 1) // 3)
        return limit - 2 * around - 1 - bottom, around, bottom

    def _show_rows(self) -> None:
        rows = self._all_rows
        shape = self._condensing()
        if shape is not None:
            top, around, bottom = shape
            keep = set(range(top)) | set(range(len(rows) - bottom, len(rows)))
            selected = self._row_index.get(self.ctx.state.region)
            if selected is not None:
                keep |= set(range(max(0, selected - around),
                                  min(len(rows), selected + around + 1)))
            rows = [rows[i] for i in sorted(keep)]
        self._shape = shape
        self.chart.set_data(rows, *self._chart_args)

    @property
    def _row_index(self) -> dict[str, int]:
        if self._row_index_of is not self._all_rows:
            self._row_index_cache = {r.code: i for i, r in enumerate(self._all_rows)}
            self._row_index_of = self._all_rows
        return self._row_index_cache

    def _show_message(self, text: str, ind: Indicator, detail: str = "") -> None:
        self._order, self._missing, self._colours = [], [], {}
        self.message_text = text
        self.county_line_value = None
        self._message_parts = (text, detail)
        self._render_message()
        self._message.show()
        self.chart.hide()
        self._all_rows = []
        self.chart.set_data([], ind, None, None)

    def _render_message(self) -> None:
        text, detail = self._message_parts
        if detail:
            # The county's own figure under the note, so the panel still says something useful.
            size = int(self._message.font().pixelSize() * 1.5)
            text = (f"{text}<br><span style='color:{theme.ACCENT}; font-size:{size}px;"
                    f" font-weight:bold'>{detail}</span>")
        self._message.setText(text)

    def _refresh_highlight(self) -> None:
        region = self.ctx.state.region
        if self._shape is not None:
            self._show_rows()  # the selected township's neighbourhood moves with it
        self._highlighted = region if region in self._row_index else None
        self.chart.set_selected(self._highlighted)

    def warm_look(self, region: str) -> None:
        """Draw ahead the rows selecting `region` repaints (see prewarm.py): a first visit then
        copies them as a repeat does."""
        if self._shape is None and self.isVisible() and self.up_to_date:
            self.chart.draw_ahead(region)

    def apply_scale(self) -> None:
        """Type may grow past its laptop size on a video wall (the window's scale)."""
        self.chart.scale = self.scale
        self.chart._layout_cache = None
        self.chart.update()
        self._apply_fonts()

    def resizeEvent(self, event) -> None:
        self._apply_fonts()
        super().resizeEvent(event)
        if self._all_rows and self._condensing() != self._shape:
            self._show_rows()   # room for more (or fewer) rows

    def _apply_fonts(self) -> None:
        px = int(np.clip(round(self.height() / 44), 12, round(18 * self.scale)))
        self._subtitle.setFont(theme.font(px))
        self._message.setFont(theme.font(px + 3))
        self._render_message()

