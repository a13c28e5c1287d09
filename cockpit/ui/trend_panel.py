"""The trend chart: the selected indicator over time for the selected township against the county.

The x axis counts months since 1970-01, so monthly, quarterly and yearly indicators share one
calendar: grid lines fall on Januaries, each point sits in the middle of the span it covers.
Series are cached per (region, indicator): a period change only moves the marker, a region change
reads at most two series and redraws only the township's line over two cached layers.
"""
from __future__ import annotations

import math
from datetime import date

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF, QStaticText, QTransform
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..core import i18n
from ..core.catalogue import Indicator
from ..core.formatting import format_value, period_label
from ..warehouse.queries import Series
from . import qtarrays, theme
from .context import CockpitContext
from .lateness import lateness
from .panel import Panel, Pictures, TitleLabel

_TEXT = {
    "zh_CN": {
        "county": "全县", "target": "目标", "range": "乡镇区间", "county_only": "该指标仅统计全县",
        "range_of": "{children}区间",
        "unit": "单位：{unit}", "trend": {"month": "月度走势", "quarter": "季度走势",
                                          "year": "年度走势"},
        "no_data": "暂无数据", "missing": "未报送",
    },
    "en": {
        "county": "County", "target": "Target", "range": "Township range",
        "range_of": "{children} range",
        "county_only": "County-level indicator", "unit": "Unit: {unit}",
        "trend": {"month": "monthly trend", "quarter": "quarterly trend",
                  "year": "yearly trend"},
        "no_data": "No data", "missing": "not reported",
    },
}
_MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# What each selection field affects here: the domain tab changes nothing on this chart.
_SERIES_FIELDS = frozenset({"region", "indicator"})


def _month_index(periods: np.ndarray) -> np.ndarray:
    """datetime64 periods -> months since 1970-01 as float."""
    return np.asarray(periods, dtype="datetime64[M]").astype(np.int64).astype(float)


def _plot_x(periods: np.ndarray, frequency: str) -> np.ndarray:
    """Chart x of each period: the middle of the span it covers, so a point sits inside its year.

    A month m covers [m, m+1); a quarter ending in month q covers [q-2, q+1); a year (its period
    is December) covers the twelve months before it.
    """
    m = _month_index(periods)
    if frequency == "year":
        return m - 5.0
    if frequency == "quarter":
        return m - 0.5
    return m + 0.5


def _month_date(index: float) -> date:
    y, m = divmod(int(round(index)), 12)
    return date(1970 + y, m + 1, 1)


def _as_date(period: np.datetime64) -> date:
    return np.datetime64(period, "D").astype(date)


def _nice_step(span: float, count: float) -> float:
    """The round step (1, 2 or 5 × 10ⁿ) that cuts `span` into at most about `count` parts."""
    raw = span / max(count, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw * 0.999:
            return factor * magnitude
    return 10 * magnitude


def _value_ticks(lo: float, hi: float, pixels: float, px: int) -> tuple[list[float], float]:
    """Tick values on a value axis `pixels` long: about one per 3.5 lines of text."""
    if not hi > lo:
        return [], 1.0
    step = _nice_step(hi - lo, max(2.0, pixels / (px * 3.5)))
    first = math.ceil(lo / step - 1e-9)
    values = [k * step for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]
    return values, step


def _value_strings(values: list[float], spacing: float, lang: str) -> list[str]:
    """Plain numbers with thousands separators, 万 (k) for very large counts."""
    if not values:
        return []
    big = max(abs(v) for v in values) >= 100_000
    div, suffix = 1, ""
    if big:
        div, suffix = (1_000, "k") if lang == "en" else (10_000, "万")
    step = spacing / div
    places = max(0, int(np.ceil(-np.log10(step)))) if step > 0 else 0
    return [f"{v / div:,.{places}f}{suffix}" for v in values]


def _month_step(span: float, pixels: float) -> int:
    """Months between grid lines: years only over two years or more (month names between them
    are noise on a wall); sparser steps on narrow charts (a label needs ~56 px)."""
    px_per_month = pixels / max(span, 1.0)
    steps = (12, 24, 60) if span >= 24 else (1, 3, 6, 12)
    for step in steps:
        if step * px_per_month >= (40 if step >= 12 else 56):
            return step
    return steps[-1]


def _month_text(index: float, step: int, lang: str) -> str:
    d = _month_date(index)
    if step >= 12 or d.month == 1:
        return str(d.year)
    return _MONTH_EN[d.month - 1] if lang == "en" else f"{d.month}月"


_sprites: dict[tuple, QPixmap] = {}


def _dot(colour: str, diameter: float, edge: str | None, ratio: float) -> QPixmap:
    """A round dot as a pixmap, drawn once: a chart's dots are then copies, not paths."""
    key = (colour, diameter, edge, ratio)
    sprite = _sprites.get(key)
    if sprite is None:
        side = math.ceil(diameter + 2)
        sprite = QPixmap(round(side * ratio), round(side * ratio))
        sprite.setDevicePixelRatio(ratio)
        sprite.fill(Qt.GlobalColor.transparent)
        p = QPainter(sprite)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(edge), 2) if edge else Qt.PenStyle.NoPen)
        p.setBrush(QColor(colour))
        r = diameter / 2 - (1 if edge else 0)
        p.drawEllipse(QPointF(side / 2, side / 2), r, r)
        p.end()
        sprite = _sprites[key] = sprite
    return sprite


class _Line:
    """A series as drawn: chart x, values (NaN for gaps), colour, pen width, dot size (0: none)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, colour: str, width: float, dots: float):
        self.x, self.y, self.colour, self.width, self.dots = x, y, colour, width, dots


class TrendChart(QWidget):
    """The plot, painted directly in the window's one paint pass.

    pyqtgraph's scene (two view boxes, three axes, a dozen items) cost ~20 ms of painting and
    ~10 ms of handlers per township selection here. This widget keeps two cached layers, the
    frame (background, grid, axis labels) and the county's layer (band, target, county line),
    rebuilt only when what they show changes; a selection draws the township's line, the
    period marker and the legend on top of them."""

    period_clicked = Signal(int)   # index into the grid of periods

    def __init__(self, lang: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.lang = lang
        self.font_px = 12
        self.x_range = (0.0, 12.0)
        self.y_range = (0.0, 1.0)          # the township's axis (left), shared unless dual
        self.county_range = (0.0, 1.0)     # the county's axis (right when dual)
        self.dual = False
        self.grid_x = np.array([])
        self.township: _Line | None = None
        self.county: _Line | None = None
        self.band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None   # x, lo, hi
        self.target: float | None = None
        self.county_shown: tuple = ()      # what the county layer shows (see _county_layer)
        self.marker: tuple[int, str] | None = None   # grid index, period tag
        self.hover: int | None = None
        self.legend: list[tuple[str, str, str]] = []  # (kind, colour, text)
        self.empty_text = ""
        self.pictures = Pictures(12 << 20)   # every township's chart at a desk, a few on a wall
        self._statics: dict[tuple, QStaticText] = {}   # see _static
        self.layer_builds = 0              # how often the ground (axes, county layer) was drawn
        # The readout follows the cursor as a widget, so it is never clipped by the plot.
        self.readout = QLabel(self)
        self.readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.hide()
        self.hover_changed: object = None  # set by the panel: called with an index or None

    # -- geometry --------------------------------------------------------------------------------
    def _legend_height(self) -> int:
        return round(self.font_px * 1.8)

    def plot_rect(self) -> QRectF:
        """Where the data is drawn, in the widget's coordinates."""
        axis = self.font_px * 5 + 6
        left = axis
        right = self.width() - (axis if self.dual else 6)
        top = self._legend_height() + 4
        bottom = self.height() - (self.font_px + 14)
        return QRectF(left, top, max(1.0, right - left), max(1.0, bottom - top))

    def _mappers(self, rect: QRectF):
        x0, x1 = self.x_range
        sx = rect.width() / ((x1 - x0) or 1.0)

        def y_map(span):
            lo, hi = span
            sy = rect.height() / ((hi - lo) or 1.0)
            return lambda y: rect.bottom() - (y - lo) * sy
        return (lambda x: rect.left() + (x - x0) * sx), y_map(self.y_range), \
            y_map(self.county_range)

    def point_for(self, x: float, value: float | None = None, county_axis: bool = False) -> QPoint:
        """The widget position of chart x `x` (months since 1970-01) and `value` (the middle of
        the plot's height without one)."""
        rect = self.plot_rect()
        to_x, to_y, to_cy = self._mappers(rect)
        y = rect.center().y() if value is None else (to_cy if county_axis else to_y)(value)
        return QPointF(to_x(x), y).toPoint()

    def index_at(self, pos: QPointF) -> int | None:
        """The period nearest the widget position `pos`, if it is over the plot."""
        rect = self.plot_rect()
        if not len(self.grid_x) or not rect.contains(pos):
            return None
        x0, x1 = self.x_range
        mx = x0 + (pos.x() - rect.left()) / rect.width() * (x1 - x0)
        x = self.grid_x
        idx = int(np.clip(np.searchsorted(x, mx), 0, len(x) - 1))
        if idx > 0 and abs(x[idx - 1] - mx) <= abs(x[idx] - mx):
            idx -= 1
        return idx

    # -- events ----------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:
        idx = self.index_at(event.position())
        if idx != self.hover:
            self.hover = idx
            self.update()
        if self.hover_changed is not None:
            self.hover_changed(idx, event.position())

    def leaveEvent(self, event) -> None:
        if self.hover is not None:
            self.hover = None
            self.update()
        if self.hover_changed is not None:
            self.hover_changed(None, None)
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            idx = self.index_at(event.position())
            if idx is not None:
                self.period_clicked.emit(idx)

    # -- painting --------------------------------------------------------------------------------
    def _layer(self, key: tuple, draw) -> QPixmap:
        """A picture of the whole chart's size, drawn once (see Pictures): the ground (frame,
        grid, axes, the county's layer), and the chart with a township's line on it."""
        def picture() -> QPixmap:
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(QColor(theme.PANEL))
            p = QPainter(pixmap)
            draw(p)
            p.end()
            return pixmap
        return self.pictures.get(key, picture)

    def _chart_picture(self) -> QPixmap:
        """Everything but the marker, the hover and the legend, as one picture per township."""
        rect = self.plot_rect()
        has_county = (self.county is not None or self.band is not None
                      or self.target is not None)
        ground = (self.width(), self.height(), self.devicePixelRatioF(), self.font_px,
                  self.lang, self.x_range, self.dual, self.county_range, self.y_range,
                  has_county and self.county_shown)
        line = self.township

        def draw_chart(q: QPainter) -> None:
            if self.dual:   # the left axis is this township's: no ground to share
                self._draw_ground(q, rect, has_county)
            else:
                q.drawPixmap(0, 0, self._layer(
                    ("ground",) + ground, lambda g: self._draw_ground(g, rect, has_county)))
            if line is not None:
                q.setRenderHint(QPainter.RenderHint.Antialiasing)
                q.setClipRect(rect.adjusted(-6, -6, 6, 6))
                self._draw_line(q, line, rect, self.y_range)

        return self._layer(("chart",) + ground + (
            None if line is None else (line.colour, line.width, line.dots, line.x.tobytes(),
                                       line.y.tobytes()),), draw_chart)

    def draw_ahead(self, line: _Line, ranges: tuple, dual: bool, county_layer: tuple) -> None:
        """Draw, while the cockpit is idle, the picture of the chart with another township's
        `line` on these axes (x, y and county ranges) over this county layer (what it shows,
        the county's line, band and target: TrendPanel._county_layer)."""
        kept = (self.township, self.x_range, self.y_range, self.county_range, self.dual,
                self.county_shown, self.county, self.band, self.target)
        self.township, (self.x_range, self.y_range, self.county_range) = line, ranges
        self.dual = dual
        self.county_shown, self.county, self.band, self.target = county_layer
        try:
            self._chart_picture()
        finally:
            (self.township, self.x_range, self.y_range, self.county_range, self.dual,
             self.county_shown, self.county, self.band, self.target) = kept

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.drawPixmap(0, 0, self._chart_picture())
        rect = self.plot_rect()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setClipRect(rect.adjusted(-6, -6, 6, 6))
        to_x, to_y, to_cy = self._mappers(rect)
        if self.hover is not None:
            self._draw_period(p, rect, self.hover, to_x, to_y, to_cy,
                              QPen(theme.blend(theme.TEXT_DIM, 160), 1, Qt.PenStyle.DotLine),
                              9, theme.TEXT)
        if self.marker is not None:
            idx, tag = self.marker
            self._draw_period(p, rect, idx, to_x, to_y, to_cy,
                              QPen(theme.blend(theme.TEXT, 140), 1.2), 10, theme.PANEL)
            self._draw_tag(p, rect, to_x(float(self.grid_x[idx])), tag)
        p.setClipping(False)
        if self.empty_text:
            p.setFont(theme.font(self.font_px + 2))
            p.setPen(QColor(theme.TEXT_DIM))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.empty_text)
        self._draw_legend(p)
        p.end()

    def _draw_ground(self, p: QPainter, rect: QRectF, has_county: bool) -> None:
        self.layer_builds += 1
        self._draw_frame(p, rect)
        if self.dual:
            self._draw_value_axis(p, rect, left=True)
        if has_county:
            p.save()
            self._draw_county(p, rect)
            p.restore()

    def _draw_frame(self, p: QPainter, rect: QRectF) -> None:
        """Background, grid, axis lines and tick labels."""
        p.setFont(theme.font(self.font_px))
        fm = p.fontMetrics()
        grid = QPen(theme.blend(theme.GRID, 150), 1)
        edge = QPen(QColor(theme.GRID), 1)
        x0, x1 = self.x_range
        to_x = self._mappers(rect)[0]
        # x: grid on Januaries (or each step of months), years centred on their span
        step = _month_step(x1 - x0, rect.width())
        first = int(math.ceil(x0 / step) * step)
        p.setPen(grid)
        for month in range(first, int(x1) + 1, step):
            x = round(to_x(month)) + 0.5
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        p.setPen(QColor(theme.TEXT_DIM))
        top = rect.bottom() + 5
        right_edge = -1e9
        if step >= 12:
            start = int(math.floor(x0 / step) * step)
            labels = []
            for month in range(start, int(x1) + 1, step):
                lo, hi = max(month, x0), min(month + step, x1)
                if hi - lo < step / 3:
                    continue   # too little of the span is shown to name it
                labels.append((min(max(month + step / 2, lo), hi), _month_text(month, step,
                                                                                self.lang)))
        else:
            labels = [(m, _month_text(m, step, self.lang)) for m in range(first, int(x1) + 1,
                                                                          step)]
        for at, text in labels:
            width = fm.horizontalAdvance(text) + 4
            left = min(max(to_x(at) - width / 2, rect.left()), rect.right() - width)
            if left < right_edge + 6:
                continue   # would overlap the label before it
            right_edge = left + width
            p.drawText(QRectF(left, top, width, fm.height()),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        # the shared axis, or with two axes the county's (the township's is drawn per paint)
        self._draw_value_axis(p, rect, left=not self.dual)
        p.setPen(edge)
        p.drawLine(QPointF(rect.left() + 0.5, rect.top()), QPointF(rect.left() + 0.5,
                                                                   rect.bottom()))
        p.drawLine(QPointF(rect.left(), rect.bottom() + 0.5),
                   QPointF(rect.right(), rect.bottom() + 0.5))
        if self.dual:
            p.drawLine(QPointF(rect.right() - 0.5, rect.top()),
                       QPointF(rect.right() - 0.5, rect.bottom()))

    def _draw_value_axis(self, p: QPainter, rect: QRectF, left: bool) -> None:
        """The left axis (the township's scale; it carries the grid) or the right (the county's,
        when the two differ): tick labels placed by hand, no layout per label."""
        px = self.font_px
        p.setFont(theme.font(px))
        fm = p.fontMetrics()
        span = self.y_range if left else self.county_range
        colour = QColor(theme.ACCENT if not left else
                        theme.HIGHLIGHT if self.dual else theme.TEXT_DIM)
        to = self._mappers(rect)[1 if left else 2]
        values, spacing = _value_ticks(*span, rect.height(), px)
        room = px * 5
        grid = QPen(theme.blend(theme.GRID, 150), 1)
        for value, text in zip(values, _value_strings(values, spacing, self.lang)):
            y = to(value)
            if left:
                p.setPen(grid)
                p.drawLine(QPointF(rect.left(), round(y) + 0.5),
                           QPointF(rect.right(), round(y) + 0.5))
            if y < rect.top() + fm.ascent() / 2 - 1 or y > rect.bottom() + 1:
                continue
            p.setPen(colour)
            if left:
                box = QRectF(rect.left() - 5 - room, y - fm.height() / 2, room, fm.height())
                align = Qt.AlignmentFlag.AlignRight
            else:
                box = QRectF(rect.right() + 5, y - fm.height() / 2, room, fm.height())
                align = Qt.AlignmentFlag.AlignLeft
            p.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, text)

    def _draw_county(self, p: QPainter, rect: QRectF) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setClipRect(rect.adjusted(-6, -6, 6, 6))
        to_x, _, to_cy = self._mappers(rect)
        if self.band is not None:
            bx, lo, hi = self.band
            upper = [QPointF(to_x(x), to_cy(v)) for x, v in zip(bx, hi)]
            lower = [QPointF(to_x(x), to_cy(v)) for x, v in zip(bx[::-1], lo[::-1])]
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color(theme.ACCENT, 40))
            p.drawPolygon(QPolygonF(upper + lower))
        if self.target is not None:
            pen = QPen(QColor(theme.ACCENT_2), 1.6, Qt.PenStyle.DashLine)
            p.setPen(pen)
            y = to_cy(self.target)
            p.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
        if self.county is not None:
            self._draw_line(p, self.county, rect, self.county_range)

    def _weight(self) -> float:
        """Lines and dots thicken with the type, so a wall shows them from across the room."""
        return max(1.0, self.font_px / 14)

    def _draw_line(self, p: QPainter, line: _Line, rect: QRectF, span) -> None:
        x0, x1 = self.x_range
        lo, hi = span
        xs = rect.left() + (line.x - x0) * (rect.width() / ((x1 - x0) or 1.0))
        ys = rect.bottom() - (line.y - lo) * (rect.height() / ((hi - lo) or 1.0))
        ok = np.isfinite(ys)
        # runs of finite values: gaps stay gaps
        for start, stop in qtarrays.finite_runs(ok):
            if stop - start > 1:
                # (written into the polygon's memory: a QPointF per point cost ~0.2 ms a line)
                theme.draw_line(p, qtarrays.polygon(xs[start:stop], ys[start:stop]),
                                line.colour, line.width * self._weight())
        if line.dots:
            sprite = _dot(line.colour, round(line.dots * self._weight()), None,
                          self.devicePixelRatioF())
            half = sprite.width() / sprite.devicePixelRatio() / 2
            for x, y in zip(xs[ok].tolist(), ys[ok].tolist()):
                p.drawPixmap(QPointF(x - half, y - half), sprite)

    def _draw_period(self, p: QPainter, rect: QRectF, idx: int, to_x, to_y, to_cy, pen: QPen,
                     diameter: float, edge: str) -> None:
        """A period's vertical line and the township's and county's dots on it."""
        x = to_x(float(self.grid_x[idx]))
        p.setPen(pen)
        p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
        for line, to in ((self.county, to_cy), (self.township, to_y)):
            if line is None or idx >= len(line.y) or not np.isfinite(line.y[idx]):
                continue
            sprite = _dot(line.colour, round(diameter * self._weight()), edge,
                          self.devicePixelRatioF())
            half = sprite.width() / sprite.devicePixelRatio() / 2
            p.drawPixmap(QPointF(x - half, to(float(line.y[idx])) - half), sprite)

    def _draw_tag(self, p: QPainter, rect: QRectF, x: float, text: str) -> None:
        """The selected period's name at the top of its line, on the side with more room."""
        p.setFont(theme.font(self.font_px, True))
        static = self._static(text, p.font())
        size = static.size()
        box = QRectF(0, rect.top(), size.width() + 12, p.fontMetrics().height() + 6)
        if x > rect.center().x():
            box.moveRight(x)
        else:
            box.moveLeft(x)
        p.fillRect(box, theme.blend(theme.BG, 210))
        p.setPen(QColor(theme.TEXT))
        p.drawStaticText(QPointF(box.center().x() - size.width() / 2,
                                 box.center().y() - size.height() / 2), static)

    def _static(self, text: str, font) -> QStaticText:
        """`text` laid out once in `font`: the legend and the period tag are drawn on every
        selection with texts that come back (a township's value, the month)."""
        key = (text, font.key())
        static = self._statics.get(key)
        if static is None:
            if len(self._statics) > 256:
                self._statics.clear()
            static = self._statics[key] = QStaticText(text)
            static.setTextFormat(Qt.TextFormat.PlainText)
            static.setPerformanceHint(QStaticText.PerformanceHint.AggressiveCaching)
            static.prepare(QTransform(), font)
        return static

    def _draw_legend(self, p: QPainter) -> None:
        """Swatches and their texts in a row above the plot (clipped, never wrapped)."""
        px = self.font_px
        p.setFont(theme.font(px))
        h = self._legend_height()
        x, mid = 2.0, h / 2
        for kind, colour, text in self.legend:
            w = px * 1.6
            if kind == "band":
                p.fillRect(QRectF(x, mid - px * 0.3, w, px * 0.6), theme.color(colour, 70))
            else:
                pen = QPen(QColor(colour), 3 if kind == "thick" else 2)
                if kind == "dash":
                    pen = QPen(QColor(colour), 1.6, Qt.PenStyle.DashLine)
                p.setPen(pen)
                p.drawLine(QPointF(x + 1, mid), QPointF(x + w - 1, mid))
            x += w + 5
            p.setPen(QColor(theme.TEXT))
            static = self._static(text, p.font())
            size = static.size()
            p.drawStaticText(QPointF(x, (h - size.height()) / 2), static)
            x += size.width() + 16


def _style_label(label: QLabel, px: int, colour: str, bold: bool = False) -> None:
    # A local sheet beats the application's QLabel rules, so the chart's type scale holds.
    weight = "bold" if bold else "normal"
    label.setStyleSheet(f"color: {colour}; background: transparent; font-size: {px}px;"
                        f" font-weight: {weight}; font-family: '{theme.load_font()}';")


class TrendPanel(Panel):
    """Indicator over time: selected township (HIGHLIGHT) vs county (ACCENT), target, marker.

    The county line, the townships' band and the target share the township's y range, except
    for summed indicators with a township selected: a township's share of a county total would
    be a flat line at the bottom, so the county gets its own scale on the right axis.
    """

    fields = _SERIES_FIELDS | {"period"}
    TEXT = _TEXT

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        self._t = self.t
        # The county's layers (line, band, target) worked out, by what they show; a township
        # change leaves the shown one alone. The generation counts reloads (other figures).
        self._layers: dict[tuple, tuple] = {}
        self._generation = 0
        self._aligned: dict[tuple, tuple] = {}   # see _refresh_series; for one snapshot
        # Plotted data, by series name: periods as datetime64[D], values with NaN for gaps.
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._names: list[str] = []
        self._grid = np.array([], dtype="datetime64[D]")   # the indicator's periods
        self._grid_x = np.array([])
        self._band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._township_name: str | None = None
        self._dual = False
        self._font_px = 12
        self.marker_period: date | None = None
        self.title_text = ""
        self._build()
        self.sync()

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(4)

        header = QHBoxLayout()
        header.setSpacing(10)
        self._title = TitleLabel(parent=self)
        self._title.setFont(theme.font(17, True))
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._note = QLabel(self._t["county_only"], self)
        self._note.hide()
        self._unit = QLabel(self)
        header.addWidget(self._title, 1)
        header.addWidget(self._note)
        header.addWidget(self._unit)
        layout.addLayout(header)

        self.chart = TrendChart(self.ctx.lang, self)
        self.chart.period_clicked.connect(self._on_period_clicked)
        self.chart.hover_changed = self._on_hover
        layout.addWidget(self.chart, 1)
        self._apply_fonts()

    # -- selection ----------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        if changed & _SERIES_FIELDS:
            self._refresh_series()
        self._refresh_marker()
        self.chart.update()

    def on_reload(self) -> None:
        self._generation += 1
        self._layers = {}
        self._aligned = {}
        self._refresh_series()
        self._refresh_marker()
        self.chart.update()

    # -- public state for tests -----------------------------------------------------------------
    def series_names(self) -> list[str]:
        """Names of the visible lines: the township (if shown), 全县, 目标 (if any)."""
        return list(self._names)

    def series_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(periods as datetime64[D], values) of a visible line; NaN where a period is missing.

        The target line is given by its two ends.
        """
        x, y = self._data[name]
        return x.copy(), y.copy()

    def band_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(periods, township minimum, township maximum) while the county is selected."""
        return self._band

    @property
    def dual_axis(self) -> bool:
        """True while the county is drawn against its own (right) axis."""
        return self._dual

    def hover_text(self) -> str:
        readout = self.chart.readout
        return readout.text() if readout.isVisible() else ""

    def note_text(self) -> str:
        """The note beside the title ("该指标仅统计全县"), empty while none is shown."""
        return self._note.text() if self._note.isVisible() else ""

    def legend_texts(self) -> list[str]:
        """The legend as read: each entry's text, in order."""
        return [text for _, _, text in self.chart.legend]

    def chart_point(self, period: date, value: float | None = None) -> QPoint:
        """Where on the chart widget `period` (and `value`, on the township's axis) is drawn."""
        ind = self.ctx.indicator()
        x = float(_plot_x(np.array([period], "datetime64[D]"), ind.frequency)[0])
        return self.chart.point_for(x, value)

    # -- data -----------------------------------------------------------------------------------
    def warm(self, region: str) -> None:
        """Fetch what selecting `region` would draw (see prewarm.py)."""
        ind = self.ctx.indicator()
        if not ind.county_only:
            self._series(region, ind.code)

    def _series(self, region: str, indicator: str) -> Series:
        return self.ctx.queries.series(region, indicator)   # memoised per snapshot

    def _township_band(self, indicator: str):
        """Per-period min and max over the townships: (periods, lo, hi), or None.

        One grouped query (memoised per snapshot), never one series per township."""
        band = self.ctx.queries.child_band(self.ctx.view_code, indicator)
        return None if band is None else (band.periods, band.lo, band.hi)

    @staticmethod
    def _align(series: Series, grid: np.ndarray) -> np.ndarray:
        values = np.full(len(grid), np.nan)
        if len(series.periods):
            values[np.searchsorted(grid, series.periods)] = series.values
        return values

    # -- drawing --------------------------------------------------------------------------------
    def _refresh_series(self) -> None:
        ctx, state, chart = self.ctx, self.ctx.state, self.chart
        ind = ctx.indicator()
        # Against the level shown: a township against its county, a county against itself
        # with its townships' band; the words follow the level (全县, 全市 …).
        county = ctx.view_code
        self._t = dict(self._t, county=ctx.whole_word(county),
                       range=self._t["range_of"].format(children=ctx.children_noun(county)))
        is_township = state.region != county and state.region in ctx.queries.region_by_code
        show_township = is_township and not ind.county_only

        self._grid, self._grid_x, county_y, township_y, ranges = self._lines(
            county, state.region if show_township else None, ind)
        x = self._grid_x
        self._dual = township_y is not None and ind.aggregation == "sum"

        self.title_text = f"{ctx.tr_name(ind)} · {self._t['trend'].get(ind.frequency, '')}"
        # The series runs to the newest period there is: late when that one is.
        latest = _as_date(self._grid[-1]) if len(self._grid) else None
        word, colour, tip = lateness(ctx, latest, ind.frequency)
        late = (f" · <span style='color:{colour}'>"
                f"{period_label(latest, ind.frequency, ctx.lang) if latest else ''} {word}</span>"
                if colour else "")
        self._title.setText(self.title_text + late)
        self._title.setToolTip(f"{self.title_text}<br>{tip}")
        self._note.setVisible(is_township and ind.county_only)
        unit = i18n.unit(ind.unit, ctx.lang)
        self._unit.setText(self._t["unit"].format(unit=unit) if unit else "")

        self._data = {}
        names: list[str] = []
        county_name = self._t["county"]
        self._township_name = ctx.region_name(state.region) if show_township else None
        dots = ind.frequency != "month"   # a few points: dots make each one readable

        chart.grid_x = x
        chart.township = None
        if township_y is not None:
            chart.township = _Line(x, township_y, theme.HIGHLIGHT, 3, 7 if dots else 0)
            self._data[self._township_name] = (self._grid, township_y)
            names.append(self._township_name)

        self._data[county_name] = (self._grid, county_y)
        names.append(county_name)
        # The townships' spread behind the county line, when the county itself is selected.
        # Not for summed indicators: a township's share would lie flat under the county total.
        band = None
        if not is_township and ind.aggregation in ("mean", "pop_mean"):
            band = self._township_band(ind.code)
        # Stepping from township to township changes only the township's line: the county's
        # layer is drawn again only when what it shows changes.
        layer = self._county_layer(county, ind, show_township, band, x, county_y)
        if layer[0] != chart.county_shown:
            chart.county_shown, chart.county, chart.band, chart.target = layer
        self._band = band

        target = ind.target_value
        if target is not None:
            ends = self._grid[[0, -1]] if len(self._grid) else self._grid
            self._data[self._t["target"]] = (ends, np.full(len(ends), float(target)))
            names.append(self._t["target"])
        self._names = names

        chart.x_range, chart.y_range, chart.county_range = ranges
        chart.dual = self._dual
        chart.empty_text = self._t["no_data"] if len(self._grid) == 0 else ""

    def _county_layer(self, county: str, ind: Indicator, beside_township: bool, band,
                      x: np.ndarray, county_y: np.ndarray) -> tuple:
        """(what it shows, the county's line, the townships' band, the target) of the chart's
        county layer: the line is thinner beside a township's; the band only shows for the
        county itself. Kept by what it shows, which is the pictures' key too (TrendChart)."""
        target = ind.target_value
        key = (self._generation, county, ind.code, beside_township, band is not None,
               x.tobytes(), target)
        found = self._layers.get(key)
        if found is None:
            dots = ind.frequency != "month"
            spread = None
            if band is not None:
                periods, lo, hi = band
                bx = _plot_x(periods, ind.frequency)
                ok = np.isfinite(lo) & np.isfinite(hi)
                spread = (bx[ok], lo[ok], hi[ok])
            found = (key, _Line(x, county_y, theme.ACCENT, 2 if beside_township else 3,
                                6 if dots else 0),
                     spread, None if target is None else float(target))
            if len(self._layers) > 16:
                self._layers.clear()
            self._layers[key] = found
        return found

    def _lines(self, county: str, region: str | None, ind: Indicator) -> tuple:
        """(periods, chart x, the county's values, the township's or None, the axes' x, y and
        county ranges) on a common grid of periods: worked out once per township and
        indicator (a wall going round the townships asks for the same ones again and again)."""
        key = (county, region, ind.code)
        found = self._aligned.get(key)
        if found is None:
            if len(self._aligned) > 256:
                self._aligned.clear()
            county_series = self._series(county, ind.code)
            township_series = self._series(region, ind.code) if region is not None else None
            grid = county_series.periods
            if township_series is not None and len(township_series.periods):
                grid = np.union1d(grid, township_series.periods)
            grid = np.asarray(grid, dtype="datetime64[D]")
            x = _plot_x(grid, ind.frequency)
            county_y = self._align(county_series, grid)
            township_y = (None if township_series is None
                          else self._align(township_series, grid))
            found = self._aligned[key] = (grid, x, county_y, township_y,
                                          self._ranges(x, county_y, township_y, ind))
        return found

    def _ranges(self, x: np.ndarray, county_y: np.ndarray, township_y: np.ndarray | None,
                ind: Indicator) -> tuple:
        months = self.ctx.queries.months
        if months:
            first, last = _month_index(np.array([months[0], months[-1]], "datetime64[D]"))
            x0, x1 = first, last + 1.0   # the spans the warehouse covers
        else:
            x0, x1 = 0.0, 12.0
        if len(x):
            x0, x1 = min(x0, x[0] - 0.5), max(x1, x[-1] + 0.5)
        pad = max(0.3, (x1 - x0) * 0.01)
        x_range = (float(x0 - pad), float(x1 + pad))
        target = ind.target_value
        extra = [float(target)] if target is not None else []
        if township_y is not None and ind.aggregation == "sum":   # two axes
            return x_range, self._y_range([township_y], []), self._y_range([county_y], extra)
        # One scale per indicator for the county and every township, so stepping through
        # townships compares them on the same axis (and leaves the axes untouched).
        spread = self._township_band(ind.code) if not ind.county_only else None
        values = [county_y] + ([spread[1], spread[2]] if spread is not None else [])
        if township_y is not None:
            values.append(township_y)
        y_range = self._y_range(values, extra)
        return x_range, y_range, y_range

    def warm_look(self, region: str) -> None:
        """Draw ahead the chart selecting `region` shows (see prewarm.py): one of the county's
        townships against the county, from the county itself as from another township."""
        ctx, state = self.ctx, self.ctx.state
        ind = ctx.indicator()
        county = ctx.view_code
        if (ind.county_only or not self.isVisible() or not self.up_to_date
                or region in (county, state.region) or region not in ctx.queries.region_by_code
                or ctx.hierarchy.view_of(region) != county):
            return
        _, x, county_y, township_y, ranges = self._lines(county, region, ind)
        if township_y is None:
            return
        dots = ind.frequency != "month"
        self.chart.draw_ahead(_Line(x, township_y, theme.HIGHLIGHT, 3, 7 if dots else 0),
                              ranges, ind.aggregation == "sum",
                              self._county_layer(county, ind, True, None, x, county_y))

    @staticmethod
    def _y_range(arrays: list[np.ndarray], extra: list[float]) -> tuple[float, float]:
        values = np.concatenate([np.asarray(a, float) for a in arrays] + [np.array(extra)])
        values = values[np.isfinite(values)]
        if not len(values):
            return 0.0, 1.0
        lo, hi = float(values.min()), float(values.max())
        span = hi - lo or max(abs(hi), 1.0) * 0.1
        # Head-room on top for the period tag; a floor at zero for data that cannot go negative.
        lo_pad, hi_pad = lo - span * 0.08, hi + span * 0.2
        if lo >= 0 > lo_pad:
            lo_pad = 0.0
        return lo_pad, hi_pad

    def _target_text(self, ind: Indicator) -> str:
        # "24 μg/m³", not "24.0 μg/m³": targets are round figures in the plans.
        target = ind.target_value
        text = format_value(target, ind, self.ctx.lang)
        if float(target).is_integer() and ind.decimals:
            text = text.replace(f"{target:,.{ind.decimals}f}", f"{target:,.0f}", 1)
        return text

    def _refresh_marker(self) -> None:
        """Move the period marker to the selected month (the period in force for slower data)."""
        ind = self.ctx.indicator()
        month = np.datetime64(self.ctx.state.period, "D")
        idx = int(np.searchsorted(self._grid, month, side="right")) - 1
        if idx < 0:
            self.marker_period = None
            self.chart.marker = None
        else:
            self.marker_period = _as_date(self._grid[idx])
            self.chart.marker = (idx, period_label(self.marker_period, ind.frequency,
                                                   self.ctx.lang))
        self._update_legend(ind, None if idx < 0 else idx)

    def _value_at(self, name: str | None, idx: int | None) -> float | None:
        if idx is None or name not in self._data:
            return None
        y = self._data[name][1]
        return float(y[idx]) if 0 <= idx < len(y) and np.isfinite(y[idx]) else None

    def _county_label(self) -> str:
        if not self._dual:
            return self._t["county"]
        return self._t["county"] + ("（右轴）" if self.ctx.lang != "en" else " (right axis)")

    def _update_legend(self, ind: Indicator, idx: int | None) -> None:
        legend = []
        if self._township_name is not None:
            value = self._value_text(self._township_name, idx, ind)
            legend.append(("thick", theme.HIGHLIGHT, f"{self._township_name} {value}"))
        value = self._value_text(self._t["county"], idx, ind)
        legend.append(("line", theme.ACCENT, f"{self._county_label()} {value}"))
        if self._band is not None:
            legend.append(("band", theme.ACCENT, self._t["range"]))
        if ind.target_value is not None:
            legend.append(("dash", theme.ACCENT_2,
                           f"{self._t['target']} {self._target_text(ind)}"))
        self.chart.legend = legend

    def _value_text(self, name: str, idx: int | None, ind: Indicator) -> str:
        value = self._value_at(name, idx)
        if value is None and idx is not None and len(self._grid):
            return self._t["missing"]   # the period exists, this region did not report it
        return format_value(value, ind, self.ctx.lang)

    # -- hover and click ------------------------------------------------------------------------
    def _on_hover(self, idx: int | None, at: QPointF | None) -> None:
        label = self.chart.readout
        if idx is None:
            label.hide()
            return
        ind = self.ctx.indicator()
        period = _as_date(self._grid[idx])
        lines = [f"<b>{period_label(period, ind.frequency, self.ctx.lang)}</b>"]
        for name, colour in ((self._township_name, theme.HIGHLIGHT),
                             (self._t["county"], theme.ACCENT)):
            if name is None:
                continue
            value = self._value_text(name, idx, ind)
            lines.append(f"<span style='color:{colour}'>●</span>&nbsp;{name}"
                         f"&nbsp;&nbsp;<b>{value}</b>")
        if ind.target_value is not None:
            lines.append(f"<span style='color:{theme.ACCENT_2}'>━</span>&nbsp;"
                         f"{self._t['target']}&nbsp;&nbsp;{self._target_text(ind)}")
        unit = i18n.unit(ind.unit, self.ctx.lang)
        department = self.ctx.queries.department(ind.department, self.ctx.lang)
        source = " · ".join(part for part in (department, unit) if part)
        if source:
            lines.append(f"<span style='color:{theme.TEXT_DIM}'>{source}</span>")
        label.setText("<br>".join(lines))
        label.adjustSize()
        x = at.x() + 16
        if x + label.width() > self.chart.width() - 4:
            x = at.x() - 16 - label.width()
        y = min(max(4, at.y() - label.height() - 12),
                max(4, self.chart.height() - label.height() - 4))
        label.move(QPoint(int(max(4, x)), int(y)))
        label.show()
        label.raise_()

    def _on_period_clicked(self, idx: int) -> None:
        self.ctx.select(period=_as_date(self._grid[idx]))

    # -- sizing ---------------------------------------------------------------------------------
    def _apply_fonts(self) -> None:
        px = self._font_px
        self.chart.font_px = px
        _style_label(self._unit, px, theme.TEXT_DIM)
        _style_label(self._note, px, theme.ACCENT_2, bold=True)
        bg = theme.color(theme.BG)
        self.chart.readout.setStyleSheet(
            f"color: {theme.TEXT}; background: rgba({bg.red()}, {bg.green()}, {bg.blue()}, 235);"
            f" border: 1px solid {theme.PANEL_EDGE}; border-radius: 4px; padding: 5px 8px;"
            f" font-size: {px}px; font-family: '{theme.load_font()}';")
        self.chart.update()

    def apply_scale(self) -> None:
        """Type may grow past its laptop size on a video wall (the window's scale)."""
        self.resizeEvent(None)

    def resizeEvent(self, event) -> None:
        # Type grows with the panel so one chart reads on a laptop and on a video wall.
        px = theme.px(np.clip(round(min(self.height() / 32, self.width() / 46)), 11,
                              round(16 * self.scale)))
        if px != self._font_px:
            self._font_px = px
            self._apply_fonts()
        if event is not None:
            super().resizeEvent(event)
