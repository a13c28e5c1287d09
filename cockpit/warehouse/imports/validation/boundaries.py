"""Checking township boundaries before they may replace the warehouse's: each feature matched to a
township through the property that names them best, then the set checked as a surveyor would: one
feature per township; no overlap between two townships beyond a sliver; nothing outside the county
beyond what a coarser county outline explains; gaps between them reported; codes in the file that
disagree with the warehouse's reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

import pyarrow as pa
import shapely
from shapely.geometry.base import BaseGeometry

from ....geo.partition import label_point
from ..problems import ImportBatch, Problem, Report, SourceSummary
from ..readers.vector import BoundaryFile, Feature, boundary_problem

# Property names that usually hold a township's name or code, tried first.
NAME_FIELDS = ("name", "NAME", "Name", "名称", "乡镇", "乡镇名称", "XZMC", "XZQMC", "TOWN", "town",
               "code", "CODE", "代码", "XZDM", "XZQDM", "adcode", "ADCODE")
# Two townships may overlap by a digitising sliver, no more: the larger of these.
OVERLAP_KM2, OVERLAP_SHARE = 0.01, 0.005
# The county outline may be coarser than the townships' (the demo's has ~150 vertices): a
# township may stick out of it by this much before it is refused.
OUTSIDE_KM2, OUTSIDE_SHARE = 0.5, 0.03
GAP_KM2, GAP_SHARE = 0.5, 0.005


@dataclass
class Matched:
    geometries: dict[str, BaseGeometry]
    problems: list[Problem]
    places: dict[str, str] = field(default_factory=dict)  # code → 第3个要素


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


_CODE_TEXT = re.compile(r"^\d{9}(\d{3})?$")
MAX_LISTED = 20


def _code_fields(features: list[Feature], key: str, resolve, townships) -> list[str]:
    """Other fields that identify townships too: codes (9 or 12 digits), or names most features
    resolve by. Their disagreement with the matched township is worth a word."""
    out = []
    for name in {k for f in features for k in f.properties}:
        if name == key:
            continue
        values = [str(f.properties.get(name)).strip() for f in features
                  if f.properties.get(name) not in (None, "")]
        if not values:
            continue
        if all(_CODE_TEXT.match(v) for v in values) or \
                2 * sum(1 for v in values if resolve(v).code in townships) >= len(features):
            out.append(name)
    return sorted(out)


def match_townships(bf: BoundaryFile, resolve: Callable, townships: Mapping[str, str],
                    county_geom: BaseGeometry | None = None,
                    county_name: str = "本县") -> Matched:
    """Pair each feature with a township through the property that names them best.

    `resolve(text)` is the warehouse's region matcher (see RegionMatcher.resolve);
    `townships` maps codes to names. Unknown or ambiguous names are errors, and so is a township
    named by two features (a duplicate; an exclave belongs in one multi-part feature); a boundary
    outside the county (a wrong coordinate system, usually) is an error; a code field that names
    another township than the name does is a warning (the name wins).
    """
    file = bf.file
    problems: list[Problem] = []
    for f in bf.features:
        if f.repaired and f.geometry is not None:
            problems.append(boundary_problem(file, f"几何无效，已自动修复（{f.repaired}）",
                                             column=f"第{f.index}个要素",
                                             check="repaired_geometry", severity="warning",
                                             expected="有效的面（请在 GIS 软件中核对）"))
    features = [f for f in bf.features if f.geometry is not None]
    if not features:
        return Matched({}, problems)
    key = _best_field(features, resolve, townships)
    if key is None:
        fields = "、".join(sorted({k for f in features for k in f.properties})) or "（无属性）"
        problems.append(boundary_problem(file, "属性表中没有一个字段能对应到本县的乡镇（街道）", column="属性表",
                                         value=fields, check="unknown_region",
                                         expected="一个写着乡镇（街道）名称或区划代码的字段，如 NAME"))
        return Matched({}, problems)
    code_fields = _code_fields(features, key, resolve, townships)
    disagreements = 0
    geometries: dict[str, BaseGeometry] = {}
    places: dict[str, str] = {}
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
            problems.append(boundary_problem(file, message, column=column, value=str(raw),
                                             check="unknown_region", expected="本县乡镇（街道）名称或区划代码"))
            continue
        if m.code not in townships:
            problems.append(boundary_problem(file, f"“{raw}”不是乡镇（街道），其边界不导入",
                                             column=column, value=str(raw), check="not_township",
                                             severity="warning", expected="乡镇（街道）的面"))
            continue
        for other in code_fields:
            text = f.properties.get(other)
            if text in (None, ""):
                continue
            said = resolve(text)
            if said.code == m.code:
                continue
            disagreements += 1
            if disagreements > MAX_LISTED:
                continue
            whose = f"是{townships.get(said.code, said.code)}的代码" if said.code else \
                f"不是{county_name}任何乡镇（街道）的代码"
            problems.append(boundary_problem(
                file, f"字段“{other}”的“{text}”{whose}，与字段“{key}”的“{raw}”不一致；"
                      f"按“{raw}”导入为{townships[m.code]}（数据仓库中代码 {m.code}）",
                column=f"第{f.index}个要素 字段“{other}”", value=str(text), check="code_mismatch",
                severity="warning", expected=f"{townships[m.code]}的区划代码 {m.code}"))
        geom = f.geometry
        if outside_zone is not None and not outside_zone.contains(geom.representative_point()):
            c = geom.representative_point()
            problems.append(boundary_problem(
                file, f"{townships[m.code]}的边界不在{county_name}范围内，坐标系可能有误",
                column=column, value=f"{c.x:.4f}, {c.y:.4f}", check="outside_county",
                expected=f"{county_name}境内的面（检查 .prj 或 crs 是否正确）"))
            continue
        if m.code in geometries:
            problems.append(boundary_problem(
                file, f"{townships[m.code]}出现了两次：{places[m.code]}和第{f.index}个要素",
                column=column, value=str(raw), check="duplicate_boundary",
                expected="每个乡镇（街道）一个要素（飞地请在 GIS 软件中合并为一个多部分要素）"))
            continue
        geometries[m.code] = geom
        places[m.code] = f"第{f.index}个要素"
    if disagreements > MAX_LISTED:
        extra = disagreements - MAX_LISTED
        problems.append(Problem("warning", "code_mismatch", file, count=extra,
                                message=f"另有 {extra} 处代码与名称不一致"))
    return Matched(geometries, problems, places)


def survey(geometries: Mapping[str, BaseGeometry], names: Mapping[str, str],
           places: Mapping[str, tuple[str, str]], county_geom: BaseGeometry | None,
           county_name: str, all_townships: bool) -> list[Problem]:
    """The checks a surveyor makes of a set of township boundaries (lon/lat), beyond each alone:
    overlaps between two townships and area outside the county are errors; land of the county
    that no township covers is a warning (only when every township is there).

    `places[code]` is (file, feature) where a township's boundary came from.
    """
    problems: list[Problem] = []
    codes = sorted(geometries)
    geoms = [geometries[c] for c in codes]
    areas = {c: area_km2(geometries[c]) for c in codes}
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    overlaps = []
    for i, j in zip(left, right):
        if i >= j:
            continue
        a, b = codes[i], codes[j]
        shared = area_km2(shapely.intersection(geoms[i], geoms[j]))
        if shared > max(OVERLAP_KM2, OVERLAP_SHARE * min(areas[a], areas[b])):
            overlaps.append((shared, a, b))
    overlaps.sort(key=lambda t: (-t[0], t[1], t[2]))
    for shared, a, b in overlaps[:MAX_LISTED]:
        file, place = places[a]
        other_file, other_place = places[b]
        other = other_place if other_file == file else f"{other_file} {other_place}"
        problems.append(boundary_problem(
            file, f"{names[a]}与{names[b]}（{other}）重叠 {_km2(shared)}", column=place,
            value=_km2(shared), check="overlap",
            expected=f"相邻乡镇（街道）只共用边界，重叠不超过 {OVERLAP_SHARE:.1%} 面积"))
    if len(overlaps) > MAX_LISTED:
        extra = len(overlaps) - MAX_LISTED
        problems.append(Problem("error", "overlap", places[codes[0]][0],
                                message=f"另有 {extra} 处重叠（上面只列出重叠最多的 {MAX_LISTED} 处）",
                                count=extra))
    if county_geom is None or county_geom.is_empty:
        return problems
    county = county_geom if county_geom.is_valid else shapely.make_valid(county_geom)
    for code in codes:
        outside = area_km2(shapely.difference(geometries[code], county))
        if outside > max(OUTSIDE_KM2, OUTSIDE_SHARE * areas[code]):
            file, place = places[code]
            problems.append(boundary_problem(
                file, f"{names[code]}有 {_km2(outside)} 在{county_name}县界之外"
                      f"（占其面积的 {outside / areas[code]:.0%}）", column=place,
                value=_km2(outside), check="outside_county",
                expected=f"{county_name}境内的面，超出县界不多于 {OUTSIDE_SHARE:.0%}"))
    if all_townships:
        gap = shapely.difference(county, shapely.union_all(geoms))
        gap_area = area_km2(gap) if not gap.is_empty else 0.0
        if gap_area > max(GAP_KM2, GAP_SHARE * area_km2(county)):
            largest = max(shapely.get_parts(gap), key=lambda g: g.area)
            at = largest.representative_point()
            problems.append(boundary_problem(
                places[codes[0]][0], f"乡镇（街道）边界没有铺满{county_name}：有 {_km2(gap_area)}"
                                     f"不属于任何乡镇（街道），最大的一块在 {at.x:.4f}, {at.y:.4f} 附近",
                value=_km2(gap_area), check="gap", severity="warning",
                expected="乡镇（街道）边界之间没有空隙，合起来就是县域"))
    return problems


def _km2(area: float) -> str:
    return f"{area:.2f} km²" if area < 10 else f"{area:,.1f} km²"


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


# --- the check `validate_files` runs -----------------------------------------------------------
def check_boundaries(report: Report, batch: ImportBatch, files, queries, regions) -> None:
    county_wkb = queries.geometries_wkb("county").get(queries.county.code)
    county_geom = shapely.from_wkb(county_wkb) if county_wkb else None
    townships = {r.code: r.name for r in queries.townships}
    merged: dict[str, object] = {}
    places: dict[str, tuple[str, str]] = {}
    for f in files:
        matched = match_townships(f, regions.resolve, townships, county_geom, queries.county.name)
        report.problems.extend(matched.problems)
        for code, geom in matched.geometries.items():
            if code in merged:
                first_file, first_place = places[code]
                report.problems.append(Problem(
                    "error", "duplicate_boundary", f.file, column=matched.places[code],
                    message=f"{townships[code]}的边界在两个文件中出现：{first_file} {first_place}"
                            f"和本文件{matched.places[code]}",
                    expected="每个乡镇（街道）的边界只出现在一个文件中"))
                continue
            merged[code] = geom
            places[code] = (f.file, matched.places[code])
        report.sources.append(SourceSummary(f.file, None, "边界", len(f.features)))
        batch.log.append({"file": f.file, "sheet": f.layer, "kind": "boundaries", "indicator": None,
                          "department": None, "rows": len(f.features), "first_period": None,
                          "last_period": None})
    if merged:
        missing = [name for code, name in townships.items() if code not in merged]
        report.problems.extend(survey(merged, townships, places, county_geom,
                                      queries.county.name, not missing))
        if missing:
            report.problems.append(Problem(
                "warning", "missing_boundaries", files[0].file,
                message=f"{len(missing)} 个乡镇（街道）没有边界，仍用原来的示意边界："
                        + "、".join(missing),
                expected="全部乡镇（街道）的边界"))
        batch.boundaries = boundary_table(merged)
