"""The map's graphics items: every township in one item (paths grouped by colour, or a baked id
raster for thousands), the selected township's outline, names, event points and alert badges.

Everything is drawn in the index's kilometre frame with y flipped for Qt (y down).
"""
from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from types import MappingProxyType
from typing import Mapping

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFontMetricsF, QImage, QPainter, QPainterPath,
                           QPen, QPixmap, QStaticText, QTransform)
from PySide6.QtWidgets import QGraphicsItem

from ...geo.index import Rings
from .. import qtarrays, theme

BOUNDARY = "#0b1a30"          # township borders read as thin gaps on the panel background
EVENT_STATUS_ORDER = ("已办结", "处置中", "已超期")   # drawn bottom → top: overdue on top
EVENT_STATUS_COLORS = {"已超期": theme.BAD, "处置中": theme.ACCENT_2, "已办结": theme.TEXT_DIM}


def scene_point(x: float, y: float) -> QPointF:
    """km frame (y north) → scene (y down)."""
    return QPointF(x, -y)


def rings_to_path(rings: Rings) -> QPainterPath:
    """One path for a township: every part, every ring, odd-even fill so holes stay open."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    for exterior, interiors in rings:
        for ring in (exterior, *interiors):
            if len(ring) < 3:
                continue
            path.addPolygon(qtarrays.polygon(ring[:, 0], -ring[:, 1]))
            path.closeSubpath()
    return path


class VectorGeometry:
    """What ChoroplethItem draws a level of few townships from (their paths, borders, bounds
    and typical size), made from their rings in any thread: the query worker makes it for a
    level it prepares, so a first visit does not build the paths on the GUI thread."""

    def __init__(self, rings_by_code: Mapping[str, Rings]):
        self.codes = list(rings_by_code)
        self.paths = {code: rings_to_path(rings) for code, rings in rings_by_code.items()}
        self.borders = QPainterPath()
        self.bounds = QRectF()
        sizes = []
        for path in self.paths.values():
            self.borders.addPath(path)
            rect = path.boundingRect()
            self.bounds = self.bounds.united(rect)
            sizes.append(math.sqrt(rect.width() * rect.height()))
        self.typical_size = float(np.median(sizes)) if sizes else 0.0


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
        self.bakes = 0      # rasters baked so far: a recolour must not bake again
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
    def set_geometry(self, rings_by_code: Mapping[str, Rings] | None,
                     prepared: VectorGeometry | None = None) -> None:
        """The townships' outlines (`prepared`, when given, made from the same rings
        ahead: fewer than RASTER_MIN townships)."""
        codes = list(rings_by_code) if prepared is None else prepared.codes
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
                    polygons = [qtarrays.polygon(ext[:, 0], -ext[:, 1])
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
            geometry = prepared if prepared is not None else VectorGeometry(rings_by_code)
            self._paths = geometry.paths
            self._borders = geometry.borders
            self._shapes = []
            bounds = geometry.bounds
            self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self._typical_size = (geometry.typical_size if not self._raster else
                              float(np.median(sizes)) if len(sizes) else 0.0)
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

    @property
    def paint_groups(self) -> list[tuple[str, int]] | None:
        """What the last vector paint filled, one fill per colour: (colour, outlines) each;
        None until painted after the last change."""
        if self._groups is None:
            return None
        return [(brush.color().name(), len(paths)) for brush, paths in self._groups]

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
        self.bakes += 1
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
        self._pens: list[tuple[QPen, bool]] = []   # (pen, antialiased)
        widths = [(width + 8, 50), (width + 4, 90), (width, 255)] if glow else [(width, 220)]
        # The glow's two faint outer strokes are drawn without antialiasing and with bevelled
        # joins (their edges are 50/255 and 90/255 over the map: no step shows, at 2x either);
        # only the core line is smoothed. A first selection's glow: 1.47 -> 0.62 ms p50.
        for k, (w, alpha) in enumerate(widths):
            pen = QPen(theme.color(color, alpha), w)
            pen.setCosmetic(True)
            outer = k < len(widths) - 1
            pen.setJoinStyle(Qt.PenJoinStyle.BevelJoin if outer else Qt.PenJoinStyle.RoundJoin)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            self._pens.append((pen, not outer))
        self._pixels = widths[0][0] / 2 + 1
        # One thin line (the hover's): 1-px lines side by side (theme.draw_line), as a 1.5 px
        # antialiased pen is stroked by filling its outline: a county's outline at the
        # province's top level took 8.2 ms p50 the first time, this way 1.6.
        self._thin = (theme.color(color, widths[0][1]), width) if not glow and width <= 2 \
            else None
        self._sprites: dict[tuple, QPixmap] = {}
        self._sprite_bytes = 0
        # The sprites are keyed by the path's id: holding the paths keeps those ids unique.
        self._paths_seen: dict[int, QPainterPath] = {}
        self.setVisible(False)

    @property
    def path(self) -> QPainterPath:
        return self._path

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
        # Three wide translucent antialiased strokes of a township's outline cost several ms;
        # each outline is drawn once per view transform and then copied, so stepping through
        # townships (and back) repaints the glow as a pixmap.
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        drawn = self._sprite(self._path, painter.worldTransform(), ratio)
        if drawn is None:   # a province filling the screen
            self._stroke(painter, self._path)
            return
        painter.save()
        painter.resetTransform()
        painter.drawPixmap(*drawn)
        painter.restore()

    def draw_ahead(self, path: QPainterPath | None, transform: QTransform,
                   ratio: float) -> None:
        """Make the glow of `path` for the view's transform before it is selected."""
        if path is not None and not path.isEmpty():
            self._sprite(path, transform, ratio)

    def _sprite(self, path: QPainterPath, t: QTransform, ratio: float
                ) -> tuple[QPointF, QPixmap] | None:
        m = self._margin
        bounds = t.mapRect(path.boundingRect().adjusted(-m, -m, m, m))
        origin = QPointF(math.floor(bounds.left()), math.floor(bounds.top()))
        key = (id(path), t.m11(), t.m12(), t.m21(), t.m22(), t.dx() - origin.x(),
               t.dy() - origin.y(), ratio)
        sprite = self._sprites.get(key)
        if sprite is None:
            width, height = math.ceil(bounds.right() - origin.x()), math.ceil(
                bounds.bottom() - origin.y())
            if width * height * ratio * ratio > 4_000_000:
                return None
            sprite = QPixmap(max(1, round(width * ratio)), max(1, round(height * ratio)))
            sprite.setDevicePixelRatio(ratio)
            sprite.fill(Qt.GlobalColor.transparent)
            p = QPainter(sprite)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setTransform(t * QTransform.fromTranslate(-origin.x(), -origin.y()))
            self._stroke(p, path)
            p.end()
            if self._sprite_bytes > 32_000_000 or len(self._sprites) > 256:
                self._sprites.clear()
                self._paths_seen.clear()
                self._sprite_bytes = 0
            self._sprite_bytes += sprite.width() * sprite.height() * 4
            self._sprites[key] = sprite
            self._paths_seen[id(path)] = path
        return origin, sprite

    @property
    def sprites_made(self) -> int:
        """How many glows are kept drawn (each path at each view transform)."""
        return len(self._sprites)

    def _stroke(self, painter: QPainter, path: QPainterPath) -> None:
        if self._thin is not None:
            colour, width = self._thin
            transform = painter.worldTransform()
            painter.save()
            painter.resetTransform()
            for polygon in path.toSubpathPolygons(transform):
                theme.draw_line(painter, polygon, colour, width)
            painter.restore()
            return
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen, smooth in self._pens:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, smooth)
            painter.setPen(pen)
            painter.drawPath(path)


_label_boxes: dict[tuple[str, int, bool], tuple[QRectF, QPointF]] = {}


def label_box(text: str, pixel_size: int, selected: bool) -> tuple[QRectF, QPointF]:
    """Where a label draws, relative to its point (its text centred there, with the halo
    around it), and where its text's baseline starts."""
    key = (text, pixel_size, selected)
    found = _label_boxes.get(key)
    if found is not None:
        return found
    if len(_label_boxes) > 4096:   # a nation's labels at a few zoom steps: let them go
        _label_boxes.clear()
    tight = QFontMetricsF(theme.font(pixel_size, bold=selected)).tightBoundingRect(text)
    baseline = -tight.center()
    reach = _halo_reach(pixel_size) + 1
    found = _label_boxes[key] = (tight.translated(baseline).adjusted(-reach, -reach, reach,
                                                                     reach), baseline)
    return found


def _halo_reach(pixel_size: int) -> float:
    return max(2.5, pixel_size / 4.5) / 2


def _ring(reach: float) -> list[tuple[int, int]]:
    """The halo: the text copied around itself, every whole-pixel step within its reach
    (then made as translucent as a halo is): close to a stroked outline, at a fraction of
    its cost."""
    r = math.floor(reach)
    return [(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1)
            if (dx or dy) and dx * dx + dy * dy <= reach * reach + 0.5]


_sprites: OrderedDict[tuple, QImage] = OrderedDict()
_sprite_bytes = 0
SPRITE_BYTES = 32 * 2**20


def label_sprite(text: str, pixel_size: int, selected: bool, ratio: float = 1.0) -> QImage:
    """A label's halo and text as a picture, made once per text, size, weight and pixel ratio.

    Its glyph outlines filled with a stroked halo around them cost ~2.4 ms a label (~36 ms for
    a drill to another county's dozen-odd names); the text drawn from the font's glyph cache,
    in a ring for the halo, costs a small part of that."""
    global _sprite_bytes
    key = (text, pixel_size, selected, ratio)
    found = _sprites.get(key)
    if found is not None:
        _sprites.move_to_end(key)
        return found
    box, baseline = label_box(text, pixel_size, selected)
    image = QImage(math.ceil(box.width() * ratio), math.ceil(box.height() * ratio),
                   QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(ratio)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    font = theme.font(pixel_size, bold=selected)
    p.setFont(font)
    # Laid out once, drawn twice (drawText lays the text out on every call).
    static = QStaticText(text)
    static.prepare(QTransform(), font)
    # drawStaticText places the text's top-left, drawText its baseline.
    origin = baseline - box.topLeft() - QPointF(0, QFontMetricsF(font).ascent())
    ground = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
    ground.setDevicePixelRatio(ratio)
    ground.fill(Qt.GlobalColor.transparent)
    q = QPainter(ground)
    q.setFont(font)
    q.setPen(theme.color(theme.BG))
    q.drawStaticText(origin, static)
    q.end()
    for dx, dy in _ring(_halo_reach(pixel_size)):
        p.drawImage(QPointF(dx, dy), ground)
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
    p.fillRect(image.rect(), theme.color(theme.BG, 210))   # the halo's translucency
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
    p.setPen(theme.color(theme.HIGHLIGHT if selected else theme.TEXT))
    p.drawStaticText(origin, static)
    p.end()
    _sprites[key] = image
    _sprite_bytes += image.sizeInBytes()
    while _sprite_bytes > SPRITE_BYTES and len(_sprites) > 1:
        _, old = _sprites.popitem(last=False)
        _sprite_bytes -= old.sizeInBytes()
    return image


class TownshipLabel(QGraphicsItem):
    """A township name centred on its label point, a constant size on screen, with a dark halo."""

    def __init__(self, name: str, short_name: str | None = None,
                 parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        # (No item cache: a label is already a picture, see label_sprite.)
        self.name = name
        self.short_name = short_name or name
        self._style: tuple[str, int, bool] | None = None
        self.placed: tuple | None = None   # the map panel's last placement (text … scale)
        self._bounds = QRectF()

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
        self.prepareGeometryChange()
        self._bounds = label_box(text, pixel_size, selected)[0]
        self.setZValue(4 if selected else 3)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self._style is None:
            return
        painter.drawImage(self._bounds.topLeft(),
                          label_sprite(*self._style, painter.device().devicePixelRatioF()))


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
            points = qtarrays.polygon(np.asarray(x, float)[mask], -np.asarray(y, float)[mask])
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
