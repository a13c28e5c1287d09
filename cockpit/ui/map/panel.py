"""The map of one level: each region of it (a county's townships, a city's counties) coloured by
one indicator in one month; click one to select it, and a region with children drills in.

Drawing follows the house rules for maps: one item draws every township (paths built once per
snapshot, grouped by colour at paint time, a recolour never rebuilds geometry); the selected
township's outline is a separate small item; hovering and clicking go through `RegionIndex`.
From a thousand townships on (a province, the country) the item fills a baked id raster of the
view instead and recolours it through a lookup table: refilling 40,000 polygons would take
hundreds of milliseconds, the lookup a few.
Everything is drawn in the index's kilometre frame with y flipped for Qt (y down).
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF, QMouseEvent, QPainter, QTransform
from PySide6.QtWidgets import (QFrame, QGraphicsScene, QGraphicsView, QHBoxLayout, QSizePolicy,
                               QToolButton, QVBoxLayout, QWidget)

from ...core import i18n
from ...core.catalogue import Indicator
from ...core.classes import Classes, classify
from ...core.formatting import format_change, format_value, is_missing, period_label
from ...core.ranking import ranks
from ...geo.index import RegionIndex
from .. import prewarm, theme
from ..background import BackgroundReader
from ..context import CockpitContext
from ..lateness import lateness, period_html
from ..panel import Panel, TitleLabel
from .items import (EVENT_STATUS_COLORS, EVENT_STATUS_ORDER, AlertBadge, ChoroplethItem,
                    EventPointsItem, HighlightItem, TownshipLabel, VectorGeometry, _argb,
                    label_sprite, scene_point, short_name)
from .overlays import MapLegend, _CornerNote, _HoverCard, _LegendContent

LABEL_LIMIT = 300             # beyond this many townships names would only be clutter
EVENT_STATUS_EN = {"已超期": "Overdue", "处置中": "In progress", "已办结": "Closed"}


def _label_points(queries, index: RegionIndex) -> tuple[list, dict[str, tuple[float, float]]]:
    """The level's regions (those the warehouse knows) and where each one's name goes, km."""
    by_code = queries.region_by_code
    children = [by_code[c] for c in index.codes if c in by_code]
    # Label points are usually inside their region: check them all at once, and look for a
    # point on the surface only for the few that are not.
    lon = np.array([np.nan if r.label_lon is None else r.label_lon for r in children])
    lat = np.array([np.nan if r.label_lat is None else r.label_lat for r in children])
    xs, ys = index.project(lon, lat)
    xs, ys = np.atleast_1d(xs), np.atleast_1d(ys)
    found = index.locate_many(np.nan_to_num(xs), np.nan_to_num(ys))
    anchors = {}
    for region, x, y, hit in zip(children, xs.tolist(), ys.tolist(), found):
        if hit == region.code and math.isfinite(x) and math.isfinite(y):
            anchors[region.code] = (x, y)
        else:
            anchors[region.code] = index.inner_point(region.code)
    return children, anchors


def _overlap(rect: tuple, others: list[tuple]) -> float:
    """The area `rect` shares with each of `others`, summed (each (left, top, right, bottom))."""
    left, top, right, bottom = rect
    total = 0.0
    for l2, t2, r2, b2 in others:
        if left < r2 and l2 < right and top < b2 and t2 < bottom:
            x = max(left, l2)
            y = max(top, t2)
            total += (min(right, r2) - x) * (min(bottom, b2) - y)
    return total


class MapView(QGraphicsView):
    """The map's graphics view: fits the county, reports clicks, double-clicks and hovering."""

    clicked = Signal(QPointF)          # scene position
    double_clicked = Signal(QPointF)
    hovered = Signal(QPointF, QPoint)  # scene position, viewport position
    left = Signal()
    resized = Signal()

    CLICK_SLOP = 6  # px the mouse may move between press and release and still click

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setObjectName("mapView")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setBackgroundBrush(theme.color(theme.BG))
        self.setStyleSheet(f"QGraphicsView#mapView {{ background: {theme.BG}; border: none; }}")
        self.setMouseTracking(True)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._press: QPoint | None = None

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.Show):
            # The viewport fills the frameless view with the scene's ground: opaque, so the
            # view's style sheet and the panel behind it are not painted again under the map.
            self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        return handled

    def wheelEvent(self, event) -> None:
        event.ignore()  # the map is fitted, not zoomed: the wheel scrolls the page around it

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if (event.button() == Qt.MouseButton.LeftButton and self._press is not None
                and (pos - self._press).manhattanLength() <= self.CLICK_SLOP):
            self.clicked.emit(self.mapToScene(pos))
        self._press = None
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit(self.mapToScene(event.position().toPoint()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        self.hovered.emit(self.mapToScene(pos), pos)
        event.accept()

    def leaveEvent(self, event) -> None:
        self.left.emit()
        super().leaveEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resized.emit()


@dataclass
class _Level:
    """One level's drawing (a city's counties, a county's townships), kept whole so that drilling
    back to it rebuilds nothing: its outlines, its names laid out, its colours. On the city demo
    rebuilding them cost ~25 ms of every drill, and the new items painted from scratch."""
    index: RegionIndex
    choropleth: ChoroplethItem
    anchors: dict[str, tuple[float, float]]   # label point per region, km
    labels: dict[str, TownshipLabel]
    areas: dict[str, float]
    schematic: bool
    label_plans: dict = field(default_factory=dict)
    row_of: dict[str, int] | None = None
    rows_cache: tuple[np.ndarray, np.ndarray] | None = None
    badge_counts: tuple[dict, dict] | None = None   # (alert counts, rolled up to the level)

    def items(self) -> list:
        return [self.choropleth, *self.labels.values()]


@dataclass(frozen=True)
class _TownshipFigure:
    value: float
    prev: float
    yoy: float
    rank: int | None


class _Figures:
    """One indicator's township figures as arrays; a township's figure is looked up on demand
    (a hover), so a recolour of 40,000 townships builds no per-township objects."""

    def __init__(self, regions: np.ndarray, values: np.ndarray, prev: np.ndarray,
                 yoy: np.ndarray, polarity: str):
        self.regions, self.values, self.prev, self.yoy = regions, values, prev, yoy
        self.polarity = polarity
        self._rank: np.ndarray | None = None
        self._where: dict[str, int] | None = None

    def get(self, code: str) -> _TownshipFigure | None:
        if self._where is None:
            self._where = {c: i for i, c in enumerate(self.regions)}
            self._rank = ranks(self.values, self.polarity)
        i = self._where.get(code)
        if i is None:
            return None
        return _TownshipFigure(float(self.values[i]), float(self.prev[i]), float(self.yoy[i]),
                               int(self._rank[i]) or None)


class MapPanel(Panel):
    """The children of the shown level (a county's townships, a city's counties) coloured by
    the selected indicator and month; clicking one selects it, and selecting a region with
    children draws its children instead (drilling down; drilling up is the same in reverse).

    Public, read-only state for tests and other code: `highlighted_region`, `colors`,
    `legend_entries` (top to bottom), `schematic_note_visible`, `events_visible`,
    `title_text()`; helpers `region_at(point)` and `widget_pos_of(code)` (panel coordinates).
    """

    fields = frozenset({"indicator", "period", "region"})
    follows_alerts = True
    # (from the query worker) a level's outlines are ready: draw it while the user is idle
    _view_prepared = Signal(str)

    def __init__(self, ctx: CockpitContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        self._index: RegionIndex | None = None
        self._anchors: dict[str, tuple[float, float]] = {}   # label point per township, km
        self._labels: dict[str, TownshipLabel] = {}
        self._badges: dict[str, AlertBadge] = {}
        self._figures: _Figures | None = None
        self._values_all = np.empty(0)
        self._indicator: Indicator | None = None
        self._legend_entries: list[tuple[str, str]] = []
        self._classes: Classes | None = None
        self._schematic = False
        self._highlighted: str | None = None
        self._hovered: str | None = None
        self._events_stale = True
        self._label_px = 13
        self._pixel_ratio = 1.0
        self._scale = 0.0            # view pixels per km
        self._areas: dict[str, float] = {}
        self._label_plans: dict[tuple, list] = {}
        self._view_code: str | None = None   # the region whose children are drawn
        self._level: _Level | None = None
        self._levels: OrderedDict = OrderedDict()   # view → _Level, most recent last
        self._alert_counts: dict | None = None       # open alerts by region, as last read
        # A province's or the country's alert counts are read and rolled up off the GUI thread
        # (~0.3 s of the country's first paint); the badges shown stay until the answer is in.
        self._badge_reader = (BackgroundReader("alert-badges", self)
                              if len(ctx.queries.townships) >= prewarm.ASYNC_MIN else None)
        # view → (queries, index, outlines, label points) from the query worker (_prepare_view)
        self._prepared: dict[str, tuple] = {}
        self._prepared_lock = threading.Lock()
        self._to_build: list[str] = []   # prepared levels to draw ahead (_build_ahead)
        self._every_view: tuple | None = None   # (queries, every level, if few enough)
        self._build_timer = QTimer(self)
        self._build_timer.setSingleShot(True)
        self._build_timer.timeout.connect(self._build_ahead)
        self._view_prepared.connect(self._on_view_prepared, Qt.ConnectionType.QueuedConnection)
        ctx.preparers.append(self._prepare)
        ctx.idle_jobs.append(self._levels_to_prepare)
        ctx.idle_jobs.append(self._classes_to_prepare)
        # The classes of a level's figures (see _classes_of): id of the figures' answer →
        # (that answer, the polarity, its classes)
        self._classes_kept: dict[int, tuple] = {}

        self._title = TitleLabel(parent=self)
        self._title_plain = ""
        self.late_text = ""   # "迟报" / "滞后 N 期" when the map shows a late period
        self._events_toggle = QToolButton(self)
        self._events_toggle.setObjectName("mapEventsToggle")
        self._events_toggle.setText(self._t("事件点位", "Events"))
        self._events_toggle.setCheckable(True)
        self._events_toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self._events_toggle.toggled.connect(self._on_events_toggle_change)

        self._scene = QGraphicsScene(self)
        self._choropleth = ChoroplethItem()   # the shown level's (see _Level)
        self._hover = HighlightItem(theme.TEXT, width=1.5, glow=False)
        self._hover.setZValue(1)
        self._highlight = HighlightItem(theme.HIGHLIGHT, width=3.0)
        self._highlight.setZValue(2)
        self._events = EventPointsItem()
        self._events.setZValue(2.5)    # above the outline, under the names
        self._events.setVisible(False)
        for item in (self._hover, self._highlight, self._events):
            self._scene.addItem(item)

        self._view = MapView(self._scene, self)
        self._view.clicked.connect(self._on_map_click)
        self._view.double_clicked.connect(self._on_map_double_click)
        self._view.hovered.connect(self._on_map_hover)
        self._view.left.connect(self._on_map_leave)
        self._view.resized.connect(self._on_view_resize)

        viewport = self._view.viewport()
        self._legend = MapLegend(viewport)
        self._note = _CornerNote(self._t("边界为示意", "Schematic boundaries"), viewport)
        self._card = _HoverCard(viewport)
        self._apply_type_size(self._label_px)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self._title, 1)
        header.addWidget(self._events_toggle, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self._view, 1)

        self.sync()

    # -- public read-only state -------------------------------------------------------------
    @property
    def highlighted_region(self) -> str | None:
        self.catch_up()   # read while hidden: what it will show
        return self._highlighted

    @property
    def colors(self) -> dict[str, str]:
        self.catch_up()
        return self._choropleth.colors

    @property
    def legend_entries(self) -> list[tuple[str, str]]:
        self.catch_up()
        return list(self._legend_entries)

    @property
    def schematic_note_visible(self) -> bool:
        return self._schematic and not self._note.isHidden()

    @property
    def events_visible(self) -> bool:
        return self._events.isVisible()

    @property
    def choropleth(self) -> ChoroplethItem:
        return self._choropleth

    @property
    def highlight(self) -> HighlightItem:
        return self._highlight

    @property
    def index(self) -> RegionIndex | None:
        return self._index

    @property
    def map_widget(self) -> QWidget:
        """The widget that receives the map's mouse events (the view's viewport)."""
        return self._view.viewport()

    def map_widget_pos(self, lon: float, lat: float) -> QPoint:
        """Where a point (lon/lat) is drawn, in `map_widget`'s coordinates."""
        return self._view.mapFromScene(QPointF(lon, -lat))

    @property
    def labels_selected(self) -> dict[str, bool]:
        """Each labelled region's code and whether its name is drawn as the selected one."""
        self.catch_up()
        return {code: label.selected for code, label in self._labels.items()}

    @property
    def hover_card(self) -> tuple[str | None, str | None]:
        """(the region under the mouse, the hover card's text while it is shown)."""
        return self._hovered, self._card.text() if self._card.isVisible() else None

    @property
    def event_point_counts(self) -> dict:
        """How many events the event layer draws at each spot."""
        self.catch_up()
        return dict(self._events.counts)

    def title_text(self) -> str:
        """The title without markup: indicator · period (see `late_text` for lateness)."""
        self.catch_up()
        return self._title_plain

    def region_at(self, point: QPoint | QPointF) -> str | None:
        """The township at a point of this panel (QPoint) or of the scene (QPointF), else None."""
        if isinstance(point, QPoint):
            point = self._view.mapToScene(self._view.viewport().mapFrom(self, point))
        return self._locate_scene(point)

    def widget_pos_of(self, code: str) -> QPoint:
        """A point of this panel inside the township (its label point), e.g. to click it."""
        x, y = self._anchors[code]
        viewport = self._view.viewport()
        return viewport.mapTo(self, self._view.mapFromScene(scene_point(x, y)))

    def _locate_scene(self, scene: QPointF) -> str | None:
        if self._index is None:
            return None
        return self._index.locate(scene.x(), -scene.y())

    def set_events_visible(self, visible: bool) -> None:
        self._events_toggle.setChecked(visible)

    def hover_text(self, code: str) -> str:
        """The hover card's text for a township (rich text)."""
        ind = self._indicator
        name = self.ctx.region_name(code)
        figure = self._figures.get(code) if self._figures is not None else None
        if ind is None or figure is None or is_missing(figure.value):
            return f"<b>{name}</b><br>{self._t('无数据', 'No data')}"
        lines = [f"<b>{name}</b>",
                 f"{self.ctx.tr_name(ind)}：<b>{format_value(figure.value, ind, self.ctx.lang)}</b>"]
        if figure.rank is not None:
            n = int(np.isfinite(self._values_all).sum())
            lines.append(self._t(f"排名：第{figure.rank}/{n}名", f"Rank: {figure.rank}/{n}"))
        lang = self.ctx.lang
        lines.append(self._t("同比：", "YoY: ") + format_change(figure.value, figure.yoy, ind, lang))
        lines.append(self._t("环比：", "MoM: ") + format_change(figure.value, figure.prev, ind, lang))
        return "<br>".join(lines)

    # -- selection ----------------------------------------------------------------------------
    def on_selection(self, changed: frozenset, state) -> None:
        if self._to_build:   # the user is busy: draw ahead when they pause
            self._build_timer.start(self.QUIET_MS)
        if "region" in changed and self.ctx.view_code != self._view_code:
            self._load_view(self.ctx.view_code)   # another level: its geometry, colours, names
            return
        if changed & {"indicator", "period"}:
            self._on_indicator_change()
            if "period" in changed:
                self._on_period_change()
        if "region" in changed:
            self._on_region_change()

    @property
    def view_code(self) -> str | None:
        """The region whose children the map draws."""
        self.catch_up()
        return self._view_code

    def _on_indicator_change(self) -> None:
        """Recolour (never rebuild geometry), and refresh the legend and the title."""
        ctx = self.ctx
        indicator = ctx.indicator()
        tv = ctx.queries.child_values(self._view_code, indicator.code, ctx.month())
        self._indicator = indicator
        values = np.asarray(tv.values, dtype=float)
        self._values_all = values
        classes = self._classes_of(tv, indicator.polarity)
        self._figures = _Figures(tv.regions, values, tv.prev_values, tv.yoy_values,
                                 indicator.polarity)
        # Vectorised: class of every value, then one colour per drawn township row.
        rows = self._rows_of(tv.regions)
        rgb = np.full(len(self._choropleth.codes), _argb(theme.NO_DATA), np.uint32)
        reported = (rows >= 0) & np.isfinite(values)
        if classes.colors:
            palette = np.array([_argb(c) for c in classes.colors], np.uint32)
            k = np.searchsorted(np.asarray(classes.breaks, float), values[reported],
                                side="right")
            rgb[rows[reported]] = palette[k]
        self._choropleth.set_row_colors(rgb)

        entries = list(zip(classes.labels, classes.colors))[::-1]   # highest values on top
        drawn = len(rgb)
        missing = int(np.count_nonzero(reported)) < drawn
        if missing and drawn:
            entries.append((self._t("无数据", "No data"), theme.NO_DATA))
        self._legend_entries = entries
        self._classes = classes
        period = tv.period or ctx.month()
        self._title_plain = (f"{ctx.tr_name(indicator)} · "
                             f"{period_label(period, indicator.frequency, ctx.lang)}")
        shown, tip = period_html(ctx, tv.period, indicator.frequency)
        self._title.setText(f"{ctx.tr_name(indicator)} · {shown}")
        self._title.setToolTip(tip)
        self.late_text = lateness(ctx, tv.period, indicator.frequency)[0]
        self._refresh_legend()
        if self._hovered is not None and self._card.isVisible():
            self._card.setText(self.hover_text(self._hovered))
            self._card.adjustSize()

    CLASSES_KEPT = 1024   # levels' classes kept (a province's 102 levels at a few months)

    def _classes_of(self, tv, polarity: str) -> Classes:
        """The classes of one level's figures (`tv`, a child_values answer), worked out once
        per answer: the query worker does it ahead for every level of a province when idle
        (_classes_to_prepare), ~0.8 ms of each first visit to a county on the GUI thread."""
        kept = self._classes_kept
        found = kept.get(id(tv))
        if found is not None and found[0] is tv and found[1] == polarity:
            return found[2]
        classes = classify(np.asarray(tv.values, dtype=float), polarity)
        if len(kept) >= self.CLASSES_KEPT:
            kept.clear()
        kept[id(tv)] = (tv, polarity, classes)
        return classes

    def _classes_to_prepare(self) -> list:
        """(For the query worker, when idle:) the classes of every level's figures for the
        indicator and month shown, a few levels a job, where every place's figures are read
        at once (a province: then a level's figures are a look-up, not a query)."""
        queries, state = self.ctx.queries, self.ctx.state
        indicator = queries.indicator_by_code.get(state.indicator)
        if indicator is None or not queries.every_place_at_once or not self.isVisible():
            return []
        if self._every_view is None or self._every_view[0] is not queries:
            self._levels_to_prepare()   # (finds every level, once per snapshot)
        views = self._every_view[1] if self._every_view is not None else []

        def classify_levels(part: list[str]) -> None:
            for view in part:
                self._classes_of(queries.child_values(view, indicator.code, state.period),
                                 indicator.polarity)
        return [lambda part=views[k:k + 8]: classify_levels(part)
                for k in range(0, len(views), 8)]

    def _rows_of(self, regions: np.ndarray) -> np.ndarray:
        """Choropleth row of each region code (-1 where not drawn): one dict lookup per code
        through a map built once per geometry, and reused outright for the same answer."""
        level = self._level
        cached = level.rows_cache
        if cached is not None and cached[0] is regions:
            return cached[1]
        if level.row_of is None:
            level.row_of = {code: i for i, code in enumerate(self._choropleth.codes)}
        where = level.row_of
        if all(c in where for c in regions[:64]) and len(where) >= len(regions):
            try:
                rows = np.array(list(map(where.__getitem__, regions)), dtype=np.int64)
            except KeyError:
                rows = None
        else:
            rows = None
        if rows is None:
            rows = np.array([where.get(c, -1) for c in regions], dtype=np.int64)
        level.rows_cache = (regions, rows)
        return rows

    def _on_period_change(self) -> None:
        self._events_stale = True
        if self._events.isVisible():
            self._load_events()

    def _on_region_change(self) -> None:
        """Move the highlight and restyle two labels; the choropleth is untouched."""
        code = self.ctx.state.region
        path = self._choropleth.path(code)
        self._highlighted = code if path is not None else None
        self._highlight.set_path(path)
        self._place_labels()

    def on_reload(self) -> None:
        """A new snapshot: geometry, labels and colours of the shown level, read afresh."""
        for level in self._levels.values():
            self._remove_level(level)
        self._levels.clear()
        with self._prepared_lock:
            self._prepared.clear()
        self._to_build.clear()
        self._level = None
        self._alert_counts = None
        self._load_view(self.ctx.view_code)

    # Levels kept built (the last SCENE_LEVELS shown of them in the scene): a province's 102,
    # drawn ahead, a wall's last stops; a county level is a few hundred KB.
    VIEW_CACHE = 128

    # Levels whose outlines the query worker prepares ahead, all of them, when there are no
    # more than are kept drawn (a province's 102, ~7 ms each once): a county's first visit
    # then waits for none. A country's 2,900 counties are prepared as they are visited.
    PREPARED = VIEW_CACHE

    def _prepare(self, state) -> None:
        """(The query worker, at scale:) the outlines and hit-test index of the level `state`
        shows, if not drawn yet: ~10 ms of a drill that no longer runs on the GUI thread."""
        self._prepare_view(self.ctx.hierarchy.view_of(state.region))

    def _prepare_view(self, view: str, ahead: bool = False) -> None:
        if view in self._levels or view in self._prepared:
            return
        queries = self.ctx.queries
        index = RegionIndex.from_wkb(queries.child_geometries_wkb(view))
        # The outlines' paths and the names' points too (~1.3 ms of a first visit to one of
        # the country's counties, on the GUI thread, which now only makes the items)
        outlines = (VectorGeometry(index.drawn_rings())
                    if len(index.codes) < ChoroplethItem.RASTER_MIN else None)
        with self._prepared_lock:   # (a reload may come in between)
            self._prepared[view] = (queries, index, outlines, _label_points(queries, index))
            while len(self._prepared) > self.PREPARED:
                self._prepared.pop(next(iter(self._prepared)))
        # The names' pictures too (outlines and halos filled, ~1 ms each, kept by text and
        # size), as most are drawn (full, at the map's size; the few crowded ones are made
        # when placed). Qt's paths, fonts and images may be used in any thread.
        if len(index.codes) <= LABEL_LIMIT:
            for code in index.codes:
                label_sprite(self.ctx.region_name(code), self._label_px, False,
                             self._pixel_ratio)
        if ahead:
            self._view_prepared.emit(view)

    def _levels_to_prepare(self) -> list:
        """(For the query worker, when idle:) one job per level not drawn or prepared yet,
        where the warehouse has few enough levels to prepare them all."""
        queries = self.ctx.queries
        if self._every_view is None or self._every_view[0] is not queries:
            # (once per snapshot: a country's 40,000 regions are looked through in ~10 ms)
            views = [r.code for r in queries.regions if queries.hierarchy.children(r.code)]
            self._every_view = (queries, views if len(views) <= self.PREPARED else [])
        views = self._every_view[1]
        if not self.isVisible():
            return []
        return [lambda view=view: self._prepare_view(view, ahead=True) for view in views
                if view not in self._levels and view not in self._prepared]

    QUIET_MS = 300   # how long the selection must rest before levels are drawn ahead again

    @property
    def drawing_ahead(self) -> bool:
        """Levels are still to be drawn ahead (when the user pauses)."""
        return bool(self._to_build) and len(self._levels) < self.VIEW_CACHE

    def _on_view_prepared(self, view: str) -> None:
        self._to_build.append(view)
        if not self._build_timer.isActive():
            self._build_timer.start(self.QUIET_MS)

    def _build_ahead(self) -> None:
        """Draw one prepared level (hidden) per turn of the event loop while the user is idle,
        so that a county's first visit shows it rather than building its items, names and
        anchors (~4 ms of every selection in another county of a province)."""
        if self.ctx.waiting:   # a change is on its way: it comes first
            self._build_timer.start(self.QUIET_MS)
            return
        while self._to_build and len(self._levels) < self.VIEW_CACHE:
            view = self._to_build.pop(0)
            with self._prepared_lock:
                prepared = self._prepared.get(view)
            if view in self._levels or prepared is None or prepared[0] is not self.ctx.queries:
                continue
            self._levels[view] = self._build_level(view)
            self._levels.move_to_end(view, last=False)   # not before any level shown
            break
        if self.drawing_ahead:
            self._build_timer.start(0)

    def _build_level(self, view: str) -> _Level:
        """Index, outlines and names of the children of `view` (not in the scene yet)."""
        with self._prepared_lock:   # (kept: the level may be dropped and drawn again)
            queries, index, outlines, points = self._prepared.get(view, (None,) * 4)
        if index is None or queries is not self.ctx.queries:
            queries = self.ctx.queries
            index = RegionIndex.from_wkb(queries.child_geometries_wkb(view))
            outlines, points = None, _label_points(queries, index)
        choropleth = ChoroplethItem()
        choropleth.setZValue(0)
        if outlines is not None:
            choropleth.set_geometry(None, outlines)
        else:
            choropleth.set_geometry(index.drawn_rings())
        children, anchors = points
        labels = {}
        if len(children) <= LABEL_LIMIT:
            for region in children:
                name = self.ctx.region_name(region.code)
                label = TownshipLabel(name, short_name(name))
                label.setPos(scene_point(*anchors[region.code]))
                labels[region.code] = label
        level = _Level(index, choropleth, anchors, labels,
                       {code: index.geometry(code).area for code in labels},
                       any(r.schematic for r in children))
        return level

    # Levels kept in the scene (transparent, so their cached pixels survive a drill back): a
    # city and its last counties. The others wait outside it: every level in the scene costs
    # each repaint of the map (a province's 102: ~2 ms more per repaint).
    SCENE_LEVELS = 8

    def _show_level(self, level: _Level) -> None:
        """Make `level` the one drawn; only the last SCENE_LEVELS shown stay in the scene."""
        if self._level is not None and self._level is not level:
            for item in self._level.items():
                item.setOpacity(0.0)
        if level.choropleth.scene() is None:
            for item in level.items():
                self._scene.addItem(item)
        for item in level.items():
            item.setOpacity(1.0)
        in_scene = [old for old in self._levels.values()
                    if old is not level and old.choropleth.scene() is not None]
        for old in in_scene[:max(0, len(in_scene) - (self.SCENE_LEVELS - 1))]:
            self._remove_level(old)

    def _remove_level(self, level: _Level) -> None:
        if level.choropleth.scene() is not None:
            for item in level.items():
                self._scene.removeItem(item)

    def _load_view(self, view: str) -> None:
        """Draw the children of `view` (built the first time, shown again after), then colours
        and highlight."""
        level = self._levels.get(view)
        if level is None:
            level = self._levels[view] = self._build_level(view)
            while len(self._levels) > self.VIEW_CACHE:
                self._remove_level(self._levels.popitem(last=False)[1])
        self._levels.move_to_end(view)
        self._show_level(level)
        self._level = level
        self._view_code = view
        self._index, self._choropleth = level.index, level.choropleth
        self._anchors, self._labels, self._areas = level.anchors, level.labels, level.areas
        self._label_plans, self._schematic = level.label_plans, level.schematic
        self._hover.set_path(None)
        self._hovered = None
        self._note.setVisible(self._schematic)
        # Room around the area so the view can centre it off-centre (beside the legend).
        bounds = self._choropleth.boundingRect()
        self._scene.setSceneRect(bounds.adjusted(-bounds.width(), -bounds.height(),
                                                 bounds.width(), bounds.height()))
        self._events_stale = True
        # The selected township first: fitting places the names, once, around it.
        code = self.ctx.state.region
        self._highlighted = code if self._choropleth.path(code) is not None else None
        self._fit()
        self._place_badges()
        self._on_indicator_change()
        self._on_region_change()
        if self._events.isVisible():
            self._load_events()

    # -- events layer -------------------------------------------------------------------------
    def _on_events_toggle_change(self, checked: bool) -> None:
        self._events.setVisible(checked)
        if checked and self._events_stale:
            self._load_events()
        self._refresh_legend()

    def _load_events(self) -> None:
        month = self.ctx.month()
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        points = self.ctx.queries.event_points(month, following, self._view_code)
        lon = np.asarray(points.get("lon", []), dtype=float)
        lat = np.asarray(points.get("lat", []), dtype=float)
        ok = np.isfinite(lon) & np.isfinite(lat)
        x, y = self._index.project(lon[ok], lat[ok])
        self._events.set_points(np.atleast_1d(x), np.atleast_1d(y),
                                np.asarray(points.get("status", []), dtype=object)[ok])
        self._events_stale = False
        self._refresh_legend()

    def _refresh_legend(self) -> None:
        unit = i18n.unit(self._indicator.unit, self.ctx.lang) if self._indicator else ""
        no_classes = self._classes is None or not self._classes.colors
        self._legend.set_content(_LegendContent(
            unit=(self._t("单位：", "Unit: ") + unit) if unit else "",
            entries=self._legend_entries,
            note=(self._t(f"该指标无{self.ctx.children_noun(self._view_code)}数据",
                          f"No figures for {self.ctx.children_noun(self._view_code).lower()}")
                  if no_classes else ""),
            events=self._event_legend()))
        self._place_overlays()

    def _event_legend(self) -> list[tuple[str, str]]:
        if not self._events_toggle.isChecked():
            return []
        out = []
        for name in EVENT_STATUS_ORDER[::-1]:
            label = name if self.ctx.lang != "en" else EVENT_STATUS_EN[name]
            out.append((f"{label}  {self._events.counts.get(name, 0)}",
                        EVENT_STATUS_COLORS[name]))
        return out

    # -- mouse ----------------------------------------------------------------------------------
    def _on_map_click(self, scene_pos: QPointF) -> None:
        # A county drills in (its townships are drawn); a township is selected among its
        # neighbours; outside every region, the level shown itself is selected.
        code = self._locate_scene(scene_pos)
        self.ctx.select(region=code or self._view_code or self.ctx.county_code)

    def _on_map_double_click(self, scene_pos: QPointF) -> None:
        code = self._locate_scene(scene_pos)
        if code is not None:
            self.ctx.detail_requested.emit(code)

    def _on_map_hover(self, scene_pos: QPointF, pos: QPoint) -> None:
        code = self._locate_scene(scene_pos)
        if code != self._hovered:
            self._hovered = code
            self._hover.set_path(self._choropleth.path(code) if code else None)
            self._view.viewport().setCursor(
                Qt.CursorShape.PointingHandCursor if code else Qt.CursorShape.ArrowCursor)
            if code is None:
                self._card.hide()
            else:
                self._card.setText(self.hover_text(code))
                self._card.adjustSize()
                self._card.show()
                self._card.raise_()
        if code is not None:
            self._move_card(pos)

    def _on_map_leave(self) -> None:
        self._hovered = None
        self._hover.set_path(None)
        self._card.hide()

    def _move_card(self, pos: QPoint) -> None:
        area = self._view.viewport().rect()
        x, y = pos.x() + 16, pos.y() + 16
        if x + self._card.width() > area.right():
            x = pos.x() - 16 - self._card.width()
        if y + self._card.height() > area.bottom():
            y = pos.y() - 16 - self._card.height()
        self._card.move(max(0, x), max(0, y))

    # -- layout ---------------------------------------------------------------------------------
    def _on_view_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Scale the county to fill the view; label and legend sizes follow the view's size."""
        if not self.isVisible():
            return   # showEvent fits it, at the size it is shown at
        bounds = self._choropleth.boundingRect()
        area = self._view.viewport().rect()
        if bounds.isEmpty() or area.width() < 10 or area.height() < 10:
            return
        short = min(area.width(), area.height())
        label_px = theme.px(min(40, max(10, round(short / 46))))
        pad = max(8, round(short * 0.03))
        target = QRectF(area).adjusted(pad, pad, -pad, -pad)
        scale = min(target.width() / bounds.width(), target.height() / bounds.height())
        # Keep the legend's column clear when that costs little: a fixed strip, so the map does
        # not jump when another indicator's legend is wider.
        beside = target.adjusted(label_px * 8, 0, 0, 0)
        if beside.width() > 0:
            scale_beside = min(beside.width() / bounds.width(),
                               beside.height() / bounds.height())
            if scale_beside >= 0.85 * scale:
                target, scale = beside, scale_beside
        scale = max(scale, 1e-6)
        self._view.setTransform(QTransform.fromScale(scale, scale))
        shift = (target.center() - QRectF(area).center()) / scale
        self._view.centerOn(bounds.center() - shift)
        self._highlight.set_scale(scale)
        self._hover.set_scale(scale)
        self._events.set_scale(scale, max(4.5, label_px * 0.42))
        self._scale = scale
        if label_px != self._label_px:
            self._apply_type_size(label_px)
        # (read by the query worker, which makes the names' pictures ahead: not the widget)
        self._pixel_ratio = self._view.viewport().devicePixelRatioF()
        self._place_overlays()
        self._place_labels()

    def _apply_type_size(self, px: int) -> None:
        """Names, legend, note and hover card all follow one size, set by the view's size."""
        self._label_px = px
        self._legend.set_pixel_size(px)
        self._note.set_pixel_size(max(9, round(px * 0.85)))
        self._card.set_pixel_size(px)
        for badge in self._badges.values():
            badge.set_pixel_size(px)

    def _place_labels(self) -> None:
        """Full names where there is room; where labels would collide, smaller type, then short
        names, then a nudge up or down inside the township. The selected one is placed first.

        A layout depends only on the selected township and the view, so each is worked out once
        and reused: a wall stepping through townships, or a leader flicking between two, pays
        for the collision search only the first time."""
        if not self._labels or self._scale <= 0:
            return
        plan = self._label_plan(self._highlighted)
        scale, highlighted = self._scale, self._highlighted
        for code, text, size, offset in plan:
            label = self._labels[code]
            # Only the labels a selection moves or restyles (the old and the new township's,
            # and those they push aside) are touched: the rest of the plan is as placed.
            placed = (text, size, code == highlighted, offset.x(), offset.y(), scale)
            if label.placed == placed:
                continue
            label.placed = placed
            label.set_style(text, size, placed[2])
            label.setPos(scene_point(*self._anchors[code]) + offset / scale)

    def _label_plan(self, highlighted: str | None) -> list[tuple[str, str, int, QPointF]]:
        origin = self._view.mapFromScene(QPointF(0.0, 0.0))
        key = (highlighted, self._label_px, self._scale, origin.x(), origin.y())
        plan = self._label_plans.get(key)
        if plan is None:
            plan = self._plan_labels(highlighted)
            if len(self._label_plans) > 4 * len(self._labels) + 8:
                self._label_plans.clear()
            self._label_plans[key] = plan
        return plan

    def warm_look(self, region: str) -> None:
        """Work out where the names go with `region` selected, before it is (see prewarm.py):
        the collision search costs a few ms the first time a township is selected."""
        if self._labels and self._scale > 0 and region in self._labels \
                and self.isVisible():
            self._label_plan(region)
            # and its outline's glow (~4 ms the first time), for the view as it is
            viewport = self._view.viewport()
            self._highlight.draw_ahead(self._choropleth.path(region),
                                       self._view.viewportTransform(),
                                       viewport.devicePixelRatioF())

    def _plan_labels(self, highlighted: str | None) -> list[tuple[str, str, int, QPointF]]:
        px = self._label_px
        small = max(9, round(px * 0.85))
        metrics: dict[tuple[int, bool], QFontMetricsF] = {}
        # (left, top, right, bottom) of each name placed: overlaps summed in floats, as
        # QRectF.intersected gives them, without a QRectF made per pair (~12,000 a county)
        placed: list[tuple[float, float, float, float]] = []
        plan: list[tuple[str, str, int, QPointF]] = []
        order = sorted(self._labels, key=lambda c: (c != highlighted, -self._areas[c]))
        for code in order:
            label = self._labels[code]
            selected = code == highlighted
            anchor = QPointF(self._view.mapFromScene(scene_point(*self._anchors[code])))
            candidates = [(label.name, px), (label.name, small)]
            if label.short_name != label.name:
                candidates.append((label.short_name, small))
            best, best_overlap = None, math.inf
            for text, size in candidates:
                key = (size, selected)
                if key not in metrics:
                    metrics[key] = QFontMetricsF(theme.font(size, bold=selected))
                fm = metrics[key]
                w, h = fm.horizontalAdvance(text) + size * 0.4, fm.height()
                ax, ay = anchor.x(), anchor.y()
                for dx, dy in ((0, 0), (0, -0.75 * h), (0, 0.75 * h),
                               (-0.4 * w, 0), (0.4 * w, 0)):
                    left, top = ax + dx - w / 2, ay + dy - h / 2
                    rect = (left, top, left + w, top + h)
                    overlap = _overlap(rect, placed)
                    if overlap >= best_overlap:
                        continue
                    offset = QPointF(dx, dy)
                    if (dx or dy) and self._locate_scene(
                            self._view.mapToScene((anchor + offset).toPoint())) != code:
                        continue   # a nudged name must still sit on its own township
                    best, best_overlap = (text, size, offset, rect), overlap
                    if overlap == 0:
                        break
                if best_overlap == 0:
                    break
            text, size, offset, rect = best
            placed.append(rect)
            plan.append((code, text, size, offset))
        return plan

    def _place_overlays(self) -> None:
        area = self._view.viewport().rect()
        margin = max(6, round(self._label_px * 0.6))
        self._legend.adjustSize()
        self._legend.move(margin, area.height() - self._legend.height() - margin)
        self._note.adjustSize()
        self._note.move(area.width() - self._note.width() - margin,
                        area.height() - self._note.height() - margin)

    # -- alert badges ---------------------------------------------------------------------------
    BADGE_LIMIT = 300   # the most severe townships first; a nation map is not a pin cushion

    @property
    def alert_badges(self) -> dict[str, tuple[str, int]]:
        """Townships carrying a badge: code -> (most severe open 红/橙 level, count)."""
        self.catch_up()
        return {code: (b.severity, b.count) for code, b in self._badges.items()}

    def on_alerts(self) -> None:
        if self._badge_reader is not None:
            self._read_alert_counts_behind()
        elif self._read_alert_counts():
            self._place_badges()

    def _read_alert_counts_behind(self) -> None:
        service = self.ctx.alerts
        if service is None:
            self._alert_counts = {}
            self._place_badges()
            return
        level, children = self._level, list(self._anchors)

        def read():
            counts = service.counts_by_region()
            return counts, self._roll_up(counts, children)

        def then(answer) -> None:
            counts, rolled = answer
            self._alert_counts = counts
            if level is not None and level is self._level:
                level.badge_counts = (counts, rolled)
            self._place_badges()
        # Failing (the store busy or gone), the badges shown stay: the watcher says why.
        self._badge_reader.request("counts", read, then, lambda _error: None)

    def _read_alert_counts(self) -> bool:
        """Alerts changed: read the counts once; drilling between levels reuses them."""
        service = getattr(self.ctx, "alerts", None)
        try:
            self._alert_counts = service.counts_by_region() if service is not None else {}
        except Exception:  # the operations store is busy or gone: keep the badges shown
            return False
        return True

    def _place_badges(self) -> None:
        for badge in self._badges.values():
            self._scene.removeItem(badge)
        self._badges = {}
        if self._alert_counts is None:
            if self._badge_reader is not None:
                if not self._badge_reader.pending("counts"):
                    self._read_alert_counts_behind()
                return
            self._read_alert_counts()
        counts = self._alert_counts or {}
        marked = []
        level = self._level
        if level.badge_counts is None or level.badge_counts[0] is not counts:
            level.badge_counts = (counts, self._roll_up(counts))
        rolled = level.badge_counts[1]
        for code, by_level in rolled.items():
            red, orange = by_level.get("红", 0), by_level.get("橙", 0)
            if red or orange:
                marked.append((-red, -orange, code, "红" if red else "橙", red + orange))
        for _, _, code, severity, count in sorted(marked)[:self.BADGE_LIMIT]:
            badge = AlertBadge(severity, count, self._label_px)
            badge.setPos(scene_point(*self._anchors[code]))
            self._scene.addItem(badge)
            self._badges[code] = badge

    def _roll_up(self, counts: dict, children=None) -> dict[str, dict[str, int]]:
        """Alerts roll up to the level shown (or to `children`): a county's badge counts its
        townships' alerts. Each region below the level is walked down to once (a province's
        thousand alerts each looked up their path on every drill: ~30 ms)."""
        toward: dict[str, str] = {}
        hierarchy = self.ctx.hierarchy
        for child in (self._anchors if children is None else children):
            todo = [child]
            while todo:
                code = todo.pop()
                toward[code] = child
                todo += hierarchy.children(code)
        rolled: dict[str, dict[str, int]] = {}
        # From the smaller side: a county's few dozen townships are looked up in the counts,
        # not the country's 40,000 townships with alerts walked for them (~30 ms per drill).
        pairs = (((code, toward[code]) for code in counts if code in toward)
                 if len(counts) < len(toward) else
                 ((code, child) for code, child in toward.items() if code in counts))
        for code, child in pairs:
            by_level = counts[code]
            into = rolled.setdefault(child, {})
            for severity, n in by_level.items():
                into[severity] = into.get(severity, 0) + n
        return rolled

    # -- lifetime -------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self._prepare in self.ctx.preparers:
            self.ctx.preparers.remove(self._prepare)
        if self._levels_to_prepare in self.ctx.idle_jobs:
            self.ctx.idle_jobs.remove(self._levels_to_prepare)
        if self._classes_to_prepare in self.ctx.idle_jobs:
            self.ctx.idle_jobs.remove(self._classes_to_prepare)
        super().closeEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)   # catches up on what changed while hidden
        self._fit()

    def _t(self, zh: str, en: str) -> str:
        return en if self.ctx.lang == "en" else zh
