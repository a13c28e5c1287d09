"""Targets files (规划目标): recognised by their header, judged like every import, published whole."""
from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from cockpit.paths import data_dir
from cockpit.warehouse import plans
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current
from cockpit.warehouse.imports.validation import validate_files

SAMPLE = data_dir() / "sample_targets_15th.csv"
HEADER = "指标,单位,基期年份,基期值,目标年份,目标值,来源文件\n"


def current_plans(db):
    snap = open_current(db)
    try:
        return {p.name: p for p in plans.available_plans(Queries(snap))}
    finally:
        snap.close()


def test_the_sample_15th_plan_imports_as_a_new_snapshot_beside_the_catalogues_plan(wh):
    result = import_files([SAMPLE], wh)
    assert result.published and result.targets == 17, result.report.format()
    assert "规划目标 17 项" in result.summary() and result.snapshot.version == 2
    found = current_plans(wh)
    assert list(found) == ["十四五", "十五五"]
    fifteenth = found["十五五"]
    assert fifteenth.from_file and fifteenth.target_year == 2030 and fifteenth.baseline_year == 2025
    assert "示例" in fifteenth.source_text() and "第十五个五年规划纲要" in fifteenth.sources[0]
    industry = fifteenth.targets["eco_industry_va"]
    assert (industry.baseline_value, industry.target_value) == (170.1, 240.0)
    assert fifteenth.targets["eco_fai"].baseline_value is None      # “/”: from the data
    assert len(found["十四五"].targets) > 30                            # untouched
    assert plans.default_plan(list(found.values()), date(2026, 3, 1)) is fifteenth


def test_a_second_file_for_the_same_plan_replaces_it_whole(wh, tmp_path):
    import_files([SAMPLE], wh)
    again = tmp_path / "十五五目标（修订）.csv"
    again.write_text(HEADER + "网办率,%,2025,95.2,2030,99,《修订稿》\n"
                     "数据共享率,%,2025,76,2030,96,《修订稿》\n", encoding="utf-8")
    result = import_files([again], wh)
    assert result.published, result.report.format()
    fifteenth = current_plans(wh)["十五五"]
    assert sorted(fifteenth.targets) == ["ops_data_shared", "svc_online_rate"]
    assert fifteenth.sources == ("《修订稿》",)


def test_an_excel_targets_sheet_under_a_title_with_a_plan_column(wh, tmp_path):
    path = tmp_path / "targets.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "主要指标"
    ws.append(["武义县“十六五”主要指标（草案）"])
    ws.append([])
    ws.append(["序号", "规划", "指标名称", "基期年份", "基期值", "目标年份", "目标值（%）", "来源"])
    ws.append([1, "十六五", "掌上办公比例", 2030, None, 2035, 98, "草案"])
    ws.append([2, "十六五", "mkt_double_random", "2030年", "/", "2035年", ">90%", "草案"])
    wb.save(path)
    result = import_files([path], wh)
    assert result.published, result.report.format()
    sixteenth = current_plans(wh)["十六五"]
    assert sixteenth.targets["mkt_double_random"].target_value == 90.0
    assert sixteenth.targets["ops_mobile_office"].target_year == 2035


BAD_ROWS = {
    "unknown": ("规上工业产值,亿元,2025,170,2030,240,x",
                "第2行 第1列“指标”：指标“规上工业产值”不在指标目录中，是否为“规上工业增加值”？"),
    "unit": ("规上工业增加值,万元,2025,170,2030,240,x",
             "第2行 第2列“单位”：规上工业增加值的单位是“亿元”，不是“万元”"),
    "number": ("网办率,%,2025,95,2030,九十八,x", "第2行 第6列“目标值”：目标值不是数值"),
    "years": ("网办率,%,2030,95,2025,98,x", "第2行 第5列“目标年份”：目标年份 2025 不晚于基期年份 2030"),
    "percent": ("规上工业增加值,,2025,170,2030,12%,x",
                "第2行 第6列“目标值”：规上工业增加值的单位是“亿元”，不是百分比"),
    "range": ("网办率,%,2025,95,2030,120,x", "网办率是百分比，120 不在 0–100 之间"),
    "year": ("网办率,%,2025,95,明年,98,x", "目标年份“明年”不是年份"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_bad_row_is_named_by_file_row_and_column_and_nothing_is_imported(case, module_wh,
                                                                           tmp_path, fingerprint):
    row, message = BAD_ROWS[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(HEADER + row + "\n", encoding="utf-8")
    before = fingerprint(module_wh)
    result = import_files([path], module_wh)
    assert not result.published
    assert any(message in str(p) for p in result.report.errors), result.report.format()
    assert all(p.file == path.name for p in result.report.errors)
    assert fingerprint(module_wh) == before


def test_the_same_indicator_twice_in_one_plan_is_an_error(module_wh, tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text(HEADER + "网办率,%,2025,95,2030,98,x\n网办率,%,2025,95,2030,99,x\n",
                    encoding="utf-8")
    report = validate_files([path], module_wh)
    assert [p.check for p in report.errors] == ["duplicate_conflict"]
    assert report.errors[0].row == 3 and "与twice.csv 第2行重复" in report.errors[0].message


def test_a_months_figure_given_for_an_annual_total_gets_a_warning(module_wh, tmp_path):
    path = tmp_path / "monthly.csv"
    path.write_text(HEADER + "规上工业增加值,亿元,2025,14.2,2030,20,x\n", encoding="utf-8")
    report = validate_files([path], module_wh)
    assert report.ok
    warnings = [str(p) for p in report.warnings]
    assert any("基期值 14.2 与数据中 2025 年全年合计" in w and "而不是单月数" in w for w in warnings)


def test_an_ordinary_data_file_is_not_taken_for_a_targets_file(module_wh, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("乡镇（街道）,指标,期间,数值\n熟溪街道,规上工业增加值,2026-01,3.21\n",
                    encoding="utf-8")
    report = validate_files([path], module_wh)
    assert report.ok and report.batch.targets is None and report.batch.observations.num_rows == 1


def test_cockpit_import_takes_a_targets_file_by_its_header(wh):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "cockpit", "import", str(SAMPLE), "--db", str(wh)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "已发布快照 000002：规划目标 17 项" in out.stdout
