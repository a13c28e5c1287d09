"""NumPy coordinates into Qt polygons: the same points as building the polygon point by point."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPolygonF

from cockpit.ui.qtarrays import finite_runs, polygon


def test_a_polygon_holds_the_points_of_its_arrays_strided_flipped_or_empty():
    ring = np.array([[0.0, 0.0], [3.5, 1.0], [2.0, -4.25], [0.0, 0.0]])
    expected = QPolygonF([QPointF(x, -y) for x, y in ring])
    assert polygon(ring[:, 0], -ring[:, 1]) == expected      # columns of a ring: strided views
    assert polygon([1, 2], [3, 4]) == QPolygonF([QPointF(1, 3), QPointF(2, 4)])   # integers
    assert polygon([], []).isEmpty()
    with pytest.raises(ValueError):
        polygon([1.0, 2.0], [1.0])


def test_finite_runs_are_the_stretches_between_gaps():
    nan = float("nan")
    assert finite_runs(np.isfinite([1.0, 2.0, 3.0])) == [(0, 3)]
    assert finite_runs(np.isfinite([nan, 1.0, 2.0, nan, 3.0, nan, nan, 4.0, 5.0])) \
        == [(1, 3), (4, 5), (7, 9)]
    assert finite_runs(np.isfinite([nan, nan])) == []
    assert finite_runs(np.zeros(0, bool)) == []
