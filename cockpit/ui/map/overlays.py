"""What sits over the map in the view's corners: the legend, the 示意 note and the hover card."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QLabel, QWidget

from .. import theme


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
        # measured once per content and type size (a new level asked it 3 times)
        self._hint: tuple[tuple, QSize] | None = None

    def set_content(self, content: _LegendContent) -> None:
        if content == self._content:
            return   # (a month with the same classes: neither it nor the map under it repaints)
        self._content = content
        self._hint = None
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
        key = (self._px, theme.text_floor())
        if self._hint is None or self._hint[0] != key:
            self._hint = (key, self._measure())
        return QSize(self._hint[1])

    def _measure(self) -> QSize:
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
