"""NumPy coordinates into Qt polygons in one copy, without a Python loop over points.

The same technique as pyqtgraph's `arrayToQPolygonF` (after PythonQwt, MIT): size the polygon,
then write the coordinates straight into its memory. Having it here keeps pyqtgraph out of the
cockpit's start-up, whose import alone costs about as much as building the whole window."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QPolygonF
from shiboken6 import VoidPtr


def polygon(x, y) -> QPolygonF:
    """An open polygon through the points (x[i], y[i]); x and y are 1-D and of one length."""
    x, y = np.asarray(x), np.asarray(y)
    if not x.ndim == y.ndim == 1 or x.size != y.size:
        raise ValueError("x and y must be 1-D and of the same length")
    result = QPolygonF()
    result.resize(x.size)
    if x.size:
        # QPointF is two doubles: the polygon's storage is an (n, 2) float64 array.
        memory = np.frombuffer(VoidPtr(result.data(), x.size * 16, True),
                               dtype=np.float64).reshape(-1, 2)
        memory[:, 0] = x
        memory[:, 1] = y
    return result


def finite_runs(finite: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D mask: a line's stretches between gaps."""
    finite = np.asarray(finite, bool)
    if finite.all():
        return [(0, finite.size)] if finite.size else []
    edges = np.flatnonzero(np.diff(np.concatenate(([False], finite, [False])).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
