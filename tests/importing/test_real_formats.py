"""Files as departments really send them import correctly: a wide XLSX with merged headers, a GBK CSV,
a Parquet long table, event records, and township boundaries as a projected Shapefile or GeoJSON."""
from __future__ import annotations

from datetime import date

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from cockpit.warehouse.demo import TOWNSHIP_CODES
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current
from cockpit.warehouse.imports.validation import validate_files

TOWNSHIPS = list(TOWNSHIP_CODES)
# How departments write names: without the ethnic part, with the old office name, full-width spaces.
SPELLINGS = {"柳城畲族镇": "柳城镇", "熟溪街道": "熟溪街道办事处", "桃溪镇": "桃溪　镇",
             "白洋街道": "　白洋街道"}


def facts(db, indicator, periods=None, regions=None):
    """The facts of an indicator as imported (not the county figures derived from them)."""
    snap = open_current(db)
    try:
        derived = snap.cursor().execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'derived_figures'"
            " AND database_name = current_database()").fetchone()[0]
        rows = snap.cursor().execute(
            "SELECT region, period, value FROM observations o WHERE indicator = ?"
            + (" AND NOT EXISTS (SELECT 1 FROM derived_figures d WHERE d.indicator = o.indicator"
               " AND d.period = o.period AND d.region = o.region)" if derived else ""),
            [indicator]).fetchall()
    finally:
        snap.close()
    return {(r, p): v for r, p, v in rows
            if (periods is None or p in periods) and (regions is None or r in regions)}


def queries_of(db):
    snap = open_current(db)
    return Queries(snap), snap


# --- a wide sheet with merged headers ---------------------------------------------------------
def write_wide_workbook(path, values: dict[str, list[float]], county_total: list[float]):
    """One sheet per indicator, as a statistics bureau sends it: title, unit row, two-row merged
    header (序号 | 乡镇（街道） | 2025年 over 1月…12月 | 合计), a 全县 row and notes below."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "规上工业增加值"
    last_col = 2 + 12 + 1
    ws.cell(1, 1, "2025年武义县各乡镇（街道）规上工业增加值")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    ws.cell(2, last_col - 2, "单位：亿元")
    ws.merge_cells(start_row=2, start_column=last_col - 2, end_row=2, end_column=last_col)
    ws.cell(3, 1, "序号")
    ws.merge_cells("A3:A4")
    ws.cell(3, 2, "乡镇（街道）")
    ws.merge_cells("B3:B4")
    ws.cell(3, 3, "2025年")
    ws.merge_cells(start_row=3, start_column=3, end_row=3, end_column=14)
    for m in range(1, 13):
        ws.cell(4, 2 + m, f"{m}月")
    ws.cell(3, last_col, "合计")
    ws.merge_cells(start_row=3, start_column=last_col, end_row=4, end_column=last_col)
    row = 5
    for k, (name, series) in enumerate(values.items(), start=1):
        ws.cell(row, 1, k)
        ws.cell(row, 2, SPELLINGS.get(name, name))
        for m, v in enumerate(series, start=1):
            ws.cell(row, 2 + m, v)
        ws.cell(row, last_col, f"=SUM(C{row}:N{row})")
        row += 1
    ws.cell(row, 2, "全县")
    for m, v in enumerate(county_total, start=1):
        ws.cell(row, 2 + m, v)
    row += 2
    ws.cell(row, 1, "注：1.数据来源：县统计局；2.12月为快报数。")
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
    ws.cell(row + 1, 1, "填报人：张三    审核人：李四")
    info = wb.create_sheet("填报说明")
    info.cell(1, 1, "本表每月10日前报送。")
    wb.save(path)


def test_wide_xlsx_with_merged_headers_title_unit_row_and_notes_imports(wh, tmp_path):
    before = facts(wh, "eco_industry_va")
    periods = [date(2025, m, 1) for m in range(1, 13)]
    values = {name: [round(before[(TOWNSHIP_CODES[name], p)] * 1.01, 2) for p in periods]
              for name in TOWNSHIPS}
    county = [round(before[("330723", p)] * 1.01, 2) for p in periods]
    path = tmp_path / "规上工业增加值2025.xlsx"
    write_wide_workbook(path, values, county)

    result = import_files([path], wh)

    assert result.published, result.report.format()
    assert result.report.errors == []
    assert result.observations == 19 * 12
    summary = result.report.sources[0]
    assert summary.kind == "宽表" and summary.indicators == ["规上工业增加值"]
    assert "C列" not in " ".join(summary.ignored_columns) and any(
        "合计" in c for c in summary.ignored_columns)
    after = facts(wh, "eco_industry_va", periods=set(periods))
    for name in TOWNSHIPS:
        assert [after[(TOWNSHIP_CODES[name], p)] for p in periods] == values[name]
    assert [after[("330723", p)] for p in periods] == county


def test_wide_xlsx_problem_cells_are_named_by_column_letter_and_period(wh, tmp_path):
    values = {name: [1.0] * 12 for name in TOWNSHIPS}
    values["桃溪镇"][5] = "—"
    path = tmp_path / "wide.xlsx"
    write_wide_workbook(path, values, [18.0] * 12)
    report = validate_files([path], wh)
    [p] = report.errors
    assert (p.check, p.sheet, p.row, p.value) == ("placeholder", "规上工业增加值", 9, "—")
    assert p.column == "H列“2025年6月”"


def test_quarterly_wide_sheet_with_year_in_title_only(wh, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["2025年各乡镇家庭医生签约率（%）"])
    ws.append(["乡镇（街道）", "一季度", "二季度", "三季度", "四季度", "备注"])
    for name in TOWNSHIPS:
        ws.append([name, 40.1, 40.2, 40.3, None, ""])  # 四季度 not reported yet: column left empty
    wb.save(tmp_path / "签约率.xlsx")
    result = import_files([tmp_path / "签约率.xlsx"], wh)
    assert result.published, result.report.format()
    got = facts(wh, "svc_family_doctor", periods={date(2025, 9, 1)},
                regions={TOWNSHIP_CODES["三港乡"]})
    assert got == {(TOWNSHIP_CODES["三港乡"], date(2025, 9, 1)): 40.3}
    assert result.observations == 18 * 3


def test_long_xlsx_with_codes_and_a_title_row_imports(wh, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2026年1月各乡镇新设市场主体"])
    ws.append(["乡镇（街道）代码", "指标代码", "期间", "数值（户）"])
    for code in TOWNSHIP_CODES.values():
        ws.append([code, "eco_new_entities", date(2026, 1, 1), 40])
    wb.save(tmp_path / "long.xlsx")
    result = import_files([tmp_path / "long.xlsx"], wh)
    assert result.published, result.report.format()
    assert result.observations == 18
    assert set(facts(wh, "eco_new_entities", periods={date(2026, 1, 1)}).values()) == {40.0}


# --- CSV in GBK, and awkward spellings ---------------------------------------------------------
def test_gbk_csv_imports_with_name_variants_and_unit_alias(wh, tmp_path):
    lines = ["武义县各乡镇PM2.5月均浓度（2026年1月）", "乡镇,指标,月份,数值,单位"]
    for k, name in enumerate(TOWNSHIPS):
        lines.append(f"{SPELLINGS.get(name, name)},PM2.5平均浓度,2026年1月,{30 + k},微克/立方米")
    lines.append("注：数据来源于金华市生态环境局武义分局")
    path = tmp_path / "pm25_gbk.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))

    result = import_files([path], wh)

    assert result.published, result.report.format()
    got = facts(wh, "env_pm25", periods={date(2026, 1, 1)})
    assert got[(TOWNSHIP_CODES["柳城畲族镇"], date(2026, 1, 1))] == 30 + TOWNSHIPS.index("柳城畲族镇")
    assert len(got) == 18
    q, snap = queries_of(wh)
    try:
        assert q.as_of == date(2026, 1, 1)  # the new as-of month
        kpi = q.kpis(TOWNSHIP_CODES["熟溪街道"], ["env_pm25"], date(2026, 1, 1))["env_pm25"]
        assert kpi.prev_value is not None and kpi.yoy_value is not None  # derived again
    finally:
        snap.close()


def test_utf8_bom_csv_with_codes_thousands_separators_and_percent_signs(wh, tmp_path):
    text = ("\ufeff区划代码,指标代码,期间,数值\n"
            "330723001,eco_new_entities,2026-01,\"1,234\"\n"
            "３３０７２３００２,svc_online_rate,2026/1,95.5%\n"
            "330723,eco_project_progress,202601,８.５\n")
    path = tmp_path / "bom.csv"
    path.write_text(text, encoding="utf-8")
    result = import_files([path], wh)
    assert result.published, result.report.format()
    p = date(2026, 1, 1)
    assert facts(wh, "eco_new_entities", periods={p}) == {("330723001", p): 1234.0}
    assert facts(wh, "svc_online_rate", periods={p}) == {("330723002", p): 95.5}
    assert facts(wh, "eco_project_progress", periods={p}) == {("330723", p): 8.5}


def test_a_ten_fold_jump_is_a_warning_that_does_not_block(wh, tmp_path):
    prev = facts(wh, "mkt_complaints", periods={date(2025, 12, 1)},
                 regions={TOWNSHIP_CODES["泉溪镇"]})[(TOWNSHIP_CODES["泉溪镇"], date(2025, 12, 1))]
    path = tmp_path / "complaints.csv"
    path.write_text(f"乡镇,指标,期间,数值\n泉溪镇,投诉举报量,2026-01,{prev * 12:.0f}\n",
                    encoding="utf-8")
    result = import_files([path], wh)
    assert result.published
    [w] = result.report.warnings
    assert w.check == "jump" and w.row == 2 and "上一期（2025年12月）" in w.message
    assert "倍" in w.message


# --- Parquet ---------------------------------------------------------------------------------
def test_parquet_long_table_imports(wh, tmp_path):
    periods = [date(2026, 1, 1), date(2026, 2, 1)]
    regions = list(TOWNSHIP_CODES.values())
    rows = [(r, "gov_events_closed", p, 90.0 + k % 7) for k, r in enumerate(regions)
            for p in periods]
    table = pa.table({
        "region": pa.array([r[0] for r in rows]),
        "indicator": pa.array([r[1] for r in rows]),
        "period": pa.array([r[2] for r in rows], pa.date32()),
        "value": pa.array([r[3] for r in rows], pa.float64()),
    })
    pq.write_table(table, tmp_path / "events_closed.parquet")
    result = import_files([tmp_path / "events_closed.parquet"], wh)
    assert result.published, result.report.format()
    got = facts(wh, "gov_events_closed", periods=set(periods))
    assert len(got) == 36 and got[(regions[3], periods[1])] == 93.0
    assert result.new_observations == 36


# --- events ------------------------------------------------------------------------------------
def test_event_records_csv_imports_and_derives_missing_status_and_position(wh, tmp_path):
    path = tmp_path / "12345工单.csv"
    path.write_text(
        "工单号,乡镇,来源,类别,摘要,上报时间,办理期限,办结时间,状态,经度,纬度\n"
        "GD001,熟溪街道,12345热线,噪声扰民,反映夜间施工噪声,2025-12-20 09:30,2025-12-25 09:30,"
        "2025-12-21 10:00,,,\n"
        "GD002,柳城镇,四平台,道路设施,路灯损坏,2025/12/28 8:00,,,处理中,119.70,28.70\n",
        encoding="utf-8")
    result = import_files([path], wh)
    assert result.published, result.report.format()
    assert result.events == 2
    snap = open_current(wh)
    try:
        rows = dict((r[0], r[1:]) for r in snap.cursor().execute(
            "SELECT id, region, source, status, lon FROM events WHERE id LIKE 'GD%'").fetchall())
        total = snap.cursor().execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        snap.close()
    assert rows["GD001"][:3] == ("330723001", "12345", "已办结")
    assert rows["GD001"][3] is not None  # placed at the township's label point
    assert rows["GD002"] == ("330723004", "基层治理四平台", "处置中", 119.70)
    assert total == 4228 + 2


# --- boundaries ----------------------------------------------------------------------------------
def township_geometries(db) -> dict[str, object]:
    q, snap = queries_of(db)
    try:
        return {code: shapely.from_wkb(wkb) for code, wkb in q.geometries_wkb().items()}
    finally:
        snap.close()


def write_shapefile(base, geoms: dict[str, object], names: dict[str, str], epsg: int):
    """Polygons with holes and parts, reprojected to `epsg`, names in GBK with a .cpg."""
    import pyogrio

    to_xy = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)

    def project(g):
        return shapely.transform(g, lambda xy: np.column_stack(to_xy.transform(xy[:, 0], xy[:, 1])))

    wkb = np.array([shapely.to_wkb(project(g)) for g in geoms.values()], dtype=object)
    pyogrio.raw.write(str(base.parent / (base.name + ".shp")), wkb,
                      [np.array(list(geoms), dtype=object),
                       np.array([names[c] for c in geoms], dtype=object)],
                      ["XZDM", "XZMC"], geometry_type="MultiPolygon", crs=f"EPSG:{epsg}",
                      encoding="GBK")


def test_projected_shapefile_replaces_schematic_boundaries(wh, tmp_path):
    original = township_geometries(wh)
    code_to_name = {c: SPELLINGS.get(n, n) for n, c in TOWNSHIP_CODES.items()}
    write_shapefile(tmp_path / "乡镇界", original, code_to_name, 4549)

    result = import_files([tmp_path / "乡镇界.shp"], wh)

    assert result.published, result.report.format()
    assert result.boundaries == 18
    q, snap = queries_of(wh)
    try:
        assert not any(r.schematic for r in q.townships)
        assert q.meta["boundaries"] == "imported"
        imported = {c: shapely.from_wkb(w) for c, w in q.geometries_wkb().items()}
        areas = {r.code: r.area_km2 for r in q.townships}
    finally:
        snap.close()
    for code, geom in original.items():
        assert shapely.hausdorff_distance(imported[code], geom) < 1e-7  # ≈ 1 cm
        assert abs(imported[code].area - geom.area) / geom.area < 1e-6
    assert 1500 < sum(areas.values()) < 1700  # 武义县 is about 1,577 km²


def test_geojson_keeps_holes_and_parts_and_repairs_invalid_rings_with_a_warning(wh, tmp_path):
    geoms = township_geometries(wh)
    taoxi, xinzhai = TOWNSHIP_CODES["桃溪镇"], TOWNSHIP_CODES["新宅镇"]
    inner = geoms[taoxi].representative_point()
    holed = geoms[taoxi].difference(inner.buffer(0.004))
    island = box(inner.x + 0.01, inner.y + 0.01, inner.x + 0.012, inner.y + 0.012)
    island = island.difference(geoms[taoxi])
    two_parts = MultiPolygon([holed] + ([island] if isinstance(island, Polygon) and not island.is_empty else
                                        [box(inner.x - 0.3, inner.y - 0.3, inner.x - 0.29, inner.y - 0.29)]))
    c = geoms[xinzhai].representative_point()
    d = 0.01
    bowtie = Polygon([(c.x - d, c.y - d), (c.x + d, c.y + d), (c.x + d, c.y - d), (c.x - d, c.y + d)])
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "桃溪镇"}, "geometry": mapping(two_parts)},
        {"type": "Feature", "properties": {"name": "新宅镇"}, "geometry": mapping(bowtie)},
    ]}
    import json
    path = tmp_path / "两个乡镇.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    result = import_files([path], wh)

    assert result.published, result.report.format()
    checks = {w.check for w in result.report.warnings}
    assert checks == {"repaired_geometry", "missing_boundaries"}
    repaired = next(w for w in result.report.warnings if w.check == "repaired_geometry")
    assert repaired.column == "第2个要素" and "Self-intersection" in repaired.message
    q, snap = queries_of(wh)
    try:
        stored = {c: shapely.from_wkb(w) for c, w in q.geometries_wkb().items()}
        schematic = {r.code: r.schematic for r in q.townships}
    finally:
        snap.close()
    assert len(stored[taoxi].geoms) == 2
    assert len(max(stored[taoxi].geoms, key=lambda g: g.area).interiors) == 1
    assert stored[xinzhai].is_valid and stored[xinzhai].area > 0
    assert not schematic[taoxi] and schematic[TOWNSHIP_CODES["王宅镇"]]  # the others stay 示意
