"""The trend chart: the selected indicator over time for the selected township against the county.

The x axis counts months since 1970-01, so monthly, quarterly and yearly indicators share one
calendar: grid lines fall on Januaries, each point sits in the middle of the span it covers.
Series are cached per (region, indicator): a period change only moves the marker, a region change
reads at most two series.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (QFrame, QGraphicsItem, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout,
                               QWidget)

from ..core import i18n
from ..core.catalogue import Indicator
from ..core.formatting import format_value, period_label
from ..warehouse.queries import Series
from . import theme
from .context import CockpitContext
from .lateness import lateness
from .panel import Panel, TitleLabel

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


_styles: dict[tuple, object] = {}


def _dot_style(colour: str, edge: str | None = None) -> tuple:
    """(brush, pen) for dots of a colour, the same objects every time.

    pyqtgraph's scatter items keep a symbol atlas keyed by the pen's and the brush's identity:
    a new mkPen/mkBrush per selection added an atlas entry every time (~1,000 before pyqtgraph
    rebuilds it), part of the cockpit's memory growing with every selection."""
    key = ("dot", colour, edge)
    if key not in _styles:
        _styles[key] = (pg.mkBrush(colour), pg.mkPen(edge, width=2) if edge else None)
    return _styles[key]


def _no_pen() -> QPen:
    # Not None: pyqtgraph turns None into a new (empty) pen on every call.
    if "none" not in _styles:
        _styles["none"] = pg.mkPen(None)
    return _styles["none"]


def _line_pen(colour: str, width: float) -> QPen:
    key = ("line", colour, width)
    if key not in _styles:
        _styles[key] = pg.mkPen(colour, width=width)
    return _styles[key]


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


class _DirectAxis(pg.AxisItem):
    """An axis that paints its ticks and text straight onto the painter.

    pyqtgraph records an axis into a QPicture and replays it; replaying text re-resolves the
    font for every label, which cost ~4 ms per repaint of a value axis here. The item keeps a
    device-pixmap cache, so this paint only runs when the axis really changes (a new range)."""

    _FRESH = object()   # stands in for pyqtgraph's picture: set once the specs are current

    def paint(self, p, opt, widget):
        p.save()
        if self.style["tickFont"]:
            p.setFont(self.style["tickFont"])
        if self.picture is None:   # pyqtgraph resets it whenever range, size or style change
            self._specs = self._cached_specs(p)
            self.picture = self._FRESH
        if self._specs is not None:
            self.drawPicture(p, *self._specs)
        p.restore()

    def _cached_specs(self, p):
        """The draw specs, kept per range, geometry and style: stepping through townships
        (each with its own scale on a dual-axis chart) comes back to the same few ranges, and
        pyqtgraph's tick and label layout costs ~3 ms each time."""
        if not hasattr(self, "_specs_cache"):
            self._specs_cache: dict = {}
        view = self.linkedView()
        grid = (view.mapRectToItem(self, view.boundingRect()).getRect()
                if view is not None and self.grid is not False else None)
        font = self.style["tickFont"]
        pens = (self.pen(), self.tickPen(), self.textPen())
        key = (tuple(self.range), self.mapRectFromParent(self.geometry()).getRect(), grid,
               self.grid, self.scale, self.autoSIPrefixScale, self.logMode,
               font.key() if font else None, p.font().key(),
               tuple((pen.color().rgba(), pen.widthF(), int(pen.style().value)) for pen in pens),
               tuple(sorted((k, repr(v)) for k, v in self.style.items() if k != "tickFont")),
               repr(self._tickLevels), self.deviceTransform(self._view_transform()).map(
                   QPointF(0, 0)).toTuple())
        found = self._specs_cache.get(key)
        if found is None:
            self._text_size = None
            specs = self.generateDrawSpecs(p)
            if specs is not None:
                # Grid lines come with a translucent pen, and Qt draws a translucent line
                # without antialiasing ~30x slower than an opaque one (~110 µs against 3.5 µs
                # for a line across the chart): each pen is blended onto the chart's background
                # first, the same colour on screen.
                axis, ticks, texts = specs
                specs = axis, [(self._opaque(pen), p1, p2) for pen, p1, p2 in ticks], texts
            if len(self._specs_cache) > 64:
                self._specs_cache.clear()
            found = self._specs_cache[key] = (specs, self._text_size)
        elif found[1] is not None:   # what generating them tells the axis about its width
            self._updateMaxTextSize(found[1])
        return found[0]

    def _view_transform(self):
        views = self.scene().views() if self.scene() is not None else []
        return views[0].viewportTransform() if views else QTransform()

    def _updateMaxTextSize(self, x):   # noqa: N802 — pyqtgraph's name
        self._text_size = x
        super()._updateMaxTextSize(x)

    @staticmethod
    def _opaque(pen: QPen) -> QPen:
        colour = pen.color()
        alpha = colour.alphaF()
        if alpha >= 1.0:
            return pen
        pen = QPen(pen)
        pen.setColor(theme.blend(colour.name(), round(alpha * 255)))
        return pen


class _MonthAxis(_DirectAxis):
    """Bottom axis in months: grid at Januaries with the year centred on its span ("2021").

    When zoomed in far enough for monthly steps, months get their own labels ("4月").
    """

    def __init__(self, lang: str):
        super().__init__(orientation="bottom")
        self._lang = lang
        self._step = 12

    def tickValues(self, minVal, maxVal, size):
        span = max(maxVal - minVal, 1.0)
        px_per_month = size / span
        # Two years or more: years only (month names between them are noise on a wall). A label
        # needs ~56 px; sparser steps on narrow charts.
        steps = (12, 24, 60) if span >= 24 else (1, 3, 6, 12)
        for step in steps:
            if step * px_per_month >= (40 if step >= 12 else 56):
                break
        self._step = step
        first = int(np.ceil(minVal / step) * step)
        if step >= 12:
            # The year before the first visible January still labels its visible part.
            first -= step
        return [(float(step), [float(v) for v in range(first, int(maxVal) + 1, step)])]

    def tickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            d = _month_date(v)
            if spacing >= 12 or d.month == 1:
                out.append(str(d.year))
            elif self._lang == "en":
                out.append(_MONTH_EN[d.month - 1])
            else:
                out.append(f"{d.month}月")
        return out

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None or self._step < 12:
            return specs
        # Year labels sit in the middle of their span, not on the January grid line; the
        # base class would drop the first one (its tick is on the axis' left edge).
        axis_spec, tick_specs, _ = specs
        bounds = self.mapRectFromParent(self.geometry())
        lo, hi = self.range
        if hi <= lo:
            return specs
        scale = bounds.width() / (hi - lo)
        metrics = p.fontMetrics()
        top = bounds.top() + max(0, self.style["tickLength"]) + self.style["tickTextOffset"][1]
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        texts = []
        start = int(np.floor(lo / self._step) * self._step)
        for first_month in range(start, int(hi) + 1, self._step):
            middle = first_month + self._step / 2
            visible_lo, visible_hi = max(first_month, lo), min(first_month + self._step, hi)
            if visible_hi - visible_lo < self._step / 3:
                continue   # too little of the span is shown to name it
            text = str(_month_date(first_month).year)
            width = metrics.horizontalAdvance(text) + 4
            centre = bounds.left() + (min(max(middle, visible_lo), visible_hi) - lo) * scale
            left = min(max(centre - width / 2, bounds.left()), bounds.right() - width)
            texts.append((QRectF(left, top, width, metrics.height()), flags, text))
        return axis_spec, tick_specs, texts


class _ValueAxis(_DirectAxis):
    """Value axis: plain numbers with thousands separators, 万 (k) for very large counts."""

    def __init__(self, lang: str, orientation: str = "left"):
        super().__init__(orientation=orientation)
        self._lang = lang

    def tickStrings(self, values, scale, spacing):
        if not values:
            return []
        big = max(abs(v) for v in values) >= 100_000
        div, suffix = 1, ""
        if big:
            div, suffix = (1_000, "k") if self._lang == "en" else (10_000, "万")
        step = spacing / div
        places = max(0, int(np.ceil(-np.log10(step)))) if step > 0 else 0
        return [f"{v / div:,.{places}f}{suffix}" for v in values]


class _LegendEntry(QWidget):
    """A swatch (solid line, dashed line or band) and its text."""

    def __init__(self, colour: str, kind: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._colour = colour
        self._kind = kind
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(5)
        self.swatch = QLabel(self)
        self.text = QLabel(self)
        layout.addWidget(self.swatch)
        layout.addWidget(self.text)
        self.set_font_px(12)

    def set_font_px(self, px: int) -> None:
        _style_label(self.text, px, theme.TEXT)
        w, h = int(px * 1.6), int(px * 1.0)
        pix = QPixmap(w, h)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._kind == "band":
            p.fillRect(0, 2, w, h - 4, theme.color(self._colour, 70))
        else:
            pen = QPen(QColor(self._colour), 3 if self._kind == "thick" else 2)
            if self._kind == "dash":
                pen.setStyle(Qt.PenStyle.DashLine)
                pen.setWidthF(1.6)
            p.setPen(pen)
            p.drawLine(QPointF(1, h / 2), QPointF(w - 1, h / 2))
        p.end()
        self.swatch.setPixmap(pix)


def _style_label(label: QLabel, px: int, colour: str, bold: bool = False) -> None:
    # A local sheet beats the application's QLabel rules, so the chart's type scale holds.
    weight = "bold" if bold else "normal"
    label.setStyleSheet(f"color: {colour}; background: transparent; font-size: {px}px;"
                        f" font-weight: {weight}; font-family: '{theme.load_font()}';")


class TrendPanel(Panel):
    """Indicator over time: selected township (HIGHLIGHT) vs county (ACCENT), target, marker.

    The county line, the townships' band and the target live in a second view box. It shares the
    main view's y range, except for summed indicators with a township selected: a township's
    share of a county total would be a flat line at the bottom, so the county gets its own scale
    on the right axis.
    """

    fields = _SERIES_FIELDS | {"period"}
    TEXT = _TEXT

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        self._t = self.t
        # What the county line and the band show now: a township change leaves them alone.
        self._county_shown: tuple | None = None
        # Plotted data, by series name: periods as datetime64[D], values with NaN for gaps.
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._names: list[str] = []
        self._grid = np.array([], dtype="datetime64[D]")   # the indicator's periods
        self._grid_x = np.array([])
        self._band: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._township_name: str | None = None
        self._dual = False
        self._dual_shown = False
        self._font_px = 12
        self.marker_period: date | None = None
        self.title_text = ""

        self._build()
        scene = self._plot.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self._plot.viewport().installEventFilter(self)
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

        # The legend may be clipped on a narrow panel but never widens it.
        legend_box = QWidget(self)
        legend_box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        legend = QHBoxLayout(legend_box)
        legend.setContentsMargins(0, 0, 0, 0)
        legend.setSpacing(16)
        self._legend_township = _LegendEntry(theme.HIGHLIGHT, "thick", legend_box)
        self._legend_county = _LegendEntry(theme.ACCENT, "line", legend_box)
        self._legend_band = _LegendEntry(theme.ACCENT, "band", legend_box)
        self._legend_target = _LegendEntry(theme.ACCENT_2, "dash", legend_box)
        for entry in self._legend_entries():
            legend.addWidget(entry)
        legend.addStretch(1)
        layout.addWidget(legend_box)

        self._bottom_axis = _MonthAxis(self.ctx.lang)
        self._left_axis = _ValueAxis(self.ctx.lang, "left")
        self._right_axis = _ValueAxis(self.ctx.lang, "right")
        self._plot = pg.PlotWidget(self, background=theme.PANEL,
                                   axisItems={"bottom": self._bottom_axis,
                                              "left": self._left_axis,
                                              "right": self._right_axis})
        self._plot.setFrameShape(QFrame.Shape.NoFrame)
        self._plot.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        item = self._plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.showGrid(x=True, y=True, alpha=0.5)
        item.layout.setContentsMargins(0, 2, 4, 0)
        item.hideAxis("right")
        self._vb = item.getViewBox()
        self._vb.setDefaultPadding(0.0)
        for axis in (self._bottom_axis, self._left_axis, self._right_axis):
            # Below both view boxes, so grid lines run under the data, not across it.
            axis.setZValue(-200)
            axis.setPen(pg.mkPen(theme.GRID))
            axis.setTickPen(pg.mkPen(theme.GRID))
            axis.setStyle(tickLength=-4, tickTextOffset=5)
            # Axis text replays slowly through QPicture; a device pixmap cache makes a
            # selection change (which only moves the series) a blit.
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._bottom_axis.setStyle(hideOverlappingLabels=80)
        self._left_axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
        self._right_axis.setTextPen(pg.mkPen(theme.ACCENT))
        layout.addWidget(self._plot, 1)

        # The county's view box: drawn beneath the township's so the selection stays on top.
        self._county_vb = pg.ViewBox(enableMouse=False, enableMenu=False, defaultPadding=0.0)
        item.scene().addItem(self._county_vb)
        self._county_vb.setZValue(self._vb.zValue() - 1)
        self._right_axis.linkToView(self._county_vb)
        self._county_vb.setXLink(self._vb)
        self._county_vb.setYLink(self._vb)
        self._vb.sigResized.connect(self._sync_county_view)

        self._band_lo = pg.PlotCurveItem(pen=pg.mkPen(None))
        self._band_hi = pg.PlotCurveItem(pen=pg.mkPen(None))
        self._band_fill = pg.FillBetweenItem(self._band_lo, self._band_hi,
                                             brush=theme.color(theme.ACCENT, 40))
        self._target_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(
            theme.ACCENT_2, width=1.6, style=Qt.PenStyle.DashLine))
        self._county_curve = pg.PlotDataItem()
        self._county_marker = pg.ScatterPlotItem(size=10, pxMode=True)
        self._county_hover = pg.ScatterPlotItem(size=9, pxMode=True)
        for z, chart_item in enumerate((self._band_lo, self._band_hi, self._band_fill,
                                        self._target_line, self._county_curve,
                                        self._county_marker, self._county_hover)):
            chart_item.setZValue(z)
            self._county_vb.addItem(chart_item, ignoreBounds=True)

        self._marker_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(
            theme.blend(theme.TEXT, 140), width=1.2))
        self._hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(
            theme.blend(theme.TEXT_DIM, 160), width=1, style=Qt.PenStyle.DotLine))
        self._township_curve = pg.PlotDataItem()
        self._township_marker = pg.ScatterPlotItem(size=10, pxMode=True)
        self._township_hover = pg.ScatterPlotItem(size=9, pxMode=True)
        self._marker_label = pg.TextItem(color=theme.TEXT, fill=theme.blend(theme.BG, 210))
        self._empty = pg.TextItem(self._t["no_data"], color=theme.TEXT_DIM, anchor=(0.5, 0.5))
        for z, chart_item in enumerate((self._marker_line, self._hover_line,
                                        self._township_curve, self._township_marker,
                                        self._township_hover, self._marker_label, self._empty)):
            chart_item.setZValue(z)
            self._plot.addItem(chart_item, ignoreBounds=True)
        self._empty.hide()
        self._hide_hover()

        # The readout follows the cursor as a widget, so it is never clipped by the view box.
        self._hover_label = QLabel(self._plot.viewport())
        self._hover_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._hover_label.setTextFormat(Qt.TextFormat.RichText)
        self._hover_label.hide()
        self._apply_fonts()

    def _sync_county_view(self) -> None:
        self._county_vb.setGeometry(self._vb.sceneBoundingRect())
        self._county_vb.linkedViewChanged(self._vb, self._county_vb.XAxis)

    def _legend_entries(self) -> list[_LegendEntry]:
        return [self._legend_township, self._legend_county, self._legend_band,
                self._legend_target]

    # -- selection ----------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        if changed & _SERIES_FIELDS:
            self._refresh_series()
        self._refresh_marker()

    def on_reload(self) -> None:
        self._county_shown = None
        self._refresh_series()
        self._refresh_marker()

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
        return self._hover_label.text() if self._hover_label.isVisible() else ""

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
        ctx, state = self.ctx, self.ctx.state
        ind = ctx.indicator()
        # Against the level shown: a township against its county, a county against itself
        # with its townships' band; the words follow the level (全县, 全市 …).
        county = ctx.view_code
        self._t = dict(self._t, county=ctx.whole_word(county),
                       range=self._t["range_of"].format(children=ctx.children_noun(county)))
        is_township = state.region != county and state.region in ctx.queries.region_by_code
        show_township = is_township and not ind.county_only

        county_series = self._series(county, ind.code)
        township_series = self._series(state.region, ind.code) if show_township else None
        grid = county_series.periods
        if township_series is not None and len(township_series.periods):
            grid = np.union1d(grid, township_series.periods)
        self._grid = np.asarray(grid, dtype="datetime64[D]")
        self._grid_x = x = _plot_x(self._grid, ind.frequency)
        self._dual = township_series is not None and ind.aggregation == "sum"

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

        if township_series is not None:
            y = self._align(township_series, self._grid)
            self._township_curve.setData(x, y, connect="finite",
                                         pen=_line_pen(theme.HIGHLIGHT, 3),
                                         symbol="o" if dots else None, symbolSize=7,
                                         symbolBrush=_dot_style(theme.HIGHLIGHT)[0],
                                         symbolPen=_no_pen())
            self._township_curve.show()
            self._data[self._township_name] = (self._grid, y)
            names.append(self._township_name)
        else:
            self._township_curve.setData([], [])
            self._township_curve.hide()

        county_y = self._align(county_series, self._grid)
        self._data[county_name] = (self._grid, county_y)
        names.append(county_name)
        # The townships' spread behind the county line, when the county itself is selected.
        # Not for summed indicators: a township's share would lie flat under the county total.
        band = None
        if not is_township and ind.aggregation in ("mean", "pop_mean"):
            band = self._township_band(ind.code)
        # Stepping from township to township changes only the township's line: the county line
        # and the band are redrawn only when what they show changes.
        shown = (county, ind.code, show_township, band is not None, self._grid.tobytes())
        if shown != self._county_shown:
            self._county_shown = shown
            self._county_curve.setData(x, county_y, connect="finite",
                                       pen=_line_pen(theme.ACCENT, 2 if show_township else 3),
                                       symbol="o" if dots else None, symbolSize=6,
                                       symbolBrush=_dot_style(theme.ACCENT)[0],
                                       symbolPen=_no_pen())
            if band is not None:
                periods, lo, hi = band
                bx = _plot_x(periods, ind.frequency)
                ok = np.isfinite(lo) & np.isfinite(hi)
                self._band_lo.setData(bx[ok], lo[ok])
                self._band_hi.setData(bx[ok], hi[ok])
                self._band_fill.setCurves(self._band_lo, self._band_hi)
                self._band_fill.show()
            else:
                self._band_lo.setData([], [])
                self._band_hi.setData([], [])
                self._band_fill.hide()
        self._band = band

        target = ind.target_value
        if target is not None:
            self._target_line.setPos(target)
            self._target_line.show()
            ends = self._grid[[0, -1]] if len(self._grid) else self._grid
            self._data[self._t["target"]] = (ends, np.full(len(ends), float(target)))
            names.append(self._t["target"])
        else:
            self._target_line.hide()
        self._names = names

        self._update_ranges(township_series is not None, band, target)
        self._update_legend_static(ind, band is not None)
        self._empty.setVisible(len(self._grid) == 0)

    def _update_ranges(self, has_township: bool, band, target) -> None:
        months = self.ctx.queries.months
        if months:
            first, last = _month_index(np.array([months[0], months[-1]], "datetime64[D]"))
            x0, x1 = first, last + 1.0   # the spans the warehouse covers
        else:
            x0, x1 = 0.0, 12.0
        if len(self._grid_x):
            x0, x1 = min(x0, self._grid_x[0] - 0.5), max(x1, self._grid_x[-1] + 0.5)
        pad = max(0.3, (x1 - x0) * 0.01)
        # Ranges are only set when they change: each change regenerates the axes' text and grid,
        # which costs more than drawing the lines themselves.
        self._set_range(self._vb, 0, (x0 - pad, x1 + pad))

        county_values = [self._data[self._t["county"]][1]]
        extra = [float(target)] if target is not None else []
        ind = self.ctx.indicator()
        if self._dual:
            self._county_vb.setYLink(None)
            self._set_range(self._county_vb, 1, self._y_range(county_values, extra))
            self._set_range(self._vb, 1,
                            self._y_range([self._data[self._township_name][1]], []))
        else:
            # One scale per indicator for the county and every township, so stepping through
            # townships compares them on the same axis (and leaves the axes untouched).
            spread = self._township_band(ind.code) if not ind.county_only else None
            values = county_values + ([spread[1], spread[2]] if spread is not None else [])
            if has_township:
                values.append(self._data[self._township_name][1])
            self._set_range(self._vb, 1, self._y_range(values, extra))
            self._county_vb.setYLink(self._vb)
        if self._dual != self._dual_shown:
            self._dual_shown = self._dual
            item = self._plot.getPlotItem()
            (item.showAxis if self._dual else item.hideAxis)("right")
            self._left_axis.setTextPen(pg.mkPen(theme.HIGHLIGHT if self._dual
                                                else theme.TEXT_DIM))
        self._sync_county_view()
        # Apply the new ranges now, not when the chart is next painted: pyqtgraph would move
        # every item then and paint the chart twice.
        self._vb.updateMatrix()
        self._county_vb.updateMatrix()
        self._empty.setPos((x0 + x1) / 2, sum(self._vb.viewRange()[1]) / 2)

    @staticmethod
    def _set_range(view_box, axis: int, span: tuple[float, float]) -> None:
        current = view_box.viewRange()[axis]
        # (plain comparisons: np.allclose costs ~0.3 ms for two numbers)
        if all(abs(a - b) <= 1e-12 + 1e-9 * abs(b) for a, b in zip(current, span)):
            return
        if axis == 0:
            view_box.setXRange(*span, padding=0)
        else:
            view_box.setYRange(*span, padding=0)

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

    def _update_legend_static(self, ind: Indicator, has_band: bool) -> None:
        self._legend_township.setVisible(self._township_name is not None)
        self._legend_band.setVisible(has_band)
        self._legend_band.text.setText(self._t["range"])
        self._legend_target.setVisible(ind.target_value is not None)
        if ind.target_value is not None:
            self._legend_target.text.setText(f"{self._t['target']} {self._target_text(ind)}")

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
            for marker in (self._marker_line, self._marker_label, self._township_marker,
                           self._county_marker):
                marker.hide()
            self._update_legend_values(None)
            return
        self.marker_period = _as_date(self._grid[idx])
        mx = float(self._grid_x[idx])
        self._marker_line.setPos(mx)
        self._marker_line.show()
        self._marker_label.setText(period_label(self.marker_period, ind.frequency,
                                                self.ctx.lang))
        (x0, x1), (_, y1) = self._vb.viewRange()
        self._marker_label.setAnchor((1.0, 0.0) if mx > (x0 + x1) / 2 else (0.0, 0.0))
        self._marker_label.setPos(mx, y1)
        self._marker_label.show()
        self._place_dots(self._township_marker, self._county_marker, idx, theme.PANEL)
        self._update_legend_values(idx)

    def _place_dots(self, township_dots, county_dots, idx: int, edge: str) -> None:
        mx = float(self._grid_x[idx])
        for dots, name, colour in ((township_dots, self._township_name, theme.HIGHLIGHT),
                                   (county_dots, self._t["county"], theme.ACCENT)):
            value = self._value_at(name, idx)
            if value is None:
                dots.setData([])
                dots.hide()
                continue
            brush, pen = _dot_style(colour, edge)
            dots.setData([{"pos": (mx, value), "brush": brush, "pen": pen}])
            dots.show()

    def _value_at(self, name: str | None, idx: int | None) -> float | None:
        if idx is None or name not in self._data:
            return None
        y = self._data[name][1]
        return float(y[idx]) if 0 <= idx < len(y) and np.isfinite(y[idx]) else None

    def _county_label(self) -> str:
        if not self._dual:
            return self._t["county"]
        return self._t["county"] + ("（右轴）" if self.ctx.lang != "en" else " (right axis)")

    def _update_legend_values(self, idx: int | None) -> None:
        ind = self.ctx.indicator()
        if self._township_name is not None:
            value = self._value_text(self._township_name, idx, ind)
            self._legend_township.text.setText(f"{self._township_name} {value}")
        value = self._value_text(self._t["county"], idx, ind)
        self._legend_county.text.setText(f"{self._county_label()} {value}")

    def _value_text(self, name: str, idx: int | None, ind: Indicator) -> str:
        value = self._value_at(name, idx)
        if value is None and idx is not None and len(self._grid):
            return self._t["missing"]   # the period exists, this region did not report it
        return format_value(value, ind, self.ctx.lang)

    # -- hover and click ------------------------------------------------------------------------
    def _index_at_scene(self, scene_pos) -> int | None:
        if not len(self._grid) or not self._vb.sceneBoundingRect().contains(scene_pos):
            return None
        mx = self._vb.mapSceneToView(scene_pos).x()
        x = self._grid_x
        idx = int(np.clip(np.searchsorted(x, mx), 0, len(x) - 1))
        if idx > 0 and abs(x[idx - 1] - mx) <= abs(x[idx] - mx):
            idx -= 1
        return idx

    def _on_mouse_moved(self, scene_pos) -> None:
        idx = self._index_at_scene(scene_pos)
        if idx is None:
            self._hide_hover()
            return
        ind = self.ctx.indicator()
        period = _as_date(self._grid[idx])
        self._hover_line.setPos(float(self._grid_x[idx]))
        self._hover_line.show()
        self._place_dots(self._township_hover, self._county_hover, idx, theme.TEXT)
        lines = [f"<b>{period_label(period, ind.frequency, self.ctx.lang)}</b>"]
        for name, label, colour in ((self._township_name, self._township_name, theme.HIGHLIGHT),
                                    (self._t["county"], self._t["county"], theme.ACCENT)):
            if name is None:
                continue
            value = self._value_text(name, idx, ind)
            lines.append(f"<span style='color:{colour}'>●</span>&nbsp;{label}"
                         f"&nbsp;&nbsp;<b>{value}</b>")
        if ind.target_value is not None:
            lines.append(f"<span style='color:{theme.ACCENT_2}'>━</span>&nbsp;"
                         f"{self._t['target']}&nbsp;&nbsp;{self._target_text(ind)}")
        label = self._hover_label
        label.setText("<br>".join(lines))
        label.adjustSize()
        at = self._plot.mapFromScene(scene_pos)
        viewport = self._plot.viewport()
        x = at.x() + 16
        if x + label.width() > viewport.width() - 4:
            x = at.x() - 16 - label.width()
        y = min(max(4, at.y() - label.height() - 12),
                max(4, viewport.height() - label.height() - 4))
        label.move(QPoint(max(4, x), y))
        label.show()
        label.raise_()

    def _hide_hover(self) -> None:
        for item in (self._hover_line, self._township_hover, self._county_hover):
            item.hide()
        if hasattr(self, "_hover_label"):
            self._hover_label.hide()

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        idx = self._index_at_scene(event.scenePos())
        if idx is not None:
            self.ctx.select(period=_as_date(self._grid[idx]))

    def eventFilter(self, watched, event) -> bool:
        if watched is self._plot.viewport() and event.type() == QEvent.Type.Leave:
            self._hide_hover()
        return super().eventFilter(watched, event)

    # -- sizing ---------------------------------------------------------------------------------
    def _apply_fonts(self) -> None:
        px = self._font_px
        tick_font = theme.font(px)
        for axis in (self._bottom_axis, self._left_axis, self._right_axis):
            axis.setTickFont(tick_font)
        self._bottom_axis.setHeight(px + 14)
        # Value axes keep one width (room for "12,345.6万"): were they to fit each township's
        # labels, the chart would shift sideways and lay itself out again on every selection.
        for axis in (self._left_axis, self._right_axis):
            axis.setWidth(int(px * 5) + 6)
        self._marker_label.setFont(theme.font(px, True))
        self._empty.setFont(theme.font(px + 2))
        for entry in self._legend_entries():
            entry.set_font_px(px)
        _style_label(self._unit, px, theme.TEXT_DIM)
        _style_label(self._note, px, theme.ACCENT_2, bold=True)
        bg = theme.color(theme.BG)
        self._hover_label.setStyleSheet(
            f"color: {theme.TEXT}; background: rgba({bg.red()}, {bg.green()}, {bg.blue()}, 235);"
            f" border: 1px solid {theme.PANEL_EDGE}; border-radius: 4px; padding: 5px 8px;"
            f" font-size: {px}px; font-family: '{theme.load_font()}';")

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


