"""Schematic township areas for a county outline, so demo events can be placed on a plausible map."""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

__all__ = [
    "DEFAULT_WEIGHTS",
    "Seat",
    "label_point",
    "load_outline",
    "load_seats",
    "partition",
    "place_seats",
    "random_points_in",
    "spread_seats",
    "township_geometries",
]

OUTLINE_FILE = "wuyi_outline.geojson"
SEATS_FILE = "wuyi_township_seats.csv"

_EARTH_RADIUS_M = 6_371_008.8

# Relative sizes only (multiplicative weights), tuned by eye so the schematic map
# roughly follows the real pattern: large mountain townships in the south and
# west, small urban sub-districts around the county town.
DEFAULT_WEIGHTS: dict[str, float] = {
    "熟溪街道": 0.55,
    "壶山街道": 0.45,
    "白洋街道": 0.6,
    "履坦镇": 1.0,
    "桐琴镇": 0.9,
    "泉溪镇": 0.95,
    "王宅镇": 0.9,
    "茭道镇": 0.95,
    "桃溪镇": 1.0,
    "新宅镇": 1.1,
    "柳城畲族镇": 1.8,
    "俞源乡": 0.9,
    "白姆乡": 0.8,
    "大溪口乡": 0.9,
    "坦洪乡": 1.05,
    "大田乡": 1.3,
    "三港乡": 1.2,
    "西联乡": 2.05,
}


@dataclass(frozen=True)
class Seat:
    """A township seat (government location), lon/lat in degrees."""

    name: str
    kind: str
    lon: float
    lat: float


# --------------------------------------------------------------------------- I/O


def valid_area(geom: BaseGeometry) -> BaseGeometry:
    """`geom` made valid, keeping only its area: make_valid can leave slivers as lines (a
    GeometryCollection), and an outline is only ever used for what it covers."""
    if geom.is_valid:
        return geom
    geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(polys) if polys else geom
    return geom


def load_outline(path: str | os.PathLike) -> Polygon | MultiPolygon:
    """Read a polygonal outline (lon/lat) from a GeoJSON FeatureCollection, Feature or geometry."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    kind = doc.get("type")
    if kind == "FeatureCollection":
        geoms = [shape(f["geometry"]) for f in doc.get("features", []) if f.get("geometry")]
    elif kind == "Feature":
        geoms = [shape(doc["geometry"])]
    else:
        geoms = [shape(doc)]
    if not geoms:
        raise ValueError(f"{path}: no geometry found")
    geom = valid_area(geoms[0] if len(geoms) == 1 else shapely.union_all(geoms))
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ValueError(f"{path}: outline must be a non-empty (Multi)Polygon, got {geom.geom_type}")
    return geom


def load_seats(path: str | os.PathLike) -> list[Seat]:
    """Read seats from a CSV with header ``name,kind,lon_approx,lat_approx``."""
    # utf-8-sig: the CSV may be edited in Excel, which adds a BOM.
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"name", "kind", "lon_approx", "lat_approx"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        seats = [
            Seat(
                name=row["name"].strip(),
                kind=row["kind"].strip(),
                lon=float(row["lon_approx"]),
                lat=float(row["lat_approx"]),
            )
            for row in reader
            if row["name"] and row["name"].strip()
        ]
    return seats


# ------------------------------------------------------------------ projection


class _LocalProjection:
    """Equirectangular projection in metres around (lon0, lat0); accurate enough at county scale."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = lon0
        self.lat0 = lat0
        self.ky = math.radians(1.0) * _EARTH_RADIUS_M
        self.kx = self.ky * math.cos(math.radians(lat0))

    def fwd_coords(self, lonlat: np.ndarray) -> np.ndarray:
        out = np.empty_like(lonlat, dtype=float)
        out[:, 0] = (lonlat[:, 0] - self.lon0) * self.kx
        out[:, 1] = (lonlat[:, 1] - self.lat0) * self.ky
        return out

    def inv_coords(self, xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy, dtype=float)
        out[:, 0] = xy[:, 0] / self.kx + self.lon0
        out[:, 1] = xy[:, 1] / self.ky + self.lat0
        return out

    def fwd(self, geom):
        return shapely.transform(geom, self.fwd_coords)

    def inv(self, geom):
        return shapely.transform(geom, self.inv_coords)


def _projection_for(geom: BaseGeometry) -> _LocalProjection:
    c = geom.centroid
    return _LocalProjection(c.x, c.y)


def _parts(geom: BaseGeometry) -> list[Polygon]:
    if geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon" and not g.is_empty]


# ----------------------------------------------------------------------- seats


def _seat_margin_m(outline_m: BaseGeometry) -> float:
    return 0.01 * math.sqrt(outline_m.area)


def _place_seats_m(outline_m: BaseGeometry, seats: Sequence[Seat], proj: _LocalProjection) -> np.ndarray:
    xy = proj.fwd_coords(np.array([[s.lon, s.lat] for s in seats], dtype=float))
    inside = shapely.contains_xy(outline_m, xy[:, 0], xy[:, 1])
    if inside.all():
        return xy
    # Moving onto an inset outline keeps a moved seat clear of the county border,
    # so its township gets a real foothold rather than a sliver.
    target = outline_m.buffer(-_seat_margin_m(outline_m))
    if target.is_empty:
        target = outline_m
    for i in np.flatnonzero(~inside):
        p = Point(xy[i])
        q = shapely.ops.nearest_points(target, p)[0]
        if not outline_m.contains(q):
            q = target.point_on_surface()
        xy[i] = (q.x, q.y)
    return xy


def place_seats(outline: BaseGeometry, seats: Sequence[Seat]) -> list[Seat]:
    """Return the seats as :func:`partition` uses them: seats outside the outline moved to the nearest interior point.

    Seats already inside the outline are returned unchanged; ``partition`` guarantees
    every placed seat lies inside its own township.
    """
    proj = _projection_for(outline)
    outline_m = proj.fwd(outline)
    xy = proj.inv_coords(_place_seats_m(outline_m, seats, proj))
    return [
        s if (s.lon, s.lat) == (float(x), float(y)) else Seat(s.name, s.kind, float(x), float(y))
        for s, (x, y) in zip(seats, xy)
    ]


# ------------------------------------------------------------------- partition


def _smooth_warp(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, spacing: float, amplitude: float):
    """Domain-warp displacement field: a sum of random plane waves, smooth and cheap to evaluate."""
    n_modes = 12
    out = []
    for _ in range(2):
        wavelength = spacing * np.exp(rng.uniform(np.log(0.3), np.log(1.4), n_modes))
        theta = rng.uniform(0.0, 2.0 * np.pi, n_modes)
        phase = rng.uniform(0.0, 2.0 * np.pi, n_modes)
        # Longer waves get more amplitude so boundaries bend broadly and wiggle a little.
        amp = wavelength / wavelength.sum()
        kx = 2.0 * np.pi * np.cos(theta) / wavelength
        ky = 2.0 * np.pi * np.sin(theta) / wavelength
        field = np.zeros_like(x)
        for k in range(n_modes):
            field += amp[k] * np.sin(kx[k] * x + ky[k] * y + phase[k])
        # Sum of unit sines with weights summing to 1 has std ~ sqrt(sum amp^2 / 2).
        field *= amplitude / math.sqrt(float((amp**2).sum()) / 2.0)
        out.append(field)
    return out[0], out[1]


def _majority_filter(labels: np.ndarray, n: int, locked: np.ndarray, passes: int) -> np.ndarray:
    """Remove one-cell speckle and jaggies that would otherwise become tiny exclaves."""
    ny, nx = labels.shape
    jj, ii = np.indices((ny, nx))
    for _ in range(passes):
        padded = np.pad(labels, 1, mode="edge")
        counts = np.zeros((n, ny, nx), dtype=np.float32)
        for dj in range(3):
            for di in range(3):
                np.add.at(counts, (padded[dj : dj + ny, di : di + nx], jj, ii), 1.0)
        # Slight bias to the current label makes ties stable (no flip-flopping).
        counts[labels, jj, ii] += 0.5
        new = counts.argmax(axis=0)
        labels = np.where(locked, labels, new)
    return labels


def _label_edges(labels: np.ndarray, x0: float, y0: float, cell: float) -> np.ndarray:
    """Unit grid segments separating cells of different labels, as an array of LineStrings."""
    ny, nx = labels.shape
    segs = []
    jj, ii = np.nonzero(labels[:, 1:] != labels[:, :-1])
    if jj.size:
        x = x0 + (ii + 1) * cell
        segs.append(np.stack([np.stack([x, y0 + jj * cell], 1), np.stack([x, y0 + (jj + 1) * cell], 1)], 1))
    jj, ii = np.nonzero(labels[1:, :] != labels[:-1, :])
    if jj.size:
        y = y0 + (jj + 1) * cell
        segs.append(np.stack([np.stack([x0 + ii * cell, y], 1), np.stack([x0 + (ii + 1) * cell, y], 1)], 1))
    if not segs:
        return np.empty(0, dtype=object)
    return shapely.linestrings(np.concatenate(segs))


def _chaikin(xy: np.ndarray, closed: bool, rounds: int) -> np.ndarray:
    for _ in range(rounds):
        if closed:
            a, b = xy[:-1], np.roll(xy[:-1], -1, axis=0)
        else:
            a, b = xy[:-1], xy[1:]
        q = 0.75 * a + 0.25 * b
        r = 0.25 * a + 0.75 * b
        mid = np.empty((2 * len(a), 2))
        mid[0::2], mid[1::2] = q, r
        # Open lines keep their end nodes exactly, so neighbouring borders still meet.
        xy = np.vstack([mid, mid[:1]]) if closed else np.vstack([xy[:1], mid, xy[-1:]])
    return xy


def _smooth_lines(edges: np.ndarray, cell: float) -> np.ndarray:
    """Border polylines between junctions, staircase removed and corners rounded.

    Every border is smoothed once and shared by both sides, so the faces built
    from it still form an exact coverage.
    """
    if edges.size == 0:
        return edges
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(edges)))
    # A loop that starts at a junction must keep that vertex, or the borders
    # meeting there would no longer touch.
    ends = shapely.get_coordinates(
        np.concatenate([shapely.get_point(merged, 0), shapely.get_point(merged, -1)])
    )
    end_count: dict[tuple[float, float], int] = {}
    for xy_end in map(tuple, ends):
        end_count[xy_end] = end_count.get(xy_end, 0) + 1
    out = []
    for line in merged:
        start = tuple(shapely.get_coordinates(shapely.get_point(line, 0))[0])
        closed = bool(line.is_closed) and end_count[start] == 2
        simple = shapely.simplify(line, 1.0 * cell, preserve_topology=False)
        xy = shapely.get_coordinates(simple)
        if len(xy) < (4 if closed else 2):
            xy = shapely.get_coordinates(line)
        out.append(shapely.linestrings(_chaikin(xy, closed, rounds=3)))
    return np.array(out, dtype=object)


def _polygonize_labels(lines: np.ndarray, outline_m: BaseGeometry, grid, n: int) -> list[BaseGeometry]:
    """Faces cut from the outline by the border lines, unioned per raster label."""
    labels, x0, y0, cell = grid
    ny, nx = labels.shape
    # Noding the borders together with the exact outline in one overlay makes
    # every face share identical vertices with its neighbours: a true coverage.
    linework = shapely.union_all(np.concatenate([lines, np.array([outline_m.boundary], dtype=object)]))
    faces = np.array(shapely.get_parts(shapely.polygonize(shapely.get_parts(linework))), dtype=object)
    reps = shapely.point_on_surface(faces)
    rx, ry = shapely.get_x(reps), shapely.get_y(reps)
    keep = shapely.contains_xy(outline_m, rx, ry)
    faces, rx, ry = faces[keep], rx[keep], ry[keep]
    fi = np.clip(np.floor((rx - x0) / cell).astype(int), 0, nx - 1)
    fj = np.clip(np.floor((ry - y0) / cell).astype(int), 0, ny - 1)
    face_label = labels[fj, fi]
    # Smoothed borders stray up to a cell from the raster, so a single interior
    # point can sit in a neighbour's cell; a vote of the cells inside is robust.
    bounds = shapely.bounds(faces)
    for k, face in enumerate(faces):
        i0, j0 = (np.floor((bounds[k, :2] - (x0, y0)) / cell)).astype(int)
        i1, j1 = (np.ceil((bounds[k, 2:] - (x0, y0)) / cell)).astype(int)
        i0, j0, i1, j1 = max(i0, 0), max(j0, 0), min(i1, nx), min(j1, ny)
        if i1 <= i0 or j1 <= j0:
            continue
        ii, jj = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1))
        inside = shapely.contains_xy(face, x0 + (ii + 0.5) * cell, y0 + (jj + 0.5) * cell)
        if inside.any():
            face_label[k] = np.bincount(labels[jj[inside], ii[inside]], minlength=n).argmax()
    return [
        shapely.coverage_union_all(faces[face_label == i]) if np.any(face_label == i) else Polygon()
        for i in range(n)
    ]


def _shared_length(piece: BaseGeometry, others: np.ndarray) -> np.ndarray:
    return shapely.length(shapely.intersection(piece.boundary, shapely.boundary(others)))


def _merge_exclaves(
    groups: list[BaseGeometry], seats_xy: np.ndarray, max_rounds: int = 20
) -> list[BaseGeometry]:
    """Give every part that does not hold its seat to the neighbour it shares most border with."""
    n = len(groups)
    for _ in range(max_rounds):
        pieces: list[tuple[Polygon, int]] = []
        for lab, geom in enumerate(groups):
            parts = _parts(geom)
            if len(parts) <= 1:
                pieces.extend((p, lab) for p in parts)
                continue
            seat = Point(seats_xy[lab])
            holding = [k for k, p in enumerate(parts) if p.intersects(seat)]
            main = holding[0] if holding else int(np.argmax([p.area for p in parts]))
            pieces.extend((p, lab) for p in parts[main : main + 1])
            pieces.extend((p, -1 - lab) for k, p in enumerate(parts) if k != main)
        strays = [(p, -1 - code) for p, code in pieces if code < 0]
        if not strays:
            return groups
        union_arr = np.array(groups, dtype=object)
        moved = False
        new_owner = []
        for p, lab in sorted(strays, key=lambda t: t[0].area):
            shared = _shared_length(p, union_arr)
            shared[lab] = 0.0
            best = int(np.argmax(shared))
            if shared[best] > 0.0:
                new_owner.append((p, best))
                moved = True
            else:
                new_owner.append((p, lab))  # an island of the outline: nothing to merge into
        if not moved:
            return groups
        buckets: list[list[Polygon]] = [[] for _ in range(n)]
        for p, code in pieces:
            if code >= 0:
                buckets[code].append(p)
        for p, lab in new_owner:
            buckets[lab].append(p)
        groups = [shapely.coverage_union_all(b) if b else Polygon() for b in buckets]
    return groups


def _as_polygonal(geom: BaseGeometry) -> BaseGeometry:
    parts = _parts(geom)
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


def partition(
    outline: BaseGeometry,
    seats: Sequence[Seat],
    weights: Mapping[str, float] | None = None,
    seed: int = 0,
) -> dict[str, BaseGeometry]:
    """Split ``outline`` (lon/lat) into one schematic area per seat, returned in lon/lat keyed by seat name.

    Each grid cell (about 1/100 of the outline's size) goes to the seat with the
    smallest distance/weight, measured from a smoothly noise-warped position so
    borders meander.  The cell borders are smoothed, cut against the exact
    outline and polygonised, exclaves are merged into the neighbour they touch
    most, and the shared edges are lightly coverage-simplified.

    ``weights`` overrides :data:`DEFAULT_WEIGHTS` per name (other names default
    to 1.0).  Seats outside the outline are first moved inside (see
    :func:`place_seats`); every placed seat lies inside its own area.  The result
    is a clean coverage whose union is the outline, one polygon per seat unless
    the outline itself has separate islands; the same ``seed`` always gives the
    same borders.  Raises ``ValueError`` for duplicate names, non-positive
    weights, or seats too close together to separate (within ~1/400 of the
    outline's size).
    """
    if not seats:
        raise ValueError("need at least one seat")
    names = [s.name for s in seats]
    if len(set(names)) != len(names):
        raise ValueError("seat names must be unique")
    if outline.is_empty or outline.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError("outline must be a non-empty Polygon or MultiPolygon")
    if len(seats) == 1:
        return {names[0]: outline}

    w = np.array(
        [
            (weights.get(nm) if weights is not None and nm in weights else DEFAULT_WEIGHTS.get(nm, 1.0))
            for nm in names
        ],
        dtype=float,
    )
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError("weights must be positive")

    proj = _projection_for(outline)
    outline_m = proj.fwd(outline)
    seats_xy = _place_seats_m(outline_m, seats, proj)
    n = len(seats)

    scale = math.sqrt(outline_m.area)
    spacing = math.sqrt(outline_m.area / n)
    diff = seats_xy[:, None, :] - seats_xy[None, :, :]
    dist = np.hypot(diff[..., 0], diff[..., 1])
    np.fill_diagonal(dist, np.inf)
    dmin = float(dist.min())
    # Fine enough to separate the closest seats, coarse enough to stay fast.
    cell = max(min(scale / 100.0, dmin / 4.0), scale / 400.0)

    minx, miny, maxx, maxy = outline_m.bounds
    x0, y0 = minx - cell, miny - cell
    nx = int(math.ceil((maxx - minx) / cell)) + 2
    ny = int(math.ceil((maxy - miny) / cell)) + 2
    cx = x0 + (np.arange(nx) + 0.5) * cell
    cy = y0 + (np.arange(ny) + 0.5) * cell
    gx, gy = np.meshgrid(cx, cy)

    rng = np.random.default_rng(seed)
    wx, wy = _smooth_warp(rng, gx, gy, spacing, amplitude=0.16 * spacing)
    plain = np.empty((n, ny, nx))
    for i in range(n):
        plain[i] = np.hypot(gx - seats_xy[i, 0], gy - seats_xy[i, 1])
    # Where seats crowd together (the county town) full-strength warp would throw
    # out tendrils; damp it by the local seat spacing (distance to 2nd-nearest seat).
    local = np.partition(plain, 1, axis=0)[1]
    damp = np.clip(local / spacing, 0.25, 1.0)
    px, py = gx + damp * wx, gy + damp * wy
    score = np.empty((n, ny, nx))
    for i in range(n):
        score[i] = np.hypot(px - seats_xy[i, 0], py - seats_xy[i, 1]) / w[i]
    labels = score.argmin(axis=0)

    # Lock a small disc around each seat to its own township, so warp noise or
    # smoothing can never leave a seat in a neighbour's area.
    seat_i = np.floor((seats_xy[:, 0] - x0) / cell).astype(int)
    seat_j = np.floor((seats_xy[:, 1] - y0) / cell).astype(int)
    if len(set(zip(seat_i.tolist(), seat_j.tolist()))) != n:
        raise ValueError("two seats are too close together to be separated")
    radius = min(2.5 * cell, 0.4 * dmin)
    locked = np.zeros((ny, nx), dtype=bool)
    for i in range(n):
        disc = plain[i] <= radius
        disc[seat_j[i], seat_i[i]] = True
        labels[disc] = i
        locked |= disc
    labels = _majority_filter(labels, n, locked, passes=2)

    edges = _label_edges(labels, x0, y0, cell)
    seat_pts = shapely.points(seats_xy)
    grid = (labels, x0, y0, cell)
    result_m = None
    # Smoothed linework gives natural-looking borders; the plain staircase is the
    # fallback should smoothing ever cut across a seat or split a township.
    for smooth in (True, False):
        lines = _smooth_lines(edges, cell) if smooth else edges
        groups = _merge_exclaves(_polygonize_labels(lines, outline_m, grid, n), seats_xy)
        n_parts = [len(_parts(g)) for g in groups]
        tolerances = (0.15 * cell, 0.0) if smooth else (1.0 * cell, 0.5 * cell, 0.0)
        for tol in tolerances:
            cand = (
                list(shapely.coverage_simplify(np.array(groups, dtype=object), tol, simplify_boundary=False))
                if tol > 0
                else list(groups)
            )
            if all(
                g.is_valid and not g.is_empty and g.contains(p) and len(_parts(g)) == k
                for g, p, k in zip(cand, seat_pts, n_parts)
            ):
                result_m = cand
                break
        if result_m is not None:
            break
    if result_m is None:
        result_m = groups

    return {nm: _as_polygonal(proj.inv(g)) for nm, g in zip(names, result_m)}


@lru_cache(maxsize=4)
def _cached_townships(outline_path: str, seats_path: str, _stamp: tuple) -> dict[str, BaseGeometry]:
    return partition(load_outline(outline_path), load_seats(seats_path), weights=None, seed=0)


def township_geometries(data_dir: str | os.PathLike) -> dict[str, BaseGeometry]:
    """Wuyi township areas (lon/lat) from ``data_dir``'s outline and seat files, default weights, seed 0."""
    d = Path(data_dir)
    outline_path, seats_path = d / OUTLINE_FILE, d / SEATS_FILE
    # Keyed on mtimes so an edited data file is picked up without a restart.
    stamp = (outline_path.stat().st_mtime_ns, seats_path.stat().st_mtime_ns)
    return dict(_cached_townships(str(outline_path.resolve()), str(seats_path.resolve()), stamp))


# ---------------------------------------------------------------------- helpers


def label_point(geom: BaseGeometry) -> Point:
    """A point well inside ``geom`` (lon/lat), on its largest part, for placing a label."""
    parts = _parts(geom)
    if not parts:
        raise ValueError("label_point needs a non-empty polygonal geometry")
    largest = max(parts, key=lambda p: p.area)
    # Pole of inaccessibility in metric space; in raw degrees it is skewed east-west.
    proj = _projection_for(largest)
    poly_m = proj.fwd(largest)
    try:
        p = shapely.ops.polylabel(poly_m, tolerance=math.sqrt(poly_m.area) / 200.0)
    except Exception:  # degenerate slivers; point_on_surface always works
        p = poly_m.point_on_surface()
    if not poly_m.contains(p):
        p = poly_m.point_on_surface()
    return proj.inv(p)


def random_points_in(geom: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` lon/lat points uniformly distributed inside ``geom``, as an (n, 2) array."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if geom.is_empty or geom.area <= 0:
        raise ValueError("random_points_in needs a geometry with area")
    out = np.empty((n, 2))
    if n == 0:
        return out
    shapely.prepare(geom)
    minx, miny, maxx, maxy = geom.bounds
    fill = geom.area / ((maxx - minx) * (maxy - miny))
    got = 0
    for _ in range(1000):
        need = n - got
        batch = int(need / max(fill, 1e-3) * 1.3) + 16
        xs = rng.uniform(minx, maxx, batch)
        ys = rng.uniform(miny, maxy, batch)
        hit = shapely.contains_xy(geom, xs, ys)
        take = min(int(hit.sum()), need)
        out[got : got + take, 0] = xs[hit][:take]
        out[got : got + take, 1] = ys[hit][:take]
        got += take
        if got == n:
            return out
    raise RuntimeError("rejection sampling did not converge")


def spread_seats(outline: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """n well-spread seats (lon/lat), denser around the county seat: a few k-means rounds over
    random points, a third of them drawn near the centre so urban townships come out small."""
    centre = label_point(outline)
    lat0 = centre.y
    kx = math.cos(math.radians(lat0))
    pts = random_points_in(outline, max(40 * n, 400), rng)
    minx, miny, maxx, maxy = outline.bounds
    spread = 0.12 * min((maxx - minx) * kx, maxy - miny)
    near = np.column_stack([rng.normal(centre.x, spread / kx, 20 * n),
                            rng.normal(centre.y, spread, 20 * n)])
    near = near[shapely.contains_xy(outline, near[:, 0], near[:, 1])]
    pts = np.vstack([pts, near])
    xy = pts * np.array([kx, 1.0])
    centres = xy[rng.choice(len(xy), n, replace=False)]
    for _ in range(12):
        d = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
        label = d.argmin(axis=1)
        for k in range(n):
            members = xy[label == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    seats = centres / np.array([kx, 1.0])
    # A mean of a concave cluster can fall outside: pull it to the cluster's nearest point.
    inside = shapely.contains_xy(outline, seats[:, 0], seats[:, 1])
    for k in np.flatnonzero(~inside):
        nearest = ((xy - centres[k]) ** 2).sum(axis=1).argmin()
        seats[k] = pts[nearest]
    order = np.argsort(((seats - [centre.x, centre.y]) * [kx, 1.0]) ** 2 @ [1.0, 1.0])
    return seats[order]
