"""Region polygons in a flat kilometre frame, and a spatial index answering "which region is here?".

The map draws and hit-tests in this frame: kilometres keep Qt's float geometry well conditioned
(degrees lose precision in integer bounding rects) and make distances on screen true to the ground
at county scale. Lookups go through a `shapely.STRtree`, never a loop over polygons.
"""
from __future__ import annotations

import math
from typing import Iterator, Mapping

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["KM_PER_DEG_LAT", "KM_PER_DEG_LON_EQUATOR", "RegionIndex", "Ring", "Rings"]

KM_PER_DEG_LON_EQUATOR = 111.32
KM_PER_DEG_LAT = 110.57
_POLYGONAL = ("Polygon", "MultiPolygon")
DRAWN_DETAIL = 4000   # a drawn outline is within 1/4000 of its level's extent (drawn_rings)

Ring = np.ndarray                          # (n, 2) float64, x/y in km
Rings = list[tuple[Ring, list[Ring]]]      # one (exterior, interiors) per polygon part


class RegionIndex:
    """Projection and point lookup over a fixed set of region polygons (code -> lon/lat geometry).

    The frame is equirectangular around the area-weighted centroid: x east, y north, kilometres.
    Geometries that are empty or not polygonal are left out (they cannot be clicked or drawn).
    """

    def __init__(self, geometries: Mapping[str, BaseGeometry],
                 origin: tuple[float, float] | None = None):
        codes, geoms = [], []
        for code, geom in geometries.items():
            if geom is None or geom.is_empty or geom.geom_type not in _POLYGONAL:
                continue
            codes.append(code)
            geoms.append(geom)
        self.codes: tuple[str, ...] = tuple(codes)
        self._row = {code: i for i, code in enumerate(codes)}
        lonlat = np.asarray(geoms, dtype=object)

        if origin is None:
            origin = _weighted_centroid(lonlat) if len(lonlat) else (0.0, 0.0)
        self.origin: tuple[float, float] = (float(origin[0]), float(origin[1]))
        self.km_per_deg_lon = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(self.origin[1]))
        self.km_per_deg_lat = KM_PER_DEG_LAT

        self._planar = shapely.transform(lonlat, self._project_coords) if len(lonlat) else lonlat
        # Prepared geometries make the predicate check in `query` several times faster.
        shapely.prepare(self._planar)
        self._tree = shapely.STRtree(self._planar)

    @classmethod
    def from_wkb(cls, wkb_by_code: Mapping[str, bytes],
                 origin: tuple[float, float] | None = None) -> "RegionIndex":
        codes = list(wkb_by_code)
        geoms = shapely.from_wkb([wkb_by_code[c] for c in codes]) if codes else []
        return cls(dict(zip(codes, geoms)), origin)

    # -- projection --------------------------------------------------------------------------
    def project(self, lon, lat):
        """lon/lat (degrees, scalars or arrays) -> x/y (km); scalars in, floats out."""
        x = (np.asarray(lon, dtype=float) - self.origin[0]) * self.km_per_deg_lon
        y = (np.asarray(lat, dtype=float) - self.origin[1]) * self.km_per_deg_lat
        return (float(x), float(y)) if x.ndim == 0 and y.ndim == 0 else (x, y)

    def unproject(self, x, y):
        """x/y (km) -> lon/lat (degrees); the exact inverse of `project`."""
        lon = np.asarray(x, dtype=float) / self.km_per_deg_lon + self.origin[0]
        lat = np.asarray(y, dtype=float) / self.km_per_deg_lat + self.origin[1]
        return (float(lon), float(lat)) if lon.ndim == 0 and lat.ndim == 0 else (lon, lat)

    def _project_coords(self, coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords, dtype=float)
        out[:, 0] = (coords[:, 0] - self.origin[0]) * self.km_per_deg_lon
        out[:, 1] = (coords[:, 1] - self.origin[1]) * self.km_per_deg_lat
        return out

    # -- lookup ------------------------------------------------------------------------------
    def locate(self, x: float, y: float) -> str | None:
        """The region under a point of the km frame, or None outside every region (or in a hole).

        A point on a shared boundary belongs to the region listed first, so the answer is stable.
        """
        hits = self._tree.query(shapely.Point(x, y), predicate="intersects")
        if len(hits) == 0:
            return None
        return self.codes[int(hits.min())]

    def locate_lonlat(self, lon: float, lat: float) -> str | None:
        return self.locate(*self.project(lon, lat))

    def locate_many(self, x, y) -> np.ndarray:
        """Vectorised `locate`: an object array of codes (None where no region) for many points."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        out = np.full(len(x), None, dtype=object)
        if not len(x) or not self.codes:
            return out
        point_idx, geom_idx = self._tree.query(shapely.points(x, y), predicate="intersects")
        # Several hits for one point (shared boundary): keep the lowest region row, as `locate`.
        order = np.lexsort((geom_idx, point_idx))
        point_idx, geom_idx = point_idx[order], geom_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        codes = np.asarray(self.codes, dtype=object)
        out[point_idx[first]] = codes[geom_idx[first]]
        return out

    # -- geometry for drawing ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.codes)

    def __contains__(self, code: object) -> bool:
        return code in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def geometry(self, code: str) -> BaseGeometry:
        """The region's polygon(s) in the km frame."""
        return self._planar[self._row[code]]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of every region, km."""
        if not self.codes:
            return (0.0, 0.0, 0.0, 0.0)
        return tuple(float(v) for v in shapely.total_bounds(self._planar))

    def rings(self, code: str) -> Rings:
        """Each polygon part as (exterior, [interiors]), (n, 2) km arrays, for drawing."""
        return _rings(self.geometry(code))

    def drawn_rings(self, detail: int = DRAWN_DETAIL) -> dict[str, Rings]:
        """Every region's rings for a map fitted to the screen: simplified so that no point
        moves more than 1/`detail` of the level's extent (under a pixel of a map 4,000 pixels
        across; the map is fitted, never zoomed). A country's 34 provinces drawn from 74,000
        points took 22 ms to fill and outline at 800 pixels, from 18,000 9 ms; a department's
        boundary file from GIS software has far more points than a screen shows. Hit-testing
        and printing keep the full outlines (`geometry`, `rings`); a part simplified away
        keeps its own."""
        if not self.codes:
            return {}
        xmin, ymin, xmax, ymax = self.bounds
        tolerance = max(xmax - xmin, ymax - ymin) / detail
        # (without keeping topology: ~6× quicker, and a self-touching outline fills the same)
        simple = shapely.simplify(self._planar, tolerance, preserve_topology=False)
        return {code: _rings(drawn if drawn.geom_type in _POLYGONAL and not drawn.is_empty
                             else geom)
                for code, geom, drawn in zip(self.codes, self._planar, simple)}

    def inner_point(self, code: str, x: float | None = None, y: float | None = None
                    ) -> tuple[float, float]:
        """A point inside the region: (x, y) if given and inside it, else a point on its surface.

        Used to anchor labels and clicks; a label point from the warehouse may fall outside a
        concave township.
        """
        if x is not None and y is not None and self.locate(x, y) == code:
            return float(x), float(y)
        p = shapely.point_on_surface(self.geometry(code))
        return float(p.x), float(p.y)


def _rings(geom: BaseGeometry) -> Rings:
    parts = geom.geoms if geom.geom_type == "MultiPolygon" else (geom,)
    return [(shapely.get_coordinates(p.exterior),
             [shapely.get_coordinates(r) for r in p.interiors])
            for p in parts if not p.is_empty]


def _weighted_centroid(geoms: np.ndarray) -> tuple[float, float]:
    """Area-weighted centroid of all geometries, in their own (lon/lat) coordinates."""
    areas = shapely.area(geoms)
    centroids = shapely.get_coordinates(shapely.centroid(geoms))
    if areas.sum() <= 0:
        lon0, lat0 = centroids.mean(axis=0)
    else:
        lon0, lat0 = (centroids * areas[:, None]).sum(axis=0) / areas.sum()
    return float(lon0), float(lat0)
