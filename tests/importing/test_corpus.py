"""The corpus of malformed and awkward files: each is refused with its own message naming file, sheet,
row, column, the value seen and what was expected — and the warehouse is left exactly as it was."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Polygon

from cockpit.warehouse.publish import import_files

pytestmark = pytest.mark.heavy(12)

CORPUS = Path(__file__).parent / "corpus"
REGION = "第1列“乡镇（街道）”"
INDICATOR = "第2列“指标”"
PERIOD = "第3列“期间”"
VALUE = "第4列“数值”"


@dataclass(frozen=True)
class Case:
    file: str
    check: str
    row: int | None
    column: str | None
    value: str | None
    expected: str           # a part of what the problem says was expected
    message: str            # a part of the message
    sheet: str | None = None
    today: date | None = None  # the day the import runs (default: the real today)


CASES = [
    Case("unknown_region.csv", "unknown_region", 3, REGION, "柳城乡", "本县乡镇（街道）名称或区划代码",
         "“柳城乡”不是武义县的乡镇（街道），是否为“柳城畲族镇”？"),
    Case("unknown_indicator.csv", "unknown_indicator", 2, INDICATOR, "规上工业产值",
         "指标目录中的指标名称或代码", "是否为“规上工业增加值”？"),
    Case("unit_mismatch.csv", "unit_mismatch", 2, "第5列“单位”", "万元", "“亿元”",
         "规上工业增加值的单位是“亿元”"),
    Case("negative_count.csv", "negative_value", 3, VALUE, "-3", "不小于 0", "投诉举报量不可能是负数"),
    Case("rate_over_100.csv", "rate_over_100", 2, VALUE, "103.5", "0 到 100 之间",
         "网办率是比率，不可能超过 100%"),
    Case("duplicate_conflict.csv", "duplicate_conflict", 4, VALUE, "3.5", "只有一个数值",
         "与第2行重复：同一乡镇、指标、期间有两个不同的数值（3.21 与 3.5）"),
    Case("future_period.csv", "future_period", 2, PERIOD, "2099-01", "最早可在 2099年1月31日 导入",
         "期间 2099年1月 还没有开始"),
    Case("quarterly_indicator_given_month.csv", "period_frequency", 2, PERIOD, "2025-05",
         "季度，如 2025年二季度", "地区生产总值按季度报送，期间“2025-05”不是一个季度"),
    Case("monthly_indicator_given_quarter.csv", "period_frequency", 2, PERIOD, "2025年二季度",
         "月份，如 2025-06", "规上工业增加值按月报送"),
    Case("yearly_indicator_given_month.csv", "period_frequency", 2, PERIOD, "2025-06",
         "年份，如 2025年", "亩均税收按年报送"),
    Case("bad_period.csv", "bad_period", 2, PERIOD, "2025-13", "2025年6月", "期间“2025-13”无法识别"),
    Case("placeholder_dash.csv", "placeholder", 2, VALUE, "—", "不要用占位符", "占位符“—”"),
    Case("placeholder_slash.csv", "placeholder", 2, VALUE, "/", "不要用占位符", "占位符“/”"),
    Case("placeholder_zanwu.csv", "placeholder", 3, VALUE, "暂无", "不要用占位符", "占位符“暂无”"),
    Case("empty_value.csv", "placeholder", 2, VALUE, "", "一个数值", "数值为空"),
    Case("not_a_number.csv", "not_a_number", 2, VALUE, "约5.2", "一个数值", "“约5.2”不是数值"),
    Case("percent_for_a_count.csv", "unit_mismatch", 2, VALUE, "12%", "不带 %",
         "数值写成了百分数，但新设市场主体的单位是“户”"),
    Case("county_only_by_township.csv", "county_only", 2, REGION, "桃溪镇", "“全县”",
         "信用监管覆盖率只统计全县"),
    Case("unknown_region_code.csv", "unknown_region", 2, "第1列“区划代码”", "330723099",
         "区划代码", "“330723099”不是武义县的乡镇（街道）"),
    Case("gbk_unknown_region.csv", "unknown_region", 2, "第1列“乡镇”", "茭道乡", "区划代码",
         "是否为“茭道镇”？"),
    Case("missing_value_column.csv", "missing_column", 1, "表头", None, "乡镇（街道）、指标、期间、数值",
         "表头缺少“数值”列"),
    Case("empty.csv", "empty_file", None, None, None, "CSV", "文件是空的"),
    Case("header_only.csv", "empty_file", 1, None, None, "至少一行数据", "表中没有数据行"),
    Case("short_row.csv", "bad_row", 3, "整行", "新宅镇,规上工业增加值", "4 列", "这一行有 2 列，表头有 4 列"),
    Case("no_header.csv", "no_header", 1, "表头", None, "乡镇（街道）、指标、期间、数值", "找不到表头"),
    Case("binary_junk.csv", "unreadable", None, None, ".csv", "UTF-8、GBK 或 UTF-16", "不是文本格式的 CSV"),
    Case("report.docx", "unsupported", None, None, "report.docx", "Excel（.xlsx/.xls/.xlsb）、WPS（.et）",
         "不支持的文件类型“.docx”"),
    Case("wide_unknown_indicator.csv", "unknown_indicator", 1, "标题",
         "2025年各乡镇（街道）重点工作完成情况", "写明指标名称", "无法确定本表是哪一项指标"),
    Case("wide_bad_month.csv", "bad_period", 2, "第3列“2025年13月”", "2025年13月", "2025-06",
         "列标题不是可识别的期间"),
    Case("event_bad_status.csv", "bad_status", 2, "第9列“状态”", "待定", "已办结、处置中 或 已超期",
         "状态“待定”无法识别"),
    Case("event_closed_before_reported.csv", "bad_time", 2, "第8列“办结时间”", "2025-11-30 10:00",
         "不早于上报时间", "办结时间早于上报时间（2025-12-01 09:00）"),
    Case("event_unknown_region.csv", "unknown_region", 2, "第2列“乡镇”", "桃花镇", "区划代码",
         "“桃花镇”不是武义县的乡镇（街道）"),
    Case("event_in_the_future.csv", "future_period", 2, "第6列“上报时间”", "2099-12-01 09:00",
         "不晚于", "上报时间在今天之后"),
    Case("boundary_projected_without_crs.geojson", "bad_crs", None, None,
         "x 470000…480000，y 3190000…3200000", ".prj", "坐标不是经纬度，但没有说明坐标系"),
    Case("boundary_unknown_township.geojson", "unknown_region", None, "第2个要素 字段“name”", "柳城乡",
         "区划代码", "是否为“柳城畲族镇”？"),
    Case("boundary_outside_county.geojson", "outside_county", None, "第1个要素 字段“name”",
         "116.3150, 39.9100", "武义县境内的面", "桃溪镇的边界不在武义县范围内，坐标系可能有误"),
    Case("boundary_points.geojson", "bad_boundary", None, "第1个要素", "Point", "Polygon",
         "要素的几何是“Point”，不是面"),
    # Issue 14: text that is no one encoding, two value columns, absurd figures, unfinished periods.
    Case("mixed_encoding.csv", "encoding", 3, "整行", None, "同一种编码",
         "文件混用了两种文字编码：第1行是 UTF-8，第3行是 GBK"),
    Case("invalid_bytes.csv", "encoding", 3, "整行", "ff ff fe 2c e6 96 b0 2c",
         "同一种编码", "这一行有既不是 UTF-8 也不是 GBK 的字节"),
    Case("two_value_columns.csv", "ambiguous_column", 1, "第5列“本期数”", "本期数", "只保留一列“数值”",
         "表头中有 2 列都可以是“数值”：第4列“数值”、第5列“本期数”，不知道该导入哪一列"),
    Case("value_1e308.csv", "out_of_range", 2, VALUE, "1e308", "绝对值小于 10¹⁵",
         "“1e308”超出数据仓库能保存的范围，不可能是投诉举报量的数值"),
    Case("value_1.23e29.csv", "out_of_range", 2, VALUE, "1.23e29", "请检查单位与小数点",
         "“1.23e29”超出数据仓库能保存的范围，不可能是规上工业增加值的数值"),
    Case("implausible_count.csv", "implausible", 3, VALUE, "9999999", "不超过",
         "投诉举报量 9,999,999 件明显不合理：是同级各地区历来最大值"),
    Case("unfinished_month.csv", "future_period", 2, PERIOD, "2026年12月", "最早可在 2026年12月31日 导入",
         "期间 2026年12月 还没有结束（今天是 2026年12月1日）", today=date(2026, 12, 1)),
    Case("unfinished_quarter.csv", "future_period", 2, PERIOD, "2026年四季度",
         "最早可在 2026年12月31日 导入", "期间 2026年四季度 还没有结束", today=date(2026, 12, 15)),
    Case("unfinished_year.csv", "future_period", 2, PERIOD, "2026年", "最早可在 2026年12月31日 导入",
         "期间 2026年 还没有结束", today=date(2026, 6, 30)),
    Case("truncated.kml", "unreadable", None, None, ".kml", "KML", "无法读取边界文件"),
]


# --- files that are binary, made here rather than committed ---------------------------------------
def _corrupt_xlsx(path):
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))


def _xlsx_with_excel_error(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "长表"
    ws.append(["乡镇（街道）", "指标", "期间", "数值"])
    ws.append(["桃溪镇", "规上工业增加值", "2025-06", 1.2])
    ws.append(["新宅镇", "规上工业增加值", "2025-06", "#DIV/0!"])
    wb.save(path)


def _xlsx_wide_unit_row_mismatch(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "固定资产投资"
    ws.append(["2025年各乡镇（街道）固定资产投资"])
    ws.append([None, None, "单位：万元"])
    ws.append(["乡镇（街道）", "2025年1月", "2025年2月"])
    ws.append(["熟溪街道", 12000, 13000])
    wb.save(path)


def _corrupt_parquet(path):
    path.write_bytes(b"PAR1" + os.urandom(100) + b"PAR1")


def _parquet_without_value(path):
    pq.write_table(pa.table({"region": ["330723001"], "indicator": ["eco_fai"],
                             "period": ["2025-06"]}), path)


def _shapefile_projected_without_prj(path):
    import pyogrio

    ring = Polygon([(470000, 3190000), (470000, 3200000), (480000, 3200000), (470000, 3190000)])
    with warnings.catch_warnings():  # "crs was not provided": that is the point
        warnings.simplefilter("ignore", UserWarning)
        pyogrio.raw.write(str(path), np.array([ring.wkb], dtype=object),
                          [np.array(["桃溪镇"], dtype=object)], ["NAME"], geometry_type="Polygon",
                          crs=None)


def _shapefile_without_dbf(path):
    _shapefile_projected_without_prj(path)
    path.with_suffix(".dbf").unlink()


def _truncated_shapefile(path):
    _shapefile_projected_without_prj(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _deeply_nested_geojson(path):
    depth = 100_000
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                    '{"name": "桃溪镇"}, "geometry": {"type": "Polygon", "coordinates": '
                    + "[" * depth + "]" * depth + "}}]}", encoding="utf-8")


def _parquet_with_invalid_utf8(path):
    bad = pa.array([b"\xe6\xa1\x83\xe6\xba\xaa\xe9\x95\x87", b"\xff\xfe\xe6"], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"region": bad, "indicator": ["eco_fai"] * 2,
                             "period": ["2025-06"] * 2, "value": [1.0, 2.0]}), path)


def _parquet_with_struct_column(path):
    pq.write_table(pa.table({"region": ["330723001"], "indicator": ["eco_fai"],
                             "period": ["2025-06"], "value": [{"v": 1.0, "note": "x"}]}), path)


def _corrupt_geopackage(path):
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(300))


MADE = {
    "corrupt.xlsx": (_corrupt_xlsx, Case("corrupt.xlsx", "unreadable", None, None, ".xlsx",
                                         "WPS（.et）或 OpenDocument（.ods）工作簿", "无法读取电子表格")),
    "excel_error.xlsx": (_xlsx_with_excel_error, Case(
        "excel_error.xlsx", "placeholder", 3, "D列“数值”", "", "一个数值", "或是出错的公式，如 #DIV/0!",
        sheet="长表")),
    "wide_unit_row.xlsx": (_xlsx_wide_unit_row_mismatch, Case(
        "wide_unit_row.xlsx", "unit_mismatch", 2, "C列“单位：万元”", "万元", "“亿元”",
        "固定资产投资的单位是“亿元”", sheet="固定资产投资")),
    "corrupt.parquet": (_corrupt_parquet, Case("corrupt.parquet", "unreadable", None, None, None,
                                               "Parquet 格式", "无法读取 Parquet 文件")),
    "no_value.parquet": (_parquet_without_value, Case(
        "no_value.parquet", "missing_column", None, "列名", None, "指标、期间、数值", "表头缺少“数值”列")),
    "projected_no_prj.shp": (_shapefile_projected_without_prj, Case(
        "projected_no_prj.shp", "bad_crs", None, None, "x 470000…480000，y 3190000…3200000",
        "附带 .prj", "坐标不是经纬度，但没有说明坐标系")),
    "no_dbf.shp": (_shapefile_without_dbf, Case("no_dbf.shp", "unreadable", None, None, None,
                                               ".shp、.shx、.dbf", "Shapefile 缺少 .dbf 文件")),
    "truncated.shp": (_truncated_shapefile, Case("truncated.shp", "bad_boundary", None, "第1个要素",
                                                 None, "Polygon", "要素没有几何（几何为空，或文件不完整）")),
    "deeply_nested.geojson": (_deeply_nested_geojson, Case(
        "deeply_nested.geojson", "unreadable", None, None, ".geojson", "完好的", "无法读取边界文件")),
    "invalid_utf8.parquet": (_parquet_with_invalid_utf8, Case(
        "invalid_utf8.parquet", "encoding", 2, "列“region”", "ff fe e6", "UTF-8 文字",
        "列“region”中有无效的 UTF-8 文字")),
    "struct_value.parquet": (_parquet_with_struct_column, Case(
        "struct_value.parquet", "unreadable", None, "列“value”",
        "struct<v: double, note: string>", "文字（string）或数值列", "列“value”的类型是 struct")),
    "corrupt.gpkg": (_corrupt_geopackage, Case("corrupt.gpkg", "unreadable", None, None, ".gpkg",
                                               "GeoPackage", "无法读取边界文件")),
}


def test_the_corpus_has_at_least_thirty_files():
    committed = [p for p in CORPUS.iterdir() if p.is_file()]
    assert len(committed) >= 30
    assert {c.file for c in CASES} == {p.name for p in committed}  # every file has its case
    assert len(CASES) + len(MADE) >= 40


def _assert_refused(path: Path, case: Case, db, fingerprint) -> None:
    before = fingerprint(db)
    result = import_files([path], db, today=case.today)
    assert not result.published
    matches = [p for p in result.report.errors if p.check == case.check]
    assert matches, result.report.format()
    problem = matches[0]
    assert all(p.file == path.name for p in result.report.problems), result.report.format()
    assert (problem.sheet, problem.row, problem.column, problem.value) == \
        (case.sheet, case.row, case.column, case.value), str(problem)
    assert case.expected in (problem.expected or ""), str(problem)
    assert case.message in problem.message, str(problem)
    assert case.message in result.report.format()
    assert fingerprint(db) == before  # same snapshot version, same facts


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_committed_bad_file_is_refused_with_its_message_and_changes_nothing(case, module_wh,
                                                                            fingerprint):
    _assert_refused(CORPUS / case.file, case, module_wh, fingerprint)


@pytest.mark.parametrize("name", sorted(MADE))
def test_binary_bad_file_is_refused_with_its_message_and_changes_nothing(name, module_wh,
                                                                         fingerprint, tmp_path):
    make, case = MADE[name]
    path = tmp_path / name
    make(path)
    _assert_refused(path, case, module_wh, fingerprint)


def test_one_bad_file_among_good_ones_blocks_the_whole_import(module_wh, fingerprint, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("乡镇,指标,期间,数值\n桃溪镇,规上工业增加值,2026-01,1.1\n", encoding="utf-8")
    before = fingerprint(module_wh)
    result = import_files([good, CORPUS / "placeholder_dash.csv"], module_wh)
    assert not result.published
    assert [p.file for p in result.report.errors] == ["placeholder_dash.csv"]
    assert fingerprint(module_wh) == before


def test_many_bad_rows_are_listed_up_to_a_limit_and_counted(module_wh, tmp_path):
    rows = "\n".join(f"桃溪镇,规上工业增加值,{2000 + k // 12}-{k % 12 + 1:02d},—" for k in range(300))
    path = tmp_path / "many.csv"
    path.write_text("乡镇,指标,期间,数值\n" + rows + "\n", encoding="utf-8")
    report = import_files([path], module_wh).report
    listed = [p for p in report.errors if p.row is not None]
    assert len(listed) == 20
    [summary] = [p for p in report.errors if p.row is None]
    assert summary.count == 280 and "另有 280 处" in summary.message
    assert report.error_count == 300


def test_no_sample_file_raises_and_each_problem_names_its_file(module_wh):
    """The sample files go through the readers without an exception (every committed and made
    file is imported by the tests above, which also check that each problem names its file)."""
    from cockpit.warehouse.imports.validation import validate_files

    samples = [p for p in sorted((CORPUS.parent / "samples").iterdir()) if p.is_file()]
    assert samples
    for path in samples:
        report = validate_files([path], module_wh)
        assert report.problems or report.ok, path.name
        assert all(p.file == path.name for p in report.problems), report.format()


def test_a_crash_inside_a_reader_is_a_problem_with_the_file(module_wh, fingerprint, monkeypatch):
    from cockpit.warehouse.imports import readers

    def broken_reader(path, indicators=None):
        raise RecursionError("maximum recursion depth exceeded")
    monkeypatch.setattr(readers, "read_csv", broken_reader)
    before = fingerprint(module_wh)
    result = import_files([CORPUS / "unknown_region.csv"], module_wh)
    [problem] = result.report.errors
    assert (problem.file, problem.check, problem.value) == ("unknown_region.csv", "unreadable", ".csv")
    assert "RecursionError" in problem.message and "完好的文件" in problem.expected
    assert not result.published and fingerprint(module_wh) == before
