"""Rendering one graphics item alone into an image, for tests that check its pixels."""
from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene


def render_item(item: QGraphicsItem, rect: QRectF, size: int = 200) -> QImage:
    """`rect` of the scene holding only `item`, drawn on black into a size × size image."""
    scene = QGraphicsScene()
    scene.addItem(item)
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(QColor("#000000"))
    painter = QPainter(image)
    scene.render(painter, QRectF(0, 0, size, size), rect)
    painter.end()
    scene.removeItem(item)
    return image
