"""Guards against a known PySide6 defect (6.12.0 on CPython 3.11 drops a reference to None on
every void-returning call; the process later dies with 'Fatal Python error: none_dealloc')."""
from __future__ import annotations

import sys

from PySide6.QtGui import QColor, QImage, QPainter


def test_none_refcount_does_not_fall_during_painter_calls(qapp):
    image = QImage(16, 16, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    brush = QColor(10, 20, 30)
    before = sys.getrefcount(None)
    for _ in range(10_000):
        painter.setBrush(brush)
        painter.setPen(brush)
    painter.end()
    assert sys.getrefcount(None) >= before - 10
