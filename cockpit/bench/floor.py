"""The floor of `cockpit bench`: the least a full-window repaint can cost on this machine, and a
counter of the backing-store passes and paint events a change causes."""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from ..ui import theme

# Twenty lines of what a cockpit shows: CJK with digits and units, as the panels draw them.
_LINES = [f"{k + 1:02d} 城关镇 地区生产总值 {1234.5 + 37 * k:,.1f} 亿元 同比 +{3.2 + k / 10:.1f}%"
          for k in range(20)]


class _FloorWidget(QWidget):
    def __init__(self, size):
        super().__init__()
        self.setWindowTitle("floor")
        self.resize(*size)
        self._font = theme.font(max(12, size[1] // 45))
        self._bg, self._fg = QColor(theme.BG), QColor(theme.TEXT)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self._bg)
        p.setFont(self._font)
        p.setPen(self._fg)
        step = self.height() / (len(_LINES) + 1)
        for k, line in enumerate(_LINES):
            p.drawText(20, int(step * (k + 1)), line)
        p.end()


class Floor:
    """A bare top-level QWidget of the window's size, repainted fully (20 text lines in the
    bundled CJK font), timed with the same settle as a selection: the ratio selection / floor
    is what a change costs in units of "one full repaint on this machine right now"."""

    def __init__(self, app, size, settle: Callable):
        self.app, self._settle = app, settle
        self.widget = _FloorWidget(size)
        self.widget.show()
        settle(app, self.widget)

    def repaint_ms(self) -> float:
        t = time.perf_counter()
        self.widget.update()
        self._settle(self.app, self.widget)
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


class PaintCounter(QObject):
    """Counts, while installed on the application, the backing-store passes of one top-level
    window (an UpdateRequest it handles, or a paint outside one: a direct repaint()), the paint
    events of its widgets and the area they painted (in window areas: ancestors repainting
    behind children count several times over)."""

    def __init__(self, app, window):
        super().__init__()
        self.app, self.window = app, window
        self.passes = self.paints = 0
        self.area = 0.0
        self._open = False   # an UpdateRequest seen, no paint yet
        self._window_area = max(1, window.width() * window.height())

    def __enter__(self) -> "PaintCounter":
        self.app.installEventFilter(self)
        return self

    def __exit__(self, *exc) -> None:
        self.app.removeEventFilter(self)

    def reset(self) -> None:
        self.passes = self.paints = 0
        self.area = 0.0
        self._open = False

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.UpdateRequest and obj is self.window:
            self._open = True
        elif kind == QEvent.Type.Paint and isinstance(obj, QWidget) \
                and obj.window() is self.window:
            if self._open or not self.paints:
                self.passes += 1
                self._open = False
            self.paints += 1
            self.area += sum(r.width() * r.height() for r in event.region()) / self._window_area
        return False
