"""The dark command-centre theme: palette, type scale, the bundled CJK font and the style sheet."""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QDir, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QApplication

from ..core import classes
from ..paths import assets_dir

# Palette: deep navy background, cyan accents — the usual look of a 城市大脑 wall.
BG = "#06101f"
PANEL = "#0b1a30"
PANEL_EDGE = "#1c3a5e"
GRID = "#16304f"
TEXT = "#e6f0ff"
TEXT_DIM = "#8aa4c8"
ACCENT = "#2fd0ff"
ACCENT_2 = "#ffb020"
HIGHLIGHT = "#ffe14d"      # the selected township, everywhere
GOOD = "#2ee59d"
BAD = "#ff5a5f"
NEUTRAL = "#9bb0cc"
SEVERITY = {"红": "#ff3b3b", "橙": "#ff9f1a", "黄": "#ffd93b"}

# The map's class colours are a rule of their own (core/classes.py); the theme names them too.
CLASS_COLORS_GOOD_HIGH, CLASS_COLORS_NEUTRAL, NO_DATA = (
    classes.CLASS_COLORS_GOOD_HIGH, classes.CLASS_COLORS_NEUTRAL, classes.NO_DATA)

FONT_FAMILY_FALLBACK = "Noto Sans SC"
_loaded_family: str | None = None


def font_path() -> Path | None:
    fonts = assets_dir() / "fonts"
    for pattern in ("*.otf", "*.ttf"):
        found = sorted(fonts.glob(pattern))
        if found:
            return found[0]
    return None


def load_font() -> str:
    """Register the bundled CJK font once and return its family name."""
    global _loaded_family
    if _loaded_family:
        return _loaded_family
    path = font_path()
    family = FONT_FAMILY_FALLBACK
    if path is not None:
        font_id = QFontDatabase.addApplicationFont(str(path))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        if families:
            family = families[0]
    _loaded_family = family
    return family


def color(hex_: str, alpha: int = 255) -> QColor:
    c = QColor(hex_)
    c.setAlpha(alpha)
    return c


def blend(hex_: str, alpha: int, ground: str = PANEL) -> QColor:
    """`hex_` at `alpha` over an opaque `ground`, as one opaque colour.

    What the eye sees is the same as a translucent colour over that ground, but Qt's raster
    engine draws opaque pens and brushes several times faster (a translucent line across a
    chart: ~100 µs against ~4 µs), which matters for what repaints on every selection."""
    fg, bg = QColor(hex_), QColor(ground)
    a = alpha / 255.0
    return QColor.fromRgbF(fg.redF() * a + bg.redF() * (1 - a),
                           fg.greenF() * a + bg.greenF() * (1 - a),
                           fg.blueF() * a + bg.blueF() * (1 - a))


def draw_line(painter: QPainter, polygon: QPolygonF, colour: QColor | str, width: float) -> None:
    """An antialiased polyline `width` pixels wide, as a few 1-pixel lines side by side.

    Qt strokes a wide antialiased pen by filling its outline, at a cost that grows faster than
    the number of points (a 24-point sparkline 1.6 px wide: ~1 ms; a 96-point series: ~9 ms),
    while a 1-pixel antialiased line takes a fast path (~50 µs). Five of them, shifted by the
    line's half width (a pixel apart) up, down, left and right, look the same from a desk or a wall."""
    pen = QPen(QColor(colour), 1.0)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    half = (width - 1.0) / 2
    painter.drawPolyline(polygon)
    steps = math.ceil(half - 0.15)   # no more than a pixel between neighbouring lines
    for k in range(1, steps + 1):
        d = half * k / steps
        for dx, dy in ((0.0, d), (0.0, -d), (d, 0.0), (-d, 0.0)):
            painter.drawPolyline(polygon.translated(dx, dy))


_fonts: dict[tuple[int, bool], QFont] = {}
# The smallest text the window may show, in pixels: 0 at a desk; on a video wall 1 % of the
# screen height, so nothing is unreadable from 5 m (set by the wall, see wall.py).
_text_floor = 0


def set_text_floor(px: int) -> None:
    global _text_floor
    _text_floor = max(0, int(px))


def text_floor() -> int:
    return _text_floor


def px(size: float) -> int:
    """A text size in pixels, never under the floor (for style sheets and painted text)."""
    return max(_text_floor, int(round(size)))


def font(pixel_size: int, bold: bool = False) -> QFont:
    """The bundled family at a pixel size (a copy: QFont is implicitly shared, so it is cheap),
    never under the wall's text floor."""
    key = (max(6, _text_floor, int(pixel_size)), bool(bold))
    cached = _fonts.get(key)
    if cached is None:
        cached = _fonts[key] = QFont(load_font())
        cached.setPixelSize(key[0])
        cached.setBold(key[1])
    return QFont(cached)


def style_sheet(scale: float = 1.0) -> str:
    path = assets_dir() / "theme.qss"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    # The sheet uses {fs_small}… placeholders so it scales with the window.
    sizes = {"fs_small": 13, "fs_body": 15, "fs_title": 18, "fs_header": 28}
    for key, size in sizes.items():
        text = text.replace("{" + key + "}", str(max(8, px(size * scale))))
    return text.replace("{font}", load_font())


def palette() -> QPalette:
    """A dark palette, so any widget the style sheet does not cover is still dark."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BG, QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: PANEL, QPalette.ColorRole.AlternateBase: "#0e213b",
        QPalette.ColorRole.Text: TEXT, QPalette.ColorRole.Button: PANEL,
        QPalette.ColorRole.ButtonText: TEXT, QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT, QPalette.ColorRole.Highlight: "#1d4f7a",
        QPalette.ColorRole.HighlightedText: TEXT, QPalette.ColorRole.PlaceholderText: TEXT_DIM,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, hex_ in roles.items():
        pal.setColor(role, QColor(hex_))
    return pal


def apply(app: QApplication, scale: float = 1.0) -> None:
    # The style sheet refers to its SVG arrows as cockpit:icons/….
    QDir.addSearchPath("cockpit", str(assets_dir()))
    # Each of these repolishes every widget there is: set only what differs (a preview or a
    # second window in the same process asks again for the same theme).
    pal = palette()
    if app.palette() != pal:
        app.setPalette(pal)
    base = QFont(load_font())
    base.setPixelSize(max(8, px(14 * scale)))
    if app.font() != base:
        app.setFont(base)
    sheet = style_sheet(scale)
    if app.styleSheet() != sheet:
        app.setStyleSheet(sheet)
