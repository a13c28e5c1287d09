"""Township boundaries from GeoJSON or a Shapefile (.shp/.shx/.dbf with its .prj): reprojected to lon/lat,
invalid geometries repaired and reported, holes and multi-part townships kept, features matched to
townships by name or code.

Projected coordinate systems (e.g. CGCS2000 / 3-degree Gauss-Kruger CM 120E, EPSG:4549) are
reprojected with pyproj. CGCS2000 and WGS84 geographic coordinates differ by centimetres and are
taken as they are.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pyarrow as pa
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from ..warehouse.validation import Problem
from .partition import label_point

_WGS84_A = 6378137.0
# Property names that usually hold a township's name or code, tried first.
NAME_FIELDS = ("name", "NAME", "名称", "乡镇", "乡镇名称", "XZMC", "XZQMC", "TOWN", "town",
               "code", "CODE", "代码", "XZDM", "XZQDM", "adcode", "ADCODE")


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
    problems: list[Problem] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name


@dataclass
class Matched:
    geometries: dict[str, BaseGeometry]
    problems: list[Problem]


def _error(file: str, message: str, *, column=None, value=None, expected=None,
           check="bad_boundary", severity="error") -> Problem:
    return Problem(severity, check, file, None, None, column, value, expected, message)


# --- reading --------------------------------------------------------------------------------
def read_boundaries(path) -> BoundaryFile:
    """Read a GeoJSON or Shapefile; problems that stop it being used are in `.problems`."""
    path = Path(path)
    out = BoundaryFile(path)
    try:
        if path.suffix.lower() == ".shp":
            raw, crs = _read_shapefile(path, out)
        else:
            raw, crs = _read_geojson(path, out)
    except _Stop:
        return out
    if not raw:
        if not out.problems:
            out.problems.append(_error(out.file, "文件中没有要素", check="empty_file",
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


class _Stop(Exception):
    pass


_STOP = object()


def _read_geojson(path: Path, out: BoundaryFile):
    from ..warehouse.importer import decode_text

    try:
        text, _ = decode_text(path.read_bytes())
        doc = json.loads(text)
    except (ValueError, OSError) as exc:
        out.problems.append(_error(out.file, f"不是有效的 GeoJSON：{exc}", check="unreadable",
                                   expected="GeoJSON（FeatureCollection）"))
        raise _Stop
    if not isinstance(doc, dict):
        out.problems.append(_error(out.file, "不是 GeoJSON 对象", check="unreadable",
                                   expected="GeoJSON（FeatureCollection）"))
        raise _Stop
    crs = None
    name = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if name:
        crs = _crs_from(out, name, "GeoJSON 的 crs")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features") or []
    elif kind == "Feature":
        features = [doc]
    elif kind in ("Polygon", "MultiPolygon"):
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        out.problems.append(_error(out.file, f"GeoJSON 类型“{kind}”不是要素集合", value=str(kind),
                                   check="unreadable", expected="FeatureCollection"))
        raise _Stop
    raw = []
    for index, feature in enumerate(features, start=1):
        props = dict(feature.get("properties") or {})
        geom_doc = feature.get("geometry")
        geom = _polygonal(out, index, geom_doc.get("type") if geom_doc else None,
                          lambda g=geom_doc: shape(g))
        if geom is not None:
            raw.append((index, props, geom))
    return raw, crs


def _read_shapefile(path: Path, out: BoundaryFile):
    import shapefile

    missing = [ext for ext in (".shx", ".dbf") if not _sibling(path, ext)]
    if missing:
        out.problems.append(_error(
            out.file, f"Shapefile 缺少 {'、'.join(missing)} 文件", check="unreadable",
            expected="同名的 .shp、.shx、.dbf（及 .prj）放在一起"))
        raise _Stop
    crs = None
    prj = _sibling(path, ".prj")
    if prj is not None:
        crs = _crs_from(out, prj.read_text(encoding="utf-8", errors="replace"), prj.name)
    cpg = _sibling(path, ".cpg")
    encodings = [cpg.read_text(encoding="ascii", errors="ignore").strip()] if cpg else []
    encodings += ["utf-8", "gb18030"]
    records = shapes = None
    for encoding in encodings:
        try:
            with shapefile.Reader(str(path), encoding=encoding) as reader:
                if reader.shapeType not in (shapefile.POLYGON, shapefile.POLYGONZ,
                                            shapefile.POLYGONM, shapefile.NULL):
                    out.problems.append(_error(
                        out.file, f"Shapefile 的几何类型是“{reader.shapeTypeName}”，不是面",
                        value=reader.shapeTypeName, check="bad_boundary", expected="面（Polygon）"))
                    raise _Stop
                fields = [f[0] for f in reader.fields[1:]]
                records = [dict(zip(fields, rec)) for rec in reader.records()]
                shapes = [s.__geo_interface__ if s.shapeType != shapefile.NULL else None
                          for s in reader.shapes()]
            break
        except (UnicodeDecodeError, LookupError):
            continue
        except shapefile.ShapefileException as exc:
            out.problems.append(_error(out.file, f"无法读取 Shapefile：{exc}", check="unreadable",
                                       expected="完好的 Shapefile"))
            raise _Stop
    if records is None:
        out.problems.append(_error(out.file, "属性表（.dbf）的文字编码无法识别", check="unreadable",
                                   expected="UTF-8 或 GBK 编码，或附带 .cpg 文件"))
        raise _Stop
    raw = []
    for index, (props, geo) in enumerate(zip(records, shapes), start=1):
        geom = _polygonal(out, index, geo.get("type") if geo else None, lambda g=geo: shape(g))
        if geom is not None:
            raw.append((index, props, geom))
    return raw, crs


def _sibling(path: Path, ext: str) -> Path | None:
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.is_file():
            return candidate
    return None


def _polygonal(out: BoundaryFile, index: int, kind, build) -> BaseGeometry | None:
    if kind not in ("Polygon", "MultiPolygon"):
        out.problems.append(_error(
            out.file, "要素没有面几何" if kind is None else f"要素的几何是“{kind}”，不是面",
            column=f"第{index}个要素", value=str(kind), expected="Polygon 或 MultiPolygon"))
        return None
    try:
        geom = build()
    except (ValueError, TypeError, IndexError, shapely.errors.GEOSException) as exc:
        out.problems.append(_error(out.file, f"要素的几何无法解析：{exc}", column=f"第{index}个要素",
                                   expected="Polygon 或 MultiPolygon"))
        return None
    if geom.is_empty:
        out.problems.append(_error(out.file, "要素的几何是空的", column=f"第{index}个要素",
                                   expected="非空的面"))
        return None
    return geom


# --- coordinate systems --------------------------------------------------------------------
def _crs_from(out: BoundaryFile, text: str, where: str):
    import pyproj

    try:
        crs = pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        out.problems.append(_error(out.file, f"{where}中的坐标系无法识别", value=text[:80],
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
    seen = f"x {minx:.0f}…{maxx:.0f}，y {miny:.0f}…{maxy:.0f}"
    if crs is None:
        if looks_lonlat:
            out.crs_name = "WGS84 经纬度（未声明，按经纬度读取）"
            return None
        out.problems.append(_error(
            out.file, "坐标不是经纬度，但没有说明坐标系", value=seen, check="bad_crs",
            expected="经纬度坐标，或附带 .prj（GeoJSON 写明 crs）说明投影坐标系"))
        return _STOP
    if crs.is_geographic:
        if not looks_lonlat:
            out.problems.append(_error(
                out.file, f"坐标系声明为地理坐标“{crs.name}”，但坐标超出经纬度范围", value=seen,
                check="bad_crs", expected="与坐标一致的 .prj"))
            return _STOP
        ellipsoid = crs.ellipsoid
        if ellipsoid is not None and abs(ellipsoid.semi_major_metre - _WGS84_A) < 1.0:
            return None  # WGS84 / CGCS2000: the same to within centimetres
    elif looks_lonlat:
        out.problems.append(_error(
            out.file, f"坐标像经纬度，但坐标系声明为投影坐标“{crs.name}”", value=seen,
            check="bad_crs", expected="与坐标一致的 .prj"))
        return _STOP
    import pyproj

    transformer = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])
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
        out.problems.append(_error(out.file, f"几何无效且无法修复：{reason}",
                                   column=f"第{index}个要素", expected="有效的面"))
        return Feature(index, props, None, reason)
    return Feature(index, props, fixed, reason)


# --- matching --------------------------------------------------------------------------------
def _best_field(features: list[Feature], resolve, townships: Mapping[str, str]) -> str | None:
    keys: list[str] = []
    for f in features:
        for k in f.properties:
            if k not in keys:
                keys.append(k)
    keys.sort(key=lambda k: (NAME_FIELDS.index(k) if k in NAME_FIELDS else len(NAME_FIELDS)))
    best, best_score = None, 0
    for key in keys:
        score = sum(1 for f in features
                    if f.properties.get(key) not in (None, "")
                    and resolve(f.properties.get(key)).code in townships)
        if score > best_score:
            best, best_score = key, score
    return best


def match_townships(bf: BoundaryFile, resolve: Callable, townships: Mapping[str, str],
                    county_geom: BaseGeometry | None = None,
                    county_name: str = "本县") -> Matched:
    """Pair each feature with a township through the property that names them best.

    `resolve(text)` is the warehouse's region matcher (see importer.RegionMatcher.resolve);
    `townships` maps codes to names. Unknown or ambiguous names are errors; two features for one
    township are merged into one multi-part boundary (with a warning); a boundary outside the
    county (a wrong coordinate system, usually) is an error.
    """
    file = bf.file
    problems: list[Problem] = []
    for f in bf.features:
        if f.repaired and f.geometry is not None:
            problems.append(_error(file, f"几何无效，已自动修复（{f.repaired}）", column=f"第{f.index}个要素",
                                   check="repaired_geometry", severity="warning",
                                   expected="有效的面（请在 GIS 软件中核对）"))
    features = [f for f in bf.features if f.geometry is not None]
    if not features:
        return Matched({}, problems)
    key = _best_field(features, resolve, townships)
    if key is None:
        fields = "、".join(sorted({k for f in features for k in f.properties})) or "（无属性）"
        problems.append(_error(file, "属性表中没有一个字段能对应到本县的乡镇（街道）", column="属性表",
                               value=fields, check="unknown_region",
                               expected="一个写着乡镇（街道）名称或区划代码的字段，如 NAME"))
        return Matched({}, problems)
    geometries: dict[str, BaseGeometry] = {}
    outside_zone = county_geom.buffer(0.05) if county_geom is not None else None
    for f in features:
        raw = f.properties.get(key)
        column = f"第{f.index}个要素 字段“{key}”"
        m = resolve(raw)
        if m.code is None:
            if m.status == "ambiguous":
                message = f"“{raw}”可能是 {'、'.join(m.candidates)} 中的任何一个，无法确定"
            else:
                hint = f"，是否为“{m.suggestion}”？" if m.suggestion else ""
                message = f"“{raw}”不是{county_name}的乡镇（街道）{hint}"
            problems.append(_error(file, message, column=column, value=str(raw),
                                   check="unknown_region", expected="本县乡镇（街道）名称或区划代码"))
            continue
        if m.code not in townships:
            problems.append(_error(file, f"“{raw}”不是乡镇（街道），其边界不导入", column=column,
                                   value=str(raw), check="not_township", severity="warning",
                                   expected="乡镇（街道）的面"))
            continue
        geom = f.geometry
        if outside_zone is not None and not outside_zone.contains(geom.representative_point()):
            c = geom.representative_point()
            problems.append(_error(
                file, f"{townships[m.code]}的边界不在{county_name}范围内，坐标系可能有误",
                column=column, value=f"{c.x:.4f}, {c.y:.4f}", check="outside_county",
                expected=f"{county_name}境内的面（检查 .prj 或 crs 是否正确）"))
            continue
        if m.code in geometries:
            problems.append(_error(file, f"{townships[m.code]}有多个要素，已合并为一个多部分边界",
                                   column=column, value=str(raw), check="merged_parts",
                                   severity="warning", expected="每个乡镇（街道）一个要素"))
            geom = _polygon_parts(shapely.union(geometries[m.code], geom))
        geometries[m.code] = geom
    return Matched(geometries, problems)


# --- what the warehouse stores -----------------------------------------------------------
def area_km2(geom: BaseGeometry) -> float:
    """Area on the ellipsoid (WGS84), km²."""
    import pyproj

    area, _ = pyproj.Geod(ellps="WGS84").geometry_area_perimeter(geom)
    return abs(area) / 1e6


def boundary_table(geometries: Mapping[str, BaseGeometry]) -> pa.Table:
    """code, geometry (WKB lon/lat), area_km2, label_lon, label_lat for the regions table."""
    codes = sorted(geometries)
    labels = [label_point(geometries[c]) for c in codes]
    return pa.table({
        "code": pa.array(codes, pa.string()),
        "geometry": pa.array([shapely.to_wkb(geometries[c]) for c in codes], pa.binary()),
        "area_km2": pa.array([round(area_km2(geometries[c]), 2) for c in codes], pa.float64()),
        "label_lon": pa.array([round(p.x, 6) for p in labels], pa.float64()),
        "label_lat": pa.array([round(p.y, 6) for p in labels], pa.float64()),
    })
