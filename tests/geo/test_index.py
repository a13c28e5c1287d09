"""The region index: km projection, point lookup through the STRtree, rings for drawing (no Qt)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from cockpit.geo.index import RegionIndex

# Around 武义 (lat ≈ 28.8°): 0.1° × 0.1° squares.
LON0, LAT0 = 119.7, 28.8

# A square with a square hole in the middle, and a two-part region to its east.
RING = Polygon(
    [(LON0, LAT0), (LON0 + 0.1, LAT0), (LON0 + 0.1, LAT0 + 0.1), (LON0, LAT0 + 0.1)],
    holes=[[(LON0 + 0.04, LAT0 + 0.04), (LON0 + 0.06, LAT0 + 0.04),
            (LON0 + 0.06, LAT0 + 0.06), (LON0 + 0.04, LAT0 + 0.06)]],
)
ISLANDS = MultiPolygon([
    box(LON0 + 0.2, LAT0, LON0 + 0.3, LAT0 + 0.03),
    box(LON0 + 0.2, LAT0 + 0.07, LON0 + 0.3, LAT0 + 0.1),
])


@pytest.fixture
def index() -> RegionIndex:
    return RegionIndex({"ring": RING, "islands": ISLANDS})


def test_projection_is_kilometres_around_the_origin_with_y_north():
    index = RegionIndex({"ring": RING}, origin=(LON0, LAT0))
    x, y = index.project(LON0 + 1.0, LAT0 + 1.0)
    assert x == pytest.approx(111.32 * np.cos(np.radians(LAT0)))
    assert y == pytest.approx(110.57)
    assert index.project(LON0, LAT0) == (0.0, 0.0)


def test_default_origin_is_the_area_weighted_centroid(index):
    lon0, lat0 = index.origin
    assert LON0 < lon0 < LON0 + 0.3
    assert lat0 == pytest.approx(LAT0 + 0.05, abs=1e-9)


def test_project_and_unproject_are_vectorised_inverses(index):
    lon = np.array([119.5, 119.7, 119.9])
    lat = np.array([28.5, 28.8, 29.0])
    x, y = index.project(lon, lat)
    assert x.shape == (3,) and y.shape == (3,)
    back_lon, back_lat = index.unproject(x, y)
    np.testing.assert_allclose(back_lon, lon)
    np.testing.assert_allclose(back_lat, lat)


def test_point_in_polygon_is_located(index):
    assert index.locate_lonlat(LON0 + 0.02, LAT0 + 0.02) == "ring"


def test_point_in_a_hole_is_not_in_the_polygon(index):
    assert index.locate_lonlat(LON0 + 0.05, LAT0 + 0.05) is None


def test_each_part_of_a_multipolygon_is_located_and_the_gap_between_is_not(index):
    assert index.locate_lonlat(LON0 + 0.25, LAT0 + 0.01) == "islands"
    assert index.locate_lonlat(LON0 + 0.25, LAT0 + 0.09) == "islands"
    assert index.locate_lonlat(LON0 + 0.25, LAT0 + 0.05) is None


def test_point_outside_every_region_is_none(index):
    assert index.locate_lonlat(LON0 - 1, LAT0) is None


def test_enclave_filling_a_hole_is_found_instead_of_the_surrounding_region():
    enclave = box(LON0 + 0.04, LAT0 + 0.04, LON0 + 0.06, LAT0 + 0.06)
    index = RegionIndex({"ring": RING, "enclave": enclave})
    assert index.locate_lonlat(LON0 + 0.05, LAT0 + 0.05) == "enclave"
    assert index.locate_lonlat(LON0 + 0.02, LAT0 + 0.05) == "ring"


def test_point_on_a_shared_border_gets_one_stable_answer():
    west = box(LON0, LAT0, LON0 + 0.1, LAT0 + 0.1)
    east = box(LON0 + 0.1, LAT0, LON0 + 0.2, LAT0 + 0.1)
    index = RegionIndex({"west": west, "east": east})
    assert index.locate_lonlat(LON0 + 0.1, LAT0 + 0.05) == "west"


def test_locate_many_matches_locate(index):
    lon = np.array([LON0 + 0.02, LON0 + 0.05, LON0 + 0.25, LON0 + 0.25, LON0 - 1])
    lat = np.array([LAT0 + 0.02, LAT0 + 0.05, LAT0 + 0.01, LAT0 + 0.05, LAT0])
    x, y = index.project(lon, lat)
    many = index.locate_many(x, y)
    assert list(many) == [index.locate(a, b) for a, b in zip(x, y)]
    assert list(many) == ["ring", None, "islands", None, None]


def test_locate_queries_the_tree_not_a_loop(index, monkeypatch):
    # shapely's spatial index answers, once per point, instead of a test against every region
    calls = []
    original = shapely.STRtree.query

    def spy(tree, *args, **kwargs):
        calls.append(kwargs.get("predicate"))
        return original(tree, *args, **kwargs)

    monkeypatch.setattr(shapely.STRtree, "query", spy)
    index.locate_lonlat(LON0 + 0.02, LAT0 + 0.02)
    assert calls == ["intersects"]


def test_rings_keep_holes_and_parts_in_the_km_frame(index):
    ring = index.rings("ring")
    assert len(ring) == 1
    exterior, interiors = ring[0]
    assert exterior.shape[1] == 2 and len(interiors) == 1
    width_km = exterior[:, 0].max() - exterior[:, 0].min()
    assert width_km == pytest.approx(0.1 * 111.32 * np.cos(np.radians(index.origin[1])))
    x, y = index.project(LON0 + 0.05, LAT0 + 0.05)
    hole = interiors[0]
    assert hole[:, 0].min() < x < hole[:, 0].max() and hole[:, 1].min() < y < hole[:, 1].max()

    parts = index.rings("islands")
    assert len(parts) == 2 and all(not interiors for _, interiors in parts)


def test_drawn_outlines_drop_the_points_a_fitted_map_cannot_show():
    """A boundary as GIS software writes it (a point every few metres) is drawn from far fewer
    points, none further than 1/4000 of the level's extent from the true line; a part too
    small to keep a shape keeps its own outline; hit-testing keeps the full one."""
    t = np.linspace(0, 2 * np.pi, 20_000, endpoint=False)
    wiggly = Polygon(np.c_[LON0 + 0.3 * np.cos(t) * (1 + 0.002 * np.sin(400 * t)),
                           LAT0 + 0.3 * np.sin(t)])
    speck = box(LON0 + 0.5, LAT0, LON0 + 0.5 + 1e-6, LAT0 + 1e-6)   # ~0.1 m across
    index = RegionIndex({"county": wiggly, "speck": speck})
    drawn = index.drawn_rings()
    (exterior, interiors), = drawn["county"]
    assert len(exterior) < len(index.rings("county")[0][0]) / 10 and not interiors
    xmin, ymin, xmax, ymax = index.bounds
    tolerance = max(xmax - xmin, ymax - ymin) / 4000
    true_line = index.geometry("county").exterior
    assert shapely.hausdorff_distance(shapely.LineString(exterior), true_line) <= tolerance * 1.01
    assert [len(e) for e, _ in drawn["speck"]] == [len(e) for e, _ in index.rings("speck")]
    assert index.locate(*index.project(LON0 + 0.5 + 5e-7, LAT0 + 5e-7)) == "speck"


def test_non_polygonal_and_empty_geometries_are_left_out():
    index = RegionIndex({"ring": RING, "point": shapely.Point(LON0, LAT0),
                         "empty": Polygon()})
    assert index.codes == ("ring",)
    assert "point" not in index and len(index) == 1


def test_inner_point_keeps_a_label_inside_and_moves_one_outside(index):
    x, y = index.project(LON0 + 0.02, LAT0 + 0.02)
    assert index.inner_point("ring", x, y) == (x, y)
    hx, hy = index.project(LON0 + 0.05, LAT0 + 0.05)
    moved = index.inner_point("ring", hx, hy)
    assert index.locate(*moved) == "ring"


def test_demo_townships_are_found_at_their_label_points(tmp_path):
    from datetime import date

    from cockpit.warehouse.demo import build_demo
    from cockpit.warehouse.queries import Queries
    from cockpit.warehouse.store import open_current

    build_demo(tmp_path, end=date(2025, 12, 1))
    queries = Queries(open_current(tmp_path))
    index = RegionIndex.from_wkb(queries.geometries_wkb("township"))
    assert len(index) == 18
    for township in queries.townships:
        assert index.locate_lonlat(township.label_lon, township.label_lat) == township.code
    # The county spans roughly 50 km each way; the frame is centred on it.
    xmin, ymin, xmax, ymax = index.bounds
    assert 30 < xmax - xmin < 80 and 30 < ymax - ymin < 80
    assert xmin < 0 < xmax and ymin < 0 < ymax


def test_the_index_does_not_import_qt():
    code = ("import sys, cockpit.geo.index; "
            "sys.exit(any(m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
