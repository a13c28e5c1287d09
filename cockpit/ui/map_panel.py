"""The township map: one indicator in one month coloured over every township, click to select one.

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
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pyqtgraph.functions as pgfn
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QTransform,
)
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import i18n
from ..core.catalogue import Indicator
from ..core.formatting import format_change, format_value, is_missing, number, period_label
from ..core.ranking import ranks
from ..geo.index import RegionIndex, Rings
from . import theme
from .context import CockpitContext
from .lateness import lateness, period_html
from .panel import Panel, TitleLabel

__all__ = [
    "ChoroplethItem",
    "Classes",
    "EventPointsItem",
    "HighlightItem",
    "MapPanel",
    "TownshipLabel",
    "classify",
]

BOUNDARY = "#0b1a30"          # township borders read as thin gaps on the panel background
LABEL_LIMIT = 300             # beyond this many townships names would only be clutter
EVENT_STATUS_ORDER = ("已办结", "处置中", "已超期")   # drawn bottom → top: overdue on top
EVENT_STATUS_COLORS = {"已超期": theme.BAD, "处置中": theme.ACCENT_2, "已办结": theme.TEXT_DIM}
EVENT_STATUS_EN = {"已超期": "Overdue", "处置中": "In progress", "已办结": "Closed"}


def _area(rect: QRectF) -> float:
    return rect.width() * rect.height() if rect.isValid() else 0.0


def _scene_point(x: float, y: float) -> QPointF:
    """km frame (y north) → scene (y down)."""
    return QPointF(x, -y)


# ------------------------------------------------------------------------------- classes
@dataclass(frozen=True)
class Classes:
    """Classed colours for one indicator's township values, ascending by value."""
    breaks: tuple[float, ...]        # inner breaks; class k holds breaks[k-1] <= v < breaks[k]
    colors: tuple[str, ...]          # one per class, ascending by value
    labels: tuple[str, ...]          # "< 31", "31 – 35", …, "≥ 37"

    def class_of(self, value: float) -> int:
        return int(np.searchsorted(self.breaks, value, side="right"))

    def color_of(self, value: float | None) -> str:
        if is_missing(value) or not self.colors:
            return theme.NO_DATA
        return self.colors[self.class_of(value)]


def _palette(polarity: str, n: int) -> list[str]:
    """n colours for ascending classes: the best class gets the palette's best end."""
    if polarity == "neutral":
        palette = theme.CLASS_COLORS_NEUTRAL                 # dark = low, light = high
    elif polarity == "lower":
        palette = theme.CLASS_COLORS_GOOD_HIGH[::-1]         # lowest values are best
    else:
        palette = theme.CLASS_COLORS_GOOD_HIGH
    if n == 1:
        return [palette[len(palette) // 2]]
    picks = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return [palette[i] for i in picks]


def _nice_breaks(values: np.ndarray, n: int) -> tuple[np.ndarray, float]:
    """Quantile breaks rounded to a round step; the step is refined until no break is lost."""
    lo, hi = float(values.min()), float(values.max())
    raw = np.quantile(values, np.linspace(0, 1, n + 1)[1:-1])
    raw = np.unique(raw[(raw > lo) & (raw <= hi)])
    if not len(raw):    # most values tied at the minimum: split off the rest
        raw = np.array([hi])
    base = 10.0 ** math.floor(math.log10((hi - lo) / n))
    for step in (base, base / 2, base / 5, base / 10, base / 100):
        rounded = np.unique(np.round(raw / step) * step)
        rounded = rounded[(rounded > lo) & (rounded <= hi)]
        if len(rounded) == len(raw):
            return rounded, step
    return raw, base / 100


def classify(values, polarity: str, n_classes: int = 5) -> Classes:
    """Up to `n_classes` quantile classes with round breaks over the finite values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return Classes((), (), ())
    if values.min() == values.max():
        only = float(values[0])
        text = number(only, 0) if only.is_integer() else number(only, 2).rstrip("0")
        return Classes((), tuple(_palette(polarity, 1)), (text,))
    breaks, step = _nice_breaks(values, min(n_classes, len(np.unique(values))))
    breaks = np.round(breaks, _decimals(step))   # 1.2, not 1.2000000000000002
    # As few decimals as the breaks need, the same for every label: 1 (not 1.0), 99.5 / 100.0.
    decimals = next(d for d in range(_decimals(step) + 1)
                    if np.allclose(np.round(breaks, d), breaks, rtol=0, atol=1e-9))
    colors = _palette(polarity, len(breaks) + 1)
    labels = [f"< {number(breaks[0], decimals)}"]
    labels += [f"{number(a, decimals)} – {number(b, decimals)}"
               for a, b in zip(breaks[:-1], breaks[1:])]
    labels.append(f"≥ {number(breaks[-1], decimals)}")
    return Classes(tuple(float(b) for b in breaks), tuple(colors), tuple(labels))


def _decimals(step: float) -> int:
    return max(0, math.ceil(-math.log10(step) - 1e-9))


# ------------------------------------------------------------------------------- items
def rings_to_path(rings: Rings) -> QPainterPath:
    """One path for a township: every part, every ring, odd-even fill so holes stay open."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    for exterior, interiors in rings:
        for ring in (exterior, *interiors):
            if len(ring) < 3:
                continue
            path.addPolygon(pgfn.arrayToQPolygonF(ring[:, 0], -ring[:, 1]))
            path.closeSubpath()
    return path


def _argb(color: str | QColor) -> int:
    """Opaque 0xAARRGGBB (premultiplied and straight are the same when opaque)."""
    return QColor(color).rgba() | 0xFF000000


class ChoroplethItem(QGraphicsItem):
    """Every township polygon in one item, filled by colour, with thin borders on top.

    Geometry and colour are separate: `set_geometry` builds the shapes once per snapshot;
    `set_colors` (code → colour) or `set_row_colors` (one ARGB per township, in `codes` order)
    only recolour. Two ways of drawing, chosen by the number of townships:

    - up to RASTER_MIN townships, vector paths grouped by colour (antialiased, one brush change
      per colour), cached as a device pixmap so moving the selection is a blit;
    - beyond, a baked id raster: every township is filled once, in its own id colour, into an
      image of exactly the device pixels the item covers (re-baked only when the view's
      transform changes). A recolour is then one lookup-table pass over that image — tens of
      thousands of polygons are never refilled — and borders are the pixels where the id
      changes. Paths of single townships (the highlight) are built on demand.
    """

    BORDER_MIN_PX = 12   # a township smaller than this on screen is drawn without its border
    RASTER_MIN = 1000    # townships from which the id raster draws the map

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._codes: list[str] = []
        self._row: dict[str, int] = {}
        self._paths: dict[str, QPainterPath] = {}
        self._borders = QPainterPath()
        self._bounds = QRectF()
        self._rgb = np.zeros(0, np.uint32)           # ARGB per township row
        self._no_data = _argb(theme.NO_DATA)
        self._groups: list[tuple[QBrush, list[QPainterPath]]] | None = None
        self._typical_size = 0.0    # median township size, scene units (km)
        self._raster = False
        self._shapes: list[tuple[list, QPainterPath | None]] = []   # per row: polygons or path
        self._bake_key: tuple | None = None
        self._ids: np.ndarray | None = None           # township row + 1 per device pixel
        self._edges: np.ndarray | None = None         # flat indices of border pixels
        self._origin = QPointF()
        self._dpr = 1.0
        self._image: QImage | None = None
        self._image_buf: np.ndarray | None = None
        self.bake_ms = 0.0                            # last bake / compose, for the benchmark
        self.compose_ms = 0.0
        self._border_pen = QPen(theme.color(BOUNDARY), 1.0)
        self._border_pen.setCosmetic(True)
        self._border_pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        # The map is redrawn only when it changes; highlight, hover and labels are other items,
        # so moving the selection blits this cache instead of refilling every polygon.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # -- geometry ------------------------------------------------------------------------------
    def set_geometry(self, rings_by_code: Mapping[str, Rings]) -> None:
        codes = list(rings_by_code)
        self._codes = codes
        self._row = {code: i for i, code in enumerate(codes)}
        self._raster = len(codes) >= self.RASTER_MIN
        self._rgb = np.full(len(codes), self._no_data, np.uint32)
        sizes = []
        bounds = QRectF()
        if self._raster:
            self._paths = OrderedDict()
            self._borders = QPainterPath()
            self._shapes = []
            exteriors, lengths = [], []
            for rings in rings_by_code.values():
                polygons, holed = [], None
                if any(len(interiors) for _, interiors in rings):
                    holed = rings_to_path(rings)   # keep holes open: odd-even fill
                else:
                    polygons = [pgfn.arrayToQPolygonF(ext[:, 0], -ext[:, 1])
                                for ext, _ in rings if len(ext) >= 3]
                self._shapes.append((polygons, holed))
                exteriors += [ext for ext, _ in rings]
                lengths.append(sum(len(ext) for ext, _ in rings))
            # Bounds and sizes of every township in one pass over all their vertices.
            lengths = np.array(lengths)
            if lengths.sum():
                pts = np.concatenate(exteriors)
                starts = (np.cumsum(lengths) - lengths)[lengths > 0]
                lo = np.minimum.reduceat(pts, starts)
                hi = np.maximum.reduceat(pts, starts)
                sizes = np.sqrt(np.clip((hi - lo).prod(axis=1), 0.0, None)).tolist()
                (x0, y0), (x1, y1) = lo.min(axis=0), hi.max(axis=0)
                bounds = QRectF(QPointF(x0, -y1), QPointF(x1, -y0))
            self.setCacheMode(QGraphicsItem.CacheMode.NoCache)   # the raster is the cache
        else:
            paths = {code: rings_to_path(rings) for code, rings in rings_by_code.items()}
            borders = QPainterPath()
            for path in paths.values():
                borders.addPath(path)
                rect = path.boundingRect()
                bounds = bounds.united(rect)
                sizes.append(math.sqrt(rect.width() * rect.height()))
            self._paths = paths
            self._borders = borders
            self._shapes = []
            self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self._typical_size = float(np.median(sizes)) if sizes else 0.0
        self._groups = None
        self._bake_key = None
        self._ids = self._edges = None
        self._image = self._image_buf = None
        self.update()

    @property
    def codes(self) -> list[str]:
        """Township codes in drawing (row) order."""
        return list(self._codes)

    @property
    def raster(self) -> bool:
        """True when the map is drawn through the baked id raster (many townships)."""
        return self._raster

    @property
    def paths(self) -> Mapping[str, QPainterPath]:
        """The cached township paths (scene coordinates); identical objects across recolours.

        With the id raster only the paths asked for so far (`path(code)`) exist."""
        return MappingProxyType(self._paths)

    PATH_CACHE = 512     # raster mode: outlines built on demand, the most recent kept

    def path(self, code: str) -> QPainterPath | None:
        path = self._paths.get(code)
        if not self._raster:
            return path
        if path is not None:
            self._paths.move_to_end(code)
        elif code in self._row:
            # From the polygons already built for the raster: no second copy of the rings.
            polygons, holed = self._shapes[self._row[code]]
            if holed is None:
                holed = QPainterPath()
                holed.setFillRule(Qt.FillRule.OddEvenFill)
                for polygon in polygons:
                    holed.addPolygon(polygon)
                    holed.closeSubpath()
            path = self._paths[code] = holed
            if len(self._paths) > self.PATH_CACHE:   # a wall visits them all, over months
                self._paths.popitem(last=False)
        return path

    # -- colour --------------------------------------------------------------------------------
    def set_colors(self, colors: Mapping[str, str | QColor]) -> None:
        """Township code → fill colour; townships left out are drawn as 无数据."""
        names: dict = {}   # a handful of distinct colours over thousands of townships
        rgb = np.full(len(self._codes), self._no_data, np.uint32)
        for code, c in colors.items():
            row = self._row.get(code)
            if row is not None:
                key = c if isinstance(c, str) else c.rgba()
                value = names.get(key)
                if value is None:
                    value = names[key] = _argb(c)
                rgb[row] = value
        self.set_row_colors(rgb)

    def set_row_colors(self, rgb: np.ndarray) -> None:
        """One opaque ARGB value per township in `codes` order: the fast path for many."""
        rgb = np.asarray(rgb, dtype=np.uint32)
        if rgb.shape == self._rgb.shape and np.array_equal(rgb, self._rgb):
            return
        self._rgb = rgb.copy()
        self._groups = None
        self._image = self._image_buf = None
        self.update()

    @property
    def colors(self) -> dict[str, str]:
        """Code → '#rrggbb' for every township drawn (无数据 included)."""
        names = {int(v): QColor.fromRgba(int(v)).name() for v in np.unique(self._rgb)}
        return {code: names[int(v)] for code, v in zip(self._codes, self._rgb)}

    def _group(self) -> list[tuple[QBrush, list[QPainterPath]]]:
        groups: dict[int, list[QPainterPath]] = {}
        for code, value in zip(self._codes, self._rgb.tolist()):
            groups.setdefault(value, []).append(self._paths[code])
        return [(QBrush(QColor.fromRgba(value)), paths) for value, paths in groups.items()]

    # -- id raster -----------------------------------------------------------------------------
    def _bake(self, transform: QTransform, device_rect: QRectF, dpr: float) -> None:
        """Fill every township once with its own id colour into the device pixels it covers."""
        started = time.perf_counter()
        area = transform.mapRect(self._bounds).intersected(device_rect)
        x0, y0 = math.floor(area.left()), math.floor(area.top())
        w = max(1, math.ceil(area.right()) - x0)
        h = max(1, math.ceil(area.bottom()) - y0)
        image = QImage(max(1, round(w * dpr)), max(1, round(h * dpr)), QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(dpr)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setTransform(transform * QTransform.fromTranslate(-x0, -y0))
        for row, (polygons, holed) in enumerate(self._shapes):
            ident = row + 1
            painter.setBrush(QColor((ident >> 16) & 255, (ident >> 8) & 255, ident & 255))
            if holed is not None:
                painter.drawPath(holed)
            else:
                for polygon in polygons:
                    painter.drawPolygon(polygon)
        painter.end()
        height, stride = image.height(), image.bytesPerLine() // 4
        raw = np.frombuffer(image.constBits(), np.uint32, count=stride * height)
        ids = (raw.reshape(height, stride)[:, : image.width()] & 0xFFFFFF).astype(np.int32)
        border_px = self._typical_size * math.sqrt(abs(transform.determinant())) * dpr
        edges = None
        if border_px >= self.BORDER_MIN_PX * dpr:
            mask = np.zeros(ids.shape, bool)
            mask[:, 1:] |= ids[:, 1:] != ids[:, :-1]
            mask[1:, :] |= ids[1:, :] != ids[:-1, :]
            mask &= ids != 0
            edges = np.flatnonzero(mask)
        self._ids, self._edges = ids, edges
        self._origin = QPointF(x0, y0)
        self._dpr = dpr
        self._image = self._image_buf = None
        self.bake_ms = (time.perf_counter() - started) * 1000

    def _compose(self) -> None:
        """Colour the id raster through a lookup table: one pass, no polygon is refilled."""
        started = time.perf_counter()
        lut = np.empty(len(self._rgb) + 1, np.uint32)
        lut[0] = 0                      # outside every township: transparent
        lut[1:] = self._rgb
        buf = lut[self._ids]
        if self._edges is not None:
            buf.reshape(-1)[self._edges] = _argb(BOUNDARY)
        h, w = buf.shape
        image = QImage(buf.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(self._dpr)
        self._image, self._image_buf = image, buf   # the image borrows the buffer's memory
        self.compose_ms = (time.perf_counter() - started) * 1000

    def prepare_raster(self, transform: QTransform, device_rect: QRectF, dpr: float = 1.0
                       ) -> None:
        """Bake and colour ahead of the paint (e.g. right after the view is fitted)."""
        if not self._raster or not self._codes:
            return
        key = (transform.m11(), transform.m12(), transform.m21(), transform.m22(),
               transform.dx(), transform.dy(), device_rect.width(), device_rect.height(), dpr)
        if key != self._bake_key:
            self._bake(transform, device_rect, dpr)
            self._bake_key = key
        if self._image is None:
            self._compose()

    # -- QGraphicsItem -------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._raster:
            device = painter.device()
            self.prepare_raster(painter.worldTransform(),
                                QRectF(0, 0, device.width(), device.height()),
                                device.devicePixelRatioF())
            if self._image is not None:
                painter.save()
                painter.resetTransform()
                painter.drawImage(self._origin, self._image)
                painter.restore()
            return
        if self._groups is None:
            self._groups = self._group()
        painter.setPen(Qt.PenStyle.NoPen)
        for brush, paths in self._groups:
            painter.setBrush(brush)
            for path in paths:
                painter.drawPath(path)
        # Borders only where townships are big enough on screen to need them: at province or
        # nation scale they would be a grey mesh, and they cost more than the fills.
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod * self._typical_size >= self.BORDER_MIN_PX:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(self._border_pen)
            painter.drawPath(self._borders)


class HighlightItem(QGraphicsItem):
    """One township's outline with a soft glow: the selection (or the hover) on the map."""

    def __init__(self, color: str = theme.HIGHLIGHT, width: float = 3.0, glow: bool = True,
                 parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._path = QPainterPath()
        self._margin = 0.0
        self._pens: list[QPen] = []
        widths = [(width + 8, 50), (width + 4, 90), (width, 255)] if glow else [(width, 220)]
        for w, alpha in widths:
            pen = QPen(theme.color(color, alpha), w)
            pen.setCosmetic(True)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            self._pens.append(pen)
        self._pixels = widths[0][0] / 2 + 1
        self.setVisible(False)

    def set_path(self, path: QPainterPath | None) -> None:
        if path is None or path.isEmpty():
            self.setVisible(False)
            return
        if path is not self._path:
            self.prepareGeometryChange()
            self._path = path
        self.setVisible(True)

    def set_scale(self, pixels_per_unit: float) -> None:
        """Cosmetic pens reach past the path by pixels: the bounds cover them in scene units."""
        margin = self._pixels / max(pixels_per_unit, 1e-9)
        if margin != self._margin:
            self.prepareGeometryChange()
            self._margin = margin

    def boundingRect(self) -> QRectF:
        m = self._margin
        return self._path.boundingRect().adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen in self._pens:
            painter.setPen(pen)
            painter.drawPath(self._path)


class TownshipLabel(QGraphicsItem):
    """A township name centred on its label point, a constant size on screen, with a dark halo."""

    def __init__(self, name: str, short_name: str | None = None,
                 parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        # Filling glyph outlines is the costliest thing on the map; a label changes rarely.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.name = name
        self.short_name = short_name or name
        self._style: tuple[str, int, bool] | None = None
        self._glyphs = QPainterPath()
        self._halo = QPainterPath()
        self._bounds = QRectF()
        self._brush = QBrush(theme.color(theme.TEXT))
        self._halo_brush = QBrush(theme.color(theme.BG, 210))

    @property
    def text(self) -> str:
        """The text shown: the full name, or the short one where the map is crowded."""
        return self._style[0] if self._style else self.name

    @property
    def selected(self) -> bool:
        return bool(self._style and self._style[2])

    def set_style(self, text: str, pixel_size: int, selected: bool) -> None:
        if self._style == (text, pixel_size, selected):
            return
        self._style = (text, pixel_size, selected)
        font = theme.font(pixel_size, bold=selected)
        glyphs = QPainterPath()
        glyphs.addText(0, 0, font, text)
        glyphs.translate(-glyphs.boundingRect().center())
        stroker = QPainterPathStroker()
        stroker.setWidth(max(2.5, pixel_size / 4.5))
        stroker.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        # The stroke band alone is the halo: the glyphs are filled over it. (Uniting the two
        # paths looks the same and costs ~10 ms per label.)
        halo = stroker.createStroke(glyphs)
        self.prepareGeometryChange()
        self._glyphs, self._halo = glyphs, halo
        self._bounds = halo.boundingRect()
        self._brush = QBrush(theme.color(theme.HIGHLIGHT if selected else theme.TEXT))
        self.setZValue(4 if selected else 3)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._halo_brush)
        painter.drawPath(self._halo)
        painter.setBrush(self._brush)
        painter.drawPath(self._glyphs)


_SUFFIX = re.compile(r"(?:[\u4e00-\u9fff]族)?(?:街道|镇|乡)$")


def short_name(name: str) -> str:
    """熟溪街道 → 熟溪, 柳城畲族镇 → 柳城: what a crowded map shows; names stay at least 2 characters."""
    short = _SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


class EventPointsItem(QGraphicsItem):
    """Event locations as dots of a fixed pixel size, one draw call per status."""

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._layers: list[tuple[str, object]] = []   # (status, QPolygonF of scene points)
        self._bounds = QRectF()
        self._margin = 0.0
        self._diameter = 7.0
        self.counts: dict[str, int] = {}
        self._build_pens()

    def set_points(self, x: np.ndarray, y: np.ndarray, status: np.ndarray) -> None:
        """x/y in the km frame (y north); status one of 已超期/处置中/已办结 per point."""
        layers, counts = [], {}
        status = np.asarray(status, dtype=object)
        for name in EVENT_STATUS_ORDER:
            mask = status == name
            counts[name] = int(mask.sum())
            if not mask.any():
                continue
            points = pgfn.arrayToQPolygonF(np.asarray(x, float)[mask], -np.asarray(y, float)[mask])
            layers.append((name, points))
        self.prepareGeometryChange()
        self._layers = layers
        self.counts = counts
        if len(x):
            self._bounds = QRectF(QPointF(float(np.min(x)), -float(np.max(y))),
                                  QPointF(float(np.max(x)), -float(np.min(y))))
        else:
            self._bounds = QRectF()
        self.update()

    def _build_pens(self) -> None:
        self._pens = {}
        for name in EVENT_STATUS_ORDER:
            outline = QPen(theme.color(theme.BG, 230), self._diameter + 2.5)
            fill = QPen(theme.color(EVENT_STATUS_COLORS[name], 140 if name == "已办结" else 255),
                        self._diameter)
            for pen in (outline, fill):
                pen.setCosmetic(True)
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            self._pens[name] = (outline, fill)

    def set_scale(self, pixels_per_unit: float, diameter: float) -> None:
        margin = (diameter + 4) / max(pixels_per_unit, 1e-9)
        if margin != self._margin or diameter != self._diameter:
            self.prepareGeometryChange()
            self._margin, self._diameter = margin, diameter
            self._build_pens()

    def boundingRect(self) -> QRectF:
        m = self._margin
        return self._bounds.adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        for name, points in self._layers:
            outline, fill = self._pens[name]
            painter.setPen(outline)
            painter.drawPoints(points)
            painter.setPen(fill)
            painter.drawPoints(points)


class AlertBadge(QGraphicsItem):
    """A township's open alerts on the map: a dot in the most severe alert's colour with the
    number of open 红/橙 alerts, beside the township's name and sized with the names (a badge
    must read from across the room on a 4K wall, not stay 18 px)."""

    def __init__(self, severity: str, count: int, px: int = 12,
                 parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.severity = severity
        self.count = count
        self.px = px
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(5)

    def set_pixel_size(self, px: int) -> None:
        if px != self.px:
            self.prepareGeometryChange()
            self.px = px

    @property
    def radius(self) -> float:
        return self.px * 0.75

    @property
    def offset(self) -> QPointF:   # up-right of the label anchor
        return QPointF(self.px * 1.3, -self.px * 1.15)

    def boundingRect(self) -> QRectF:
        r, c = self.radius + 3, self.offset
        return QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.color(theme.BG), 2))
        painter.setBrush(theme.color(theme.SEVERITY.get(self.severity, theme.BAD)))
        r, c = self.radius, self.offset
        painter.drawEllipse(c, r, r)
        painter.setPen(theme.color("#ffffff" if self.severity == "红" else theme.BG))
        painter.setFont(theme.font(self.px, True))
        painter.drawText(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r),
                         Qt.AlignmentFlag.AlignCenter, str(min(self.count, 99)))


# ------------------------------------------------------------------------------- overlays
@dataclass
class _LegendContent:
    unit: str = ""
    entries: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)   # (label, hex)


class MapLegend(QWidget):
    """Classed colours with their ranges and the unit, painted in a corner of the map."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._content = _LegendContent()
        self._px = 13

    def set_content(self, content: _LegendContent) -> None:
        self._content = content
        self.adjustSize()
        self.update()

    def set_pixel_size(self, px: int) -> None:
        self._px = px
        self.adjustSize()
        self.update()

    def _rows(self) -> list[tuple[str, str, str]]:
        """(kind, label, hex) rows in drawing order: unit header, classes, note, events."""
        c = self._content
        rows = [("head", c.unit, "")] if c.unit else []
        rows += [("swatch", label, hex_) for label, hex_ in c.entries]
        if c.note:
            rows.append(("note", c.note, ""))
        if c.events:
            rows += [("dot", label, hex_) for label, hex_ in c.events]
        return rows

    def sizeHint(self) -> QSize:
        fm = QFontMetricsF(theme.font(self._px))
        line = round(self._px * 1.55)
        pad = round(self._px * 0.7)
        rows = self._rows()
        width = max([fm.horizontalAdvance(label) for _, label, _ in rows] or [0])
        width += self._px * 1.8 + 2 * pad
        return QSize(math.ceil(width), len(rows) * line + 2 * pad)

    def paintEvent(self, event) -> None:
        rows = self._rows()
        if not rows:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.color(theme.PANEL_EDGE), 1))
        painter.setBrush(theme.color(theme.PANEL, 215))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        line = round(self._px * 1.55)
        pad = round(self._px * 0.7)
        sw = round(self._px * 1.15)
        font = theme.font(self._px)
        small = theme.font(round(self._px * 0.92))
        y = pad
        for kind, label, hex_ in rows:
            mid = y + line / 2
            text_rect = QRectF(pad, y, self.width() - 2 * pad, line)
            if kind in ("head", "note"):
                painter.setFont(small)
                painter.setPen(theme.color(theme.TEXT_DIM))
                painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, label)
            else:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(theme.color(hex_))
                if kind == "swatch":
                    painter.drawRoundedRect(QRectF(pad, mid - sw * 0.4, sw, sw * 0.8), 2, 2)
                else:
                    painter.drawEllipse(QPointF(pad + sw / 2, mid), sw * 0.3, sw * 0.3)
                painter.setFont(font)
                painter.setPen(theme.color(theme.TEXT))
                painter.drawText(text_rect.adjusted(sw + self._px * 0.5, 0, 0, 0),
                                 Qt.AlignmentFlag.AlignVCenter, label)
            y += line
        painter.end()


class _CornerNote(QLabel):
    """A small dim caption over the map ("边界为示意")."""

    def __init__(self, text: str, parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def set_pixel_size(self, px: int) -> None:
        self.setFont(theme.font(px))
        self.setStyleSheet(f"color: {theme.TEXT_DIM}; background: transparent;")
        self.adjustSize()


class _HoverCard(QLabel):
    """The township under the mouse: name, value, rank and change, following the cursor."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.hide()

    def set_pixel_size(self, px: int) -> None:
        self.setFont(theme.font(px))
        pad = max(4, round(px * 0.45))
        self.setStyleSheet(
            f"QLabel {{ color: {theme.TEXT}; background: rgba(6, 16, 31, 230);"
            f" border: 1px solid {theme.ACCENT}; border-radius: 4px; padding: {pad}px; }}")


# ------------------------------------------------------------------------------- view
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


# ------------------------------------------------------------------------------- panel
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
    """The county's townships coloured by the selected indicator and month.

    Public, read-only state for tests and other code: `highlighted_region`, `colors`,
    `legend_entries` (top to bottom), `schematic_note_visible`, `events_visible`,
    `title_text()`; helpers `region_at(point)` and `widget_pos_of(code)` (panel coordinates).
    """

    fields = frozenset({"indicator", "period", "region"})
    follows_alerts = True

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
        self._scale = 0.0            # view pixels per km
        self._areas: dict[str, float] = {}
        self._rows_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._row_of: dict[str, int] | None = None
        self._label_plans: dict[tuple, list] = {}

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
        self._choropleth = ChoroplethItem()
        self._choropleth.setZValue(0)
        self._hover = HighlightItem(theme.TEXT, width=1.5, glow=False)
        self._hover.setZValue(1)
        self._highlight = HighlightItem(theme.HIGHLIGHT, width=3.0)
        self._highlight.setZValue(2)
        self._events = EventPointsItem()
        self._events.setZValue(2.5)    # above the outline, under the names
        self._events.setVisible(False)
        for item in (self._choropleth, self._hover, self._highlight, self._events):
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
        return viewport.mapTo(self, self._view.mapFromScene(_scene_point(x, y)))

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
        if changed & {"indicator", "period"}:
            self._on_indicator_change()
            if "period" in changed:
                self._on_period_change()
        if "region" in changed:
            self._on_region_change()

    def _on_indicator_change(self) -> None:
        """Recolour (never rebuild geometry), and refresh the legend and the title."""
        ctx = self.ctx
        indicator = ctx.indicator()
        tv = ctx.queries.township_values(indicator.code, ctx.month())
        self._indicator = indicator
        values = np.asarray(tv.values, dtype=float)
        self._values_all = values
        classes = classify(values, indicator.polarity)
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

    def _rows_of(self, regions: np.ndarray) -> np.ndarray:
        """Choropleth row of each region code (-1 where not drawn): one dict lookup per code
        through a map built once per geometry, and reused outright for the same answer."""
        cached = self._rows_cache
        if cached is not None and cached[0] is regions:
            return cached[1]
        if self._row_of is None:
            self._row_of = {code: i for i, code in enumerate(self._choropleth.codes)}
        where = self._row_of
        if all(c in where for c in regions[:64]) and len(where) >= len(regions):
            try:
                rows = np.array(list(map(where.__getitem__, regions)), dtype=np.int64)
            except KeyError:
                rows = None
        else:
            rows = None
        if rows is None:
            rows = np.array([where.get(c, -1) for c in regions], dtype=np.int64)
        self._rows_cache = (regions, rows)
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
        """A new snapshot: rebuild the index, the geometry and the labels, then resync."""
        queries = self.ctx.queries
        self._index = RegionIndex.from_wkb(queries.geometries_wkb("township"))
        index = self._index
        self._choropleth.set_geometry({code: index.rings(code) for code in index.codes})
        self._hover.set_path(None)
        self._hovered = None
        self._rows_cache = self._row_of = None

        townships = [r for r in queries.townships if r.code in index]
        # Label points are usually inside their township: check them all at once, and look
        # for a point on the surface only for the few that are not.
        lon = np.array([np.nan if r.label_lon is None else r.label_lon for r in townships])
        lat = np.array([np.nan if r.label_lat is None else r.label_lat for r in townships])
        xs, ys = index.project(lon, lat)
        xs, ys = np.atleast_1d(xs), np.atleast_1d(ys)
        found = index.locate_many(np.nan_to_num(xs), np.nan_to_num(ys))
        self._anchors = {}
        for region, x, y, hit in zip(townships, xs.tolist(), ys.tolist(), found):
            if hit == region.code and math.isfinite(x) and math.isfinite(y):
                self._anchors[region.code] = (x, y)
            else:
                self._anchors[region.code] = index.inner_point(region.code)
        for label in self._labels.values():
            self._scene.removeItem(label)
        self._labels = {}
        self._label_plans = {}
        if len(townships) <= LABEL_LIMIT:
            for region in townships:
                name = self.ctx.region_name(region.code)
                label = TownshipLabel(name, short_name(name))
                label.setPos(_scene_point(*self._anchors[region.code]))
                self._scene.addItem(label)
                self._labels[region.code] = label
        self._areas = {code: index.geometry(code).area for code in self._labels}

        self._schematic = any(r.schematic for r in queries.townships)
        self._note.setVisible(self._schematic)
        # Room around the county so the view can centre it off-centre (beside the legend).
        bounds = self._choropleth.boundingRect()
        self._scene.setSceneRect(bounds.adjusted(-bounds.width(), -bounds.height(),
                                                 bounds.width(), bounds.height()))
        self._events_stale = True
        self._fit()
        self.on_alerts()
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
        points = self.ctx.queries.event_points(month, following)
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
            note=self._t("该指标无乡镇数据", "No township figures") if no_classes else "",
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
        code = self._locate_scene(scene_pos)
        self.ctx.select(region=code or self.ctx.county_code)

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
        origin = self._view.mapFromScene(QPointF(0.0, 0.0))
        key = (self._highlighted, self._label_px, self._scale, origin.x(), origin.y())
        plan = self._label_plans.get(key)
        if plan is None:
            plan = self._plan_labels()
            if len(self._label_plans) > 4 * len(self._labels) + 8:
                self._label_plans.clear()
            self._label_plans[key] = plan
        for code, text, size, offset in plan:
            label = self._labels[code]
            label.set_style(text, size, code == self._highlighted)
            label.setPos(_scene_point(*self._anchors[code]) + offset / self._scale)

    def _plan_labels(self) -> list[tuple[str, str, int, QPointF]]:
        px = self._label_px
        small = max(9, round(px * 0.85))
        metrics: dict[tuple[int, bool], QFontMetricsF] = {}
        placed: list[QRectF] = []
        plan: list[tuple[str, str, int, QPointF]] = []
        order = sorted(self._labels, key=lambda c: (c != self._highlighted, -self._areas[c]))
        for code in order:
            label = self._labels[code]
            selected = code == self._highlighted
            anchor = QPointF(self._view.mapFromScene(_scene_point(*self._anchors[code])))
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
                for dx, dy in ((0, 0), (0, -0.75 * h), (0, 0.75 * h),
                               (-0.4 * w, 0), (0.4 * w, 0)):
                    rect = QRectF(anchor.x() + dx - w / 2, anchor.y() + dy - h / 2, w, h)
                    overlap = sum(_area(rect.intersected(other)) for other in placed)
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
        service = getattr(self.ctx, "alerts", None)
        counts = {}
        if service is not None:
            try:
                counts = service.counts_by_region()
            except Exception:  # the operations store is busy or gone: keep the badges shown
                return
        for badge in self._badges.values():
            self._scene.removeItem(badge)
        self._badges = {}
        marked = []
        for code, by_level in counts.items():
            if code not in self._anchors:
                continue
            red, orange = by_level.get("红", 0), by_level.get("橙", 0)
            if red or orange:
                marked.append((-red, -orange, code, "红" if red else "橙", red + orange))
        for _, _, code, severity, count in sorted(marked)[:self.BADGE_LIMIT]:
            badge = AlertBadge(severity, count, self._label_px)
            badge.setPos(_scene_point(*self._anchors[code]))
            self._scene.addItem(badge)
            self._badges[code] = badge

    # -- lifetime -------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)   # catches up on what changed while hidden
        self._fit()

    def _t(self, zh: str, en: str) -> str:
        return en if self.ctx.lang == "en" else zh
