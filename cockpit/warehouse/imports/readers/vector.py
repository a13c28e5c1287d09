"""Township boundaries from the files GIS offices ship (GeoJSON, Shapefile with .prj/.cpg, GeoPackage,
KML/KMZ, MapInfo TAB/MIF), read through GDAL (pyogrio), reprojected to lon/lat and repaired;
`validation.boundaries` matches them to townships and checks them.

Projected coordinate systems (e.g. CGCS2000 / 3-degree Gauss-Kruger CM 120E, EPSG:4549) are
reprojected with pyproj. CGCS2000 and WGS84 geographic coordinates differ by centimetres and are
taken as they are.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from ..problems import Problem, display_name, file_problem

_WGS84_A = 6378137.0
BOUNDARY_SUFFIXES = {".geojson", ".json", ".shp", ".gpkg", ".kml", ".kmz", ".tab", ".mif"}
# Files a format needs beside the one named (a Shapefile is three files at least).
_SIDECARS = {".shp": (".shx", ".dbf"), ".tab": (".dat", ".map", ".id"), ".mif": (".mid",)}
_SIDECAR_HINT = {".shp": "同名的 .shp、.shx、.dbf（及 .prj）放在一起",
                 ".tab": "同名的 .tab、.dat、.map、.id 放在一起",
                 ".mif": "同名的 .mif、.mid 放在一起"}


@dataclass
class Feature:
    index: int                         # 1-based, as a person counts features / records
    properties: dict
    geometry: BaseGeometry | None      # lon/lat, valid, polygonal
    repaired: str | None = None        # why it was invalid, when it was repaired


@dataclass
class BoundaryFile:
    path: Path
    features: list[Feature] = field(default_factory=list)
    crs_name: str | None = None
    layer: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def file(self) -> str:
        return display_name(self.path)


# A problem with a boundary file or one of its features (`column`: 第3个要素); no sheets, no rows.
boundary_problem = partial(file_problem, check="bad_boundary")


# --- reading --------------------------------------------------------------------------------
class _Stop(Exception):
    pass


_STOP = object()


def read_boundaries(path, layer: str | None = None) -> BoundaryFile:
    """Read a boundary file; problems that stop it being used are in `.problems`.

    `layer` names the layer of a multi-layer file (GeoPackage, KML); without it the one layer
    holding polygons is taken and a note says which.
    """
    path = Path(path)
    out = BoundaryFile(path)
    try:
        # GDAL's own complaints (bad application_id …) would reach the user as Python warnings;
        # what matters of them becomes a problem below.
        with _gdal_path(path) as gdal_path, warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            raw, crs = _read_features(gdal_path, path, out, layer)
    except _Stop:
        return out
    if not raw:
        if not out.problems:
            out.problems.append(boundary_problem(out.file, "文件中没有要素", check="empty_file",
                                                 expected="每个乡镇（街道）一个面要素"))
        return out
    transform = _to_lonlat(out, crs, raw)
    if transform is _STOP:
        return out
    for index, props, geom in raw:
        if transform is not None:
            geom = shapely.transform(geom, transform)
        out.features.append(_repaired(out, index, props, geom))
    return out


@contextmanager
def _gdal_path(path: Path):
    """A path GDAL can open: the file itself, or, when its name is not valid UTF-8 (GDAL's paths
    are UTF-8), a copy of it and its sidecars under a plain name in a temporary folder."""
    try:
        os.fspath(path).encode("utf-8")
        yield str(path)
        return
    except UnicodeEncodeError:
        pass
    with tempfile.TemporaryDirectory(prefix="cockpit-gdal-") as tmp:
        for sibling in path.parent.iterdir():
            if sibling.is_file() and sibling.stem == path.stem:
                shutil.copyfile(sibling, Path(tmp) / ("boundary" + sibling.suffix))
        yield str(Path(tmp) / ("boundary" + path.suffix))


_POLYGON_TYPES = {"Polygon", "MultiPolygon", "Polygon Z", "MultiPolygon Z", "Polygon M",
                  "MultiPolygon M", "Polygon ZM", "MultiPolygon ZM", "CurvePolygon",
                  "MultiSurface"}


def _gdal_message(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"(/[^\s:'\"]+)+", "…", text)[:120]  # no temporary or absolute paths


def _read_features(gdal_path: str, path: Path, out: BoundaryFile, layer: str | None):
    import pyogrio

    suffix = path.suffix.lower()
    missing = [ext for ext in _SIDECARS.get(suffix, ()) if not _sibling(path, ext)]
    if missing:
        out.problems.append(boundary_problem(
            out.file, f"{'Shapefile' if suffix == '.shp' else 'MapInfo 文件'} 缺少 "
                      f"{'、'.join(missing)} 文件", check="unreadable", expected=_SIDECAR_HINT[suffix]))
        raise _Stop
    try:
        layers = [(str(name), str(kind)) for name, kind in pyogrio.list_layers(gdal_path)]
    except Exception as exc:  # GDAL's DataSourceError and kin: not a file of this format
        out.problems.append(boundary_problem(
            out.file, f"无法读取边界文件：{_gdal_message(exc)}", check="unreadable",
            value=path.suffix, expected="完好的 GeoJSON、Shapefile、GeoPackage、KML 或 MapInfo 文件"))
        raise _Stop
    out.layer = _choose_layer(out, layers, layer, gdal_path)
    read_args = {"layer": out.layer} if len(layers) > 1 or layer else {}
    try:
        try:
            meta, _, wkb, values = pyogrio.raw.read(gdal_path, **read_args)
            # A .dbf without .cpg or code page, a MapInfo table of charset Neutral: GDAL then
            # reads Latin-1 or fails; UTF-8 if the text reads as such, else GBK.
            guess = suffix == ".shp" and meta.get("encoding") == "ISO-8859-1" and \
                _has_non_ascii(values)
        except UnicodeDecodeError:
            guess = True
        if guess:
            for encoding in ("UTF-8", "GB18030"):
                try:
                    meta, _, wkb, values = pyogrio.raw.read(gdal_path, encoding=encoding,
                                                            **read_args)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                out.problems.append(boundary_problem(out.file, "属性表的文字编码无法识别", check="encoding",
                                                     expected="UTF-8 或 GBK 编码，或附带 .cpg 文件"))
                raise _Stop
            out.problems.append(boundary_problem(
                out.file, f"属性表没有说明文字编码，按 {'GBK' if encoding == 'GB18030' else encoding}"
                          " 读取", check="assumed_encoding", severity="note",
                expected="Shapefile 附带 .cpg 文件写明编码；MapInfo 表写明 Charset"))
    except _Stop:
        raise
    except Exception as exc:
        out.problems.append(boundary_problem(
            out.file, f"无法读取边界文件：{_gdal_message(exc)}", check="unreadable",
            value=path.suffix, expected="完好的 GeoJSON、Shapefile、GeoPackage、KML 或 MapInfo 文件"))
        raise _Stop
    if wkb is None:  # an attribute table (GeoPackage, MapInfo) has no geometry column
        out.problems.append(boundary_problem(out.file, f"图层“{out.layer or path.stem}”没有几何",
                                             check="unreadable", expected="每个乡镇（街道）一个面要素"))
        raise _Stop
    names = [str(n) for n in meta["fields"]]
    crs = None
    declared = meta.get("crs")
    if declared and not (suffix in (".geojson", ".json") and not _geojson_names_crs(path)):
        crs = _crs_from(out, declared, ".prj" if suffix == ".shp" else "文件")
    elif suffix == ".shp" and _sibling(path, ".prj"):
        crs = _crs_from(out, _sibling(path, ".prj").read_text("utf-8", "replace"), ".prj")
    raw = []
    for k in range(len(wkb)):
        index = k + 1
        props = {n: _plain(values[j][k]) for j, n in enumerate(names)}
        blob = wkb[k]
        geom = None
        if blob is not None:
            try:
                geom = shapely.from_wkb(blob)
            except shapely.errors.GEOSException as exc:
                out.problems.append(boundary_problem(out.file, f"要素的几何无法解析：{exc}",
                                                     column=f"第{index}个要素",
                                                     expected="Polygon 或 MultiPolygon"))
                continue
        geom = _polygonal(out, index, geom)
        if geom is not None:
            raw.append((index, props, geom))
    return raw, crs


def _plain(value):
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _has_non_ascii(values) -> bool:
    return any(isinstance(v, str) and not v.isascii() for col in values
               if col.dtype == object for v in col)


def _geojson_names_crs(path: Path) -> bool:
    """GDAL reports EPSG:4326 for every GeoJSON; only a "crs" member really says so."""
    with open(path, "rb") as f:
        return b'"crs"' in f.read(1 << 20)


def _choose_layer(out: BoundaryFile, layers: list[tuple[str, str]], wanted: str | None,
                  gdal_path: str) -> str | None:
    names = [n for n, _ in layers]
    if wanted is not None:
        if wanted not in names:
            out.problems.append(boundary_problem(
                out.file, f"文件中没有名为“{wanted}”的图层", value=wanted, check="unknown_layer",
                expected="图层之一：" + "、".join(names)))
            raise _Stop
        return wanted
    if len(layers) <= 1:
        return names[0] if names else None
    polygonal = [n for n, kind in layers if kind in _POLYGON_TYPES
                 or (kind in ("Unknown", "GeometryCollection") and _layer_has_polygons(gdal_path, n))]
    if len(polygonal) == 1:
        others = "、".join(f"“{n}”" for n in names if n != polygonal[0])
        out.problems.append(boundary_problem(
            out.file, f"文件有 {len(names)} 个图层，已选用含面要素的图层“{polygonal[0]}”"
                      f"（其余：{others}）", column=f"图层“{polygonal[0]}”", check="layer_chosen",
            severity="note",
            expected="要用别的图层：命令行导入时加 --layer 图层名，或在 GIS 软件中把它另存为单独的文件"))
        return polygonal[0]
    candidates = polygonal or names
    out.problems.append(boundary_problem(
        out.file, f"文件有 {len(candidates)} 个含面要素的图层，不知道该用哪一个："
                  + "、".join(f"“{n}”" for n in candidates), check="ambiguous_layer",
        value="、".join(candidates),
        expected="命令行导入时加 --layer 图层名，或在 GIS 软件中把要用的图层另存为单独的文件"))
    raise _Stop


def _layer_has_polygons(gdal_path: str, layer: str) -> bool:
    import pyogrio

    try:
        _, _, wkb, _ = pyogrio.raw.read(gdal_path, layer=layer, read_geometry=True,
                                        columns=[], max_features=200)
    except Exception:
        return False
    kinds = {shapely.get_type_id(g) for g in shapely.from_wkb([b for b in wkb if b is not None])}
    return bool(kinds & {3, 6})  # Polygon, MultiPolygon


def _sibling(path: Path, ext: str) -> Path | None:
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.is_file():
            return candidate
    return None


def _polygonal(out: BoundaryFile, index: int, geom: BaseGeometry | None) -> BaseGeometry | None:
    kind = None if geom is None else geom.geom_type
    if kind == "GeometryCollection":
        geom = _polygon_parts(geom)
        kind = None if geom is None else geom.geom_type
    if kind not in ("Polygon", "MultiPolygon"):
        out.problems.append(boundary_problem(
            out.file, "要素没有几何（几何为空，或文件不完整）" if kind is None
            else f"要素的几何是“{kind}”，不是面", column=f"第{index}个要素",
            value=None if kind is None else str(kind), expected="Polygon 或 MultiPolygon"))
        return None
    if geom.is_empty:
        out.problems.append(boundary_problem(out.file, "要素的几何是空的", column=f"第{index}个要素",
                                             expected="非空的面"))
        return None
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    return geom


# --- coordinate systems --------------------------------------------------------------------
def _crs_from(out: BoundaryFile, text: str, where: str):
    import pyproj

    try:
        crs = pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        out.problems.append(boundary_problem(out.file, f"{where}中的坐标系无法识别", value=text[:80],
                                             check="bad_crs", expected="有效的坐标系定义（WKT 或 EPSG 代码）"))
        raise _Stop
    out.crs_name = crs.name
    return crs


def _to_lonlat(out: BoundaryFile, crs, raw) -> Callable | None | object:
    """A coordinate transform to lon/lat, None when the data already is, or _STOP on an error."""
    bounds = np.array([g.bounds for _, _, g in raw])
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    looks_lonlat = -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90
    if not np.isfinite(bounds).all():
        out.problems.append(boundary_problem(out.file, "坐标中有无穷大或非数值", check="bad_boundary",
                                             expected="有限的坐标值"))
        return _STOP
    digits = 0 if max(abs(minx), abs(maxx), abs(miny), abs(maxy)) > 1000 else 2
    seen = f"x {minx:.{digits}f}…{maxx:.{digits}f}，y {miny:.{digits}f}…{maxy:.{digits}f}"
    if crs is None:
        if looks_lonlat:
            out.crs_name = "CGCS2000 / WGS84 经纬度（未声明）"
            if out.path.suffix.lower() in (".geojson", ".json", ".kml", ".kmz"):
                return None  # these formats are lon/lat by definition (RFC 7946, OGC KML)
            out.problems.append(boundary_problem(
                out.file, f"文件没有说明坐标系{'（缺少 .prj）' if out.path.suffix.lower() == '.shp' else ''}"
                          "；坐标都在经纬度范围内，按 CGCS2000 / WGS84 经纬度读取", value=seen,
                check="assumed_crs", severity="warning",
                expected="附带 .prj 说明坐标系（经纬度时为 CGCS2000 或 WGS84）"))
            return None
        out.problems.append(boundary_problem(
            out.file, "坐标不是经纬度，但没有说明坐标系", value=seen, check="bad_crs",
            expected="经纬度坐标，或附带 .prj（GeoJSON 写明 crs）说明投影坐标系"))
        return _STOP
    if crs.is_geographic:
        if not looks_lonlat:
            out.problems.append(boundary_problem(
                out.file, f"坐标系声明为地理坐标“{crs.name}”，但坐标超出经纬度范围", value=seen,
                check="bad_crs", expected="与坐标一致的 .prj"))
            return _STOP
        ellipsoid = crs.ellipsoid
        if ellipsoid is not None and abs(ellipsoid.semi_major_metre - _WGS84_A) < 1.0:
            return None  # WGS84 / CGCS2000: the same to within centimetres
    elif looks_lonlat:
        out.problems.append(boundary_problem(
            out.file, f"坐标像经纬度，但坐标系声明为投影坐标“{crs.name}”", value=seen,
            check="bad_crs", expected="与坐标一致的 .prj"))
        return _STOP
    import pyproj

    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])
    lon_lat = transform(bounds[:, :2])
    if not np.isfinite(lon_lat).all():
        out.problems.append(boundary_problem(
            out.file, f"坐标不在坐标系“{crs.name}”的有效范围内，无法换算为经纬度", value=seen,
            check="bad_crs", expected="与坐标一致的 .prj"))
        return _STOP
    return transform


# --- repair ----------------------------------------------------------------------------------
def _polygon_parts(geom: BaseGeometry) -> BaseGeometry | None:
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, (Polygon, MultiPolygon))]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if isinstance(p, MultiPolygon) else [p])
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _repaired(out: BoundaryFile, index: int, props: dict, geom: BaseGeometry) -> Feature:
    if geom.is_valid:
        return Feature(index, props, geom)
    reason = shapely.is_valid_reason(geom)
    fixed = _polygon_parts(shapely.make_valid(geom))
    if fixed is None:
        out.problems.append(boundary_problem(out.file, f"几何无效且无法修复：{reason}",
                                             column=f"第{index}个要素", expected="有效的面"))
        return Feature(index, props, None, reason)
    return Feature(index, props, fixed, reason)
