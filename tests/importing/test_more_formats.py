"""The files departments and GIS offices ship besides .xlsx, CSV and GeoJSON: Excel 97-2003, OpenDocument and
WPS workbooks (made by LibreOffice, committed in samples/), Excel's UTF-16 "Unicode text", GeoPackage,
KML, MapInfo and Shapefiles without .cpg or .prj; and boundaries checked as a surveyor would."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import shapely
from shapely.geometry import box

from cockpit.warehouse.demo import TOWNSHIP_CODES
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current
from cockpit.warehouse.imports.validation import validate_files

SAMPLES = Path(__file__).parent / "samples"
TOWNSHIPS = list(TOWNSHIP_CODES)
TAOXI, XINZHAI = TOWNSHIP_CODES["桃溪镇"], TOWNSHIP_CODES["新宅镇"]


def facts(db, indicator):
    snap = open_current(db)
    try:
        return {(r, p): v for r, p, v in snap.cursor().execute(
            "SELECT region, period, value FROM observations WHERE indicator = ?",
            [indicator]).fetchall()}
    finally:
        snap.close()


def township_geometries(db) -> dict[str, object]:
    snap = open_current(db)
    try:
        q = Queries(snap)
        return {code: shapely.from_wkb(wkb) for code, wkb in q.geometries_wkb().items()
                if code in TOWNSHIP_CODES.values()}
    finally:
        snap.close()


# --- spreadsheets -------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".xls", ".ods", ".et"])
def test_wide_workbooks_made_by_libreoffice_import_with_their_merged_headers(suffix, wh):
    # samples/ holds the wide sheet of test_real_formats (title, unit row, 2025年 merged over 1月…12月,
    # 合计, notes) saved by LibreOffice as .xls and .ods; the .et is that .xls as WPS names it.
    result = import_files([SAMPLES / f"规上工业增加值2025{suffix}"], wh)

    assert result.published, result.report.format()
    assert result.observations == 19 * 12
    stored = facts(wh, "eco_industry_va")
    for k, name in enumerate(TOWNSHIPS):
        assert [stored[(TOWNSHIP_CODES[name], date(2025, m, 1))] for m in range(1, 13)] == \
            [round(1.0 + k * 0.1 + m * 0.01, 2) for m in range(1, 13)]
    assert result.report.sources[0].kind == "宽表"


def test_utf16_unicode_text_from_excel_imports_like_any_csv(wh, tmp_path):
    path = tmp_path / "规上工业.txt"
    text = "乡镇（街道）\t指标\t期间\t数值\r\n桃溪镇\t规上工业增加值\t2025-06\t1.5\r\n"
    path.write_bytes(text.encode("utf-16"))  # with BOM, little-endian: what Excel writes

    result = import_files([path], wh)

    assert result.published, result.report.format()
    assert facts(wh, "eco_industry_va")[(TAOXI, date(2025, 6, 1))] == 1.5


def test_a_valid_row_under_a_header_with_100000_extra_columns_imports(wh, tmp_path):
    path = tmp_path / "wide_header.csv"
    path.write_text("乡镇（街道）,指标,期间,数值" + "," * 100_000 + "\n桃溪镇,规上工业增加值,2025-06,1.7\n",
                    encoding="utf-8")

    result = import_files([path], wh)

    assert result.published, result.report.format()
    assert facts(wh, "eco_industry_va")[(TAOXI, date(2025, 6, 1))] == 1.7


def test_a_repeated_value_is_no_conflict_and_a_conflict_names_the_two_numbers(wh, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("乡镇（街道）,指标,期间,数值\n桃溪镇,投诉举报量,2025-06,24\n桃溪镇,投诉举报量,2025-06,24\n"
                    "桃溪镇,投诉举报量,2025-06,25\n", encoding="utf-8")
    report = validate_files([path], wh)
    [conflict] = report.errors
    assert (conflict.check, conflict.row, conflict.value) == ("duplicate_conflict", 4, "25")
    assert "两个不同的数值（24 与 25）" in conflict.message
    [repeat] = [p for p in report.warnings if p.check == "duplicate"]
    assert repeat.row == 3 and "完全重复" in repeat.message and "不同" not in repeat.message


def test_a_period_may_be_imported_on_its_last_day(wh, tmp_path):
    path = tmp_path / "dec.csv"
    path.write_text("乡镇（街道）,指标,期间,数值\n桃溪镇,规上工业增加值,2026年12月,1.2\n", encoding="utf-8")
    assert not validate_files([path], wh, today=date(2026, 12, 30)).ok
    result = import_files([path], wh, today=date(2026, 12, 31))
    assert result.published and result.as_of == "2026-12"


# --- file names ---------------------------------------------------------------------------------
def test_a_file_name_that_is_not_utf8_is_shown_and_imported_alike_by_validate_and_import(wh, tmp_path):
    folder = os.fsencode(tmp_path)
    gbk = os.fsdecode(folder + b"/" + "浙江规上.csv".encode("gbk"))
    junk = os.fsdecode(folder + b"/bad\xff\xfe.csv")
    for name in (gbk, junk):
        Path(name).write_text("乡镇（街道）,指标,期间,数值\n桃溪镇,规上工业增加值,2025-06,1.5\n",
                              encoding="utf-8")
    run = [sys.executable, "-m", "cockpit"]
    checked = subprocess.run([*run, "validate", gbk, junk, "--db", str(wh)], capture_output=True,
                             text=True, timeout=120)
    imported = subprocess.run([*run, "import", gbk, junk, "--db", str(wh)], capture_output=True,
                              text=True, timeout=120)
    assert checked.returncode == 0 and imported.returncode == 0, checked.stderr + imported.stderr
    assert "■ 浙江规上.csv" in checked.stdout and "■ bad\\xff\\xfe.csv" in checked.stdout
    assert "已发布快照 000002" in imported.stdout
    assert "Traceback" not in checked.stderr + imported.stderr


def test_a_shapefile_whose_name_is_not_utf8_is_read(wh, tmp_path, layer_writer):
    plain = layer_writer(tmp_path / "plain.shp", [box(119.80, 28.88, 119.83, 28.91)],
                         {"NAME": ["桃溪镇"]})
    folder = os.fsencode(tmp_path)
    for part in tmp_path.glob("plain.*"):
        part.rename(os.fsdecode(folder + b"/" + "界线".encode("gbk") + part.suffix.encode()))
    [shp] = [p for p in tmp_path.iterdir() if p.suffix == ".shp"]
    assert plain != shp
    report = validate_files([shp], wh)
    assert report.files == ["界线.shp"] and report.sources[0].rows == 1, report.format()
    assert not any(p.check == "unreadable" for p in report.problems), report.format()


# --- boundary files -----------------------------------------------------------------------------
@pytest.fixture
def geometries(wh):
    return township_geometries(wh)


def test_geopackage_uses_its_one_polygon_layer_and_says_which(wh, tmp_path, geometries,
                                                              layer_writer):
    path = tmp_path / "乡镇界.gpkg"
    layer_writer(path, [g.representative_point().buffer(0.001) for g in geometries.values()],
                 {"name": ["标注"] * len(geometries)}, layer="注记")
    layer_writer(path, list(geometries.values()),
                 {"XZMC": [n for n, c in TOWNSHIP_CODES.items() if c in geometries]}, layer="乡镇界",
                 append=False)
    # A point layer as well: GDAL keeps adding layers to the same GeoPackage.
    import pyogrio
    import numpy as np

    pyogrio.raw.write(str(path), np.array([shapely.Point(119.8, 28.9).wkb], dtype=object),
                      [np.array(["县政府"], dtype=object)], ["name"], layer="驻地",
                      geometry_type="Point", crs="EPSG:4326")

    result = import_files([path], wh)

    assert not result.published  # 注记 is polygons too: which layer is asked
    [ask] = result.report.errors
    assert ask.check == "ambiguous_layer" and "“注记”、“乡镇界”" in ask.message
    assert "--layer" in ask.expected
    result = import_files([path], wh, layer="乡镇界")
    assert result.published and result.boundaries == 18, result.report.format()


def test_geopackage_with_one_polygon_layer_notes_the_layer_it_chose(wh, tmp_path, geometries,
                                                                     layer_writer):
    import numpy as np
    import pyogrio

    path = tmp_path / "乡镇界.gpkg"
    layer_writer(path, list(geometries.values()),
                 {"XZMC": [n for n, c in TOWNSHIP_CODES.items() if c in geometries]}, layer="乡镇界")
    pyogrio.raw.write(str(path), np.array([shapely.Point(119.8, 28.9).wkb], dtype=object),
                      [np.array(["县政府"], dtype=object)], ["name"], layer="驻地",
                      geometry_type="Point", crs="EPSG:4326")

    result = import_files([path], wh)

    assert result.published and result.boundaries == 18, result.report.format()
    [note] = result.report.notes
    assert note.check == "layer_chosen" and note.column == "图层“乡镇界”" and "“驻地”" in note.message
    assert "· 说明" in result.report.format() and result.report.warnings == []


@pytest.mark.parametrize("kind", ["kml", "tab", "mif", "shp_without_cpg"])
def test_kml_mapinfo_and_a_gbk_shapefile_without_cpg_import(kind, wh, tmp_path, geometries,
                                                            layer_writer):
    names = [n for n, c in TOWNSHIP_CODES.items() if c in geometries]
    geoms = list(geometries.values())
    if kind == "kml":
        path = layer_writer(tmp_path / "乡镇界.kml", geoms, {"Name": names}, driver="KML")
    elif kind in ("tab", "mif"):
        path = layer_writer(tmp_path / f"乡镇界.{kind}", geoms, {"XZMC": names}, crs="EPSG:4490",
                            driver="MapInfo File", layer_options={"ENCODING": "CP936"})
    else:
        path = layer_writer(tmp_path / "乡镇界.shp", geoms, {"XZMC": names}, encoding="GBK")
        path.with_suffix(".cpg").unlink()

    result = import_files([path], wh)

    assert result.published and result.boundaries == 18, result.report.format()
    if kind == "shp_without_cpg":
        [note] = result.report.notes
        assert note.check == "assumed_encoding" and "按 GBK 读取" in note.message
    stored = township_geometries(wh)
    assert shapely.hausdorff_distance(stored[TAOXI], geometries[TAOXI]) < 1e-6


def test_a_shapefile_without_prj_in_lon_lat_is_read_as_lon_lat_with_a_warning(wh, tmp_path,
                                                                              geometries,
                                                                              layer_writer):
    path = layer_writer(tmp_path / "乡镇界.shp", list(geometries.values()),
                        {"XZMC": [n for n, c in TOWNSHIP_CODES.items() if c in geometries]}, crs=None)

    result = import_files([path], wh)

    assert result.published, result.report.format()
    [warning] = result.report.warnings
    assert warning.check == "assumed_crs" and warning.file == "乡镇界.shp"
    assert "缺少 .prj" in warning.message and "按 CGCS2000 / WGS84 经纬度读取" in warning.message
    assert warning.value.startswith("x 119.")


def _write(layer_writer, path, geoms: dict, names: dict | None = None, codes: dict | None = None):
    props = {"NAME": [(names or {}).get(c, n) for c, n in
                      ((c, next(k for k, v in TOWNSHIP_CODES.items() if v == c)) for c in geoms)]}
    if codes is not None:
        props["XZDM"] = [codes.get(c, c) for c in geoms]
    return layer_writer(path, list(geoms.values()), props)


def test_a_township_listed_twice_is_refused_naming_both_features(wh, tmp_path, geometries,
                                                                 layer_writer, fingerprint):
    path = tmp_path / "界.geojson"
    geoms = list(geometries.values()) + [geometries[XINZHAI]]
    names = [n for n, c in TOWNSHIP_CODES.items() if c in geometries] + ["桃溪镇"]
    layer_writer(path, geoms, {"NAME": names})
    before = fingerprint(wh)

    report = import_files([path], wh).report

    [dup] = [p for p in report.errors if p.check == "duplicate_boundary"]
    assert dup.column == "第19个要素 字段“NAME”" and dup.value == "桃溪镇"
    assert f"桃溪镇出现了两次：第{list(geometries).index(TAOXI) + 1}个要素和第19个要素" in dup.message
    assert fingerprint(wh) == before


def test_outlines_grown_by_2_km_overlap_and_spill_out_of_the_county(wh, tmp_path, geometries,
                                                                    layer_writer, fingerprint):
    grown = {c: g.buffer(0.02) for c, g in geometries.items()}  # ≈ 2 km at 29°N
    before = fingerprint(wh)

    report = import_files([_write(layer_writer, tmp_path / "界.geojson", grown)], wh).report

    overlaps = [p for p in report.errors if p.check == "overlap"]
    assert overlaps and overlaps[0].column.startswith("第") and "km²" in overlaps[0].value
    first = overlaps[0]
    assert "重叠" in first.message and first.value in first.message
    assert sum(1 for n in TOWNSHIPS if n in first.message) == 2  # both townships named
    outside = [p for p in report.errors if p.check == "outside_county"]
    assert outside and "在武义县县界之外" in outside[0].message and "km²" in outside[0].value
    assert fingerprint(wh) == before


def test_gaps_between_townships_are_a_warning_only(wh, tmp_path, geometries, layer_writer):
    shrunk = {c: g.buffer(-0.004) for c, g in geometries.items()}

    result = import_files([_write(layer_writer, tmp_path / "界.geojson", shrunk)], wh)

    assert result.published, result.report.format()
    [gap] = [p for p in result.report.warnings if p.check == "gap"]
    assert "没有铺满武义县" in gap.message and gap.value.endswith("km²")


def test_codes_that_disagree_with_the_warehouse_are_named(wh, tmp_path, geometries, layer_writer):
    codes = {c: c for c in geometries}
    codes[TAOXI] = TOWNSHIP_CODES["王宅镇"]  # the neighbour's code on 桃溪镇
    codes[XINZHAI] = "330723999"             # no township's code

    result = import_files([_write(layer_writer, tmp_path / "界.geojson", geometries, codes=codes)], wh)

    assert result.published, result.report.format()
    found = {p.value: p for p in result.report.warnings if p.check == "code_mismatch"}
    assert set(found) == {TOWNSHIP_CODES["王宅镇"], "330723999"}
    assert "是王宅镇的代码" in found[TOWNSHIP_CODES["王宅镇"]].message
    assert "按“桃溪镇”导入为桃溪镇" in found[TOWNSHIP_CODES["王宅镇"]].message
    assert "不是武义县任何乡镇（街道）的代码" in found["330723999"].message
    assert found["330723999"].column.endswith("字段“XZDM”")


def test_a_boundary_file_with_a_wrong_layer_name_says_which_layers_exist(wh, tmp_path, geometries,
                                                                          layer_writer):
    path = layer_writer(tmp_path / "界.gpkg", list(geometries.values()),
                        {"NAME": [n for n, c in TOWNSHIP_CODES.items() if c in geometries]},
                        layer="乡镇")
    [problem] = validate_files([path], wh, layer="村界").errors
    assert problem.check == "unknown_layer" and problem.value == "村界" and "乡镇" in problem.expected


def test_polygon_holes_survive_every_vector_format(tmp_path, layer_writer):
    from cockpit.warehouse.imports.readers.vector import read_boundaries

    holed = box(119.8, 28.9, 119.9, 29.0).difference(box(119.84, 28.94, 119.86, 28.96))
    for name, driver in (("a.gpkg", None), ("a.kml", "KML"), ("a.tab", "MapInfo File"),
                         ("a.shp", None)):
        read = read_boundaries(layer_writer(tmp_path / name, [holed], {"NAME": ["桃溪镇"]},
                                            driver=driver))
        assert len(read.features[0].geometry.interiors) == 1, name
