"""For leaders: the 规划目标 page, the briefing PDF and the 导出 menu, on one shared window."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
import shutil
import subprocess
from datetime import date

import openpyxl
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from cockpit.core.formatting import format_change, format_value
from cockpit.core.workbook import shown
from cockpit.paths import data_dir
from cockpit.ui import export
from cockpit.ui.app import LiveWarehouse, _application, build_window, grab
from cockpit.ui.briefing import BriefingBuilder, write_pdf
from cockpit.warehouse.demo import TOWNSHIP_CODES
from cockpit.warehouse.publish import import_files

TAOXI = TOWNSHIP_CODES["桃溪镇"]
DOMAINS = ("经济运行", "市场监管", "生态环境", "社会治理", "公共服务", "政务运行")
END_2025 = date(2025, 12, 1)


@pytest.fixture(scope="module")
def window(demo_db, qapp, tmp_path_factory):
    """One window on a copy of the demo with the sample 十五五 targets imported; alerts
    evaluated once. Tests put the selection and the page back as they found them."""
    from tests.importing.conftest import copy_warehouse

    home = tmp_path_factory.mktemp("home")
    previous = os.environ.get("COCKPIT_HOME")
    os.environ["COCKPIT_HOME"] = str(home)
    db = copy_warehouse(demo_db, tmp_path_factory.mktemp("plan") / "wh")
    assert import_files([data_dir() / "sample_targets_15th.csv"], db).published
    app = _application()
    warehouse = LiveWarehouse(db)
    win = build_window(warehouse, evaluate=False)
    win.ctx.alerts.evaluate(warehouse.snapshot)
    win.ctx.alerts_changed.emit()
    win.resize(1920, 1080)
    win.show()
    grab(win, app)
    yield win
    win.close()
    warehouse.close()
    if previous is None:
        os.environ.pop("COCKPIT_HOME", None)
    else:
        os.environ["COCKPIT_HOME"] = previous


@pytest.fixture
def fresh(window):
    """The window on the county, December 2025, the cockpit page, not public."""
    window.ctx.select(region=window.ctx.county_code, period=END_2025,
                      indicator="eco_industry_va", domain="overview")
    window.ctx.public_mode = False
    window.show_cockpit()
    yield window
    window.ctx.public_mode = False
    window.show_cockpit()


def test_the_plan_button_opens_the_plan_page_and_esc_goes_back(fresh, qtbot):
    win = fresh
    qtbot.mouseClick(win.header.plan_button, Qt.MouseButton.LeftButton)
    assert win.showing_plan
    page = win.plan
    assert page.plan.name == "十四五"          # the plan of the month, among two
    assert page.plan_names() == ["十四五", "十五五"] and page.plan_picker.isVisible()
    header = page.header_text()
    assert "十四五（2021—2025年）" in header and "表1" in header and "2025年12月" in header
    rows = page.row_texts()
    assert len(rows) == 32 and rows[0]["baseline_year"] == "2020"
    shared = next(r for r in rows if r["code"] == "ops_data_shared")
    assert (shared["latest"], shared["target"], shared["status"]) == ("76.0%", "90.0%", "未达成")
    qtbot.keyClick(win, Qt.Key.Key_Escape)
    assert not win.showing_plan


def test_choosing_a_plan_and_clicking_a_row_and_a_township_write_the_selection(fresh, qtbot):
    win = fresh
    win.show_plan()
    page = win.plan
    page.choose_plan("十五五")
    assert page.plan.name == "十五五" and len(page.row_texts()) == 17
    assert "示例" in page.header_text()
    row = [r["code"] for r in page.row_texts()].index("mkt_double_random")
    rect = page.view.visualRect(page.model.index(row, 0))
    qtbot.mouseClick(page.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.ctx.state.indicator == "mkt_double_random"
    assert "双随机" in page.chart_title.text() and page.chart.assessment.code == "mkt_double_random"
    towns = page.township_texts()
    assert len(towns) == 18 and towns[0][2].startswith(("+", "−"))
    # A township in the list selects it everywhere, like every other entry point.
    code = page.townships.rows[3].code
    pos = page.townships.row_rect(code).center().toPoint()
    qtbot.mouseClick(page.townships, Qt.MouseButton.LeftButton, pos=pos)
    assert win.ctx.state.region == code
    assert win.map.highlighted_region == code and win.ranking.highlighted_region == code
    page.choose_plan("十四五")


def test_the_plan_page_follows_the_month(fresh):
    win = fresh
    win.show_plan()
    win.ctx.select(period=date(2023, 6, 1))
    statuses = {r["status"] for r in win.plan.row_texts()}
    assert "有望达成" in statuses and "未达成" not in statuses
    assert "规划期内" in win.plan.header_text()


def test_the_plan_page_at_1920x1080_shows_its_parts(fresh, tmp_path):
    win = fresh
    win.ctx.select(indicator="mkt_double_random", region=TAOXI)
    win.show_plan()
    image = grab(win, _application())
    assert (image.width(), image.height()) == (1920, 1080)
    page = win.plan
    for part in (page.view, page.chart, page.townships):
        assert part.isVisible() and part.width() > 300 and part.height() > 150
    assert page.townships.selected == TAOXI
    image.save(str(tmp_path / "plan.png"))


def read_sheets(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: ws for ws in wb.worksheets}


def data_rows(ws):
    return list(ws.iter_rows(min_row=3, values_only=True))


def test_excel_of_the_cockpit_page_is_the_ranking_and_the_alert_list(fresh, tmp_path):
    win = fresh
    win.ctx.select(indicator="mkt_double_random")
    sheets = read_sheets(export.export_excel(win, tmp_path / "cockpit.xlsx"))
    ranking = sheets["乡镇排名（“双随机、一公开”覆盖率）"]
    assert ranking.freeze_panes == "A3"
    assert "2025年12月" in ranking["A1"].value and "数据截至" in ranking["A1"].value
    assert ranking["C2"].value == "“双随机、一公开”覆盖率（%）"
    ind = win.ctx.indicator()
    expected = win.ranking.table_rows()
    rows = data_rows(ranking)
    assert [r[1] for r in rows] == [name for _, _, name, *_ in expected]
    for (rank, _, _, value, prev, yoy), row in zip(expected, rows):
        assert row[0] == rank and format_value(row[2], ind) == format_value(value, ind)
        assert f"{'+' if row[5] > 0 else '−' if row[5] < 0 else '±'}{shown(abs(row[5]), 1)}" \
               f"{row[6]}" == format_change(value, yoy, ind)
    assert ranking.cell(3, 3).number_format == "#,##0.0"
    alerts = data_rows(sheets["预警列表"])
    assert [r[4] for r in alerts] == [a.message for a in win.alerts.shown_alerts()]


def test_excel_of_the_detail_page_reads_back_as_shown(fresh, tmp_path):
    win = fresh
    win.ctx.detail_requested.emit(TAOXI)
    detail = win.detail
    ws = read_sheets(export.export_excel(win, tmp_path / "detail.xlsx"))["指标全景（桃溪镇）"]
    for row in data_rows(ws):
        domain, name, unit, value, county, rank, of, yoy, yoy_unit, progress, period, note = row
        code = next(c for c in detail.indicator_codes() if detail.row_for(c)["indicator"] == name)
        ind = win.ctx.indicator(code)
        screen = detail.row_for(code)
        assert unit == ind.unit and period == screen["period"]
        assert format_value(value, ind) == screen["value"]
        assert format_value(county, ind) == screen["county"]
        assert (f"{rank}/{of}" if rank else note or "—") == screen["rank"]
        if yoy is not None and yoy_unit in ("%", "个百分点"):
            sign = "+" if yoy > 0 else "−" if yoy < 0 else "±"
            assert f"{sign}{abs(yoy):.1f}{yoy_unit}" == screen["yoy"]
        assert (f"{progress}%" if progress is not None else "—") == screen["progress"]
        assert isinstance(value, (int, float)) or value is None


def test_excel_of_the_plan_page_has_targets_and_township_pulls(fresh, tmp_path):
    win = fresh
    win.ctx.select(indicator="mkt_double_random")
    win.show_plan()
    sheets = read_sheets(export.export_excel(win, tmp_path / "plan.xlsx"))
    targets = sheets["规划目标（十四五）"]
    assert targets["G2"].value == "目标值（2025年）" and "表1" in targets["A1"].value
    for row, screen in zip(data_rows(targets), win.plan.row_texts()):
        ind = win.ctx.indicator(screen["code"])
        assert row[0] == screen["indicator"] and row[8] == screen["status"]
        assert format_value(row[4], ind) == screen["latest"]
        assert format_value(row[6], ind) == screen["target"]
        assert (f"{row[7]}%" if row[7] is not None else "—") == screen["attainment"]
    pulls = data_rows(sheets["乡镇贡献（“双随机、一公开”覆盖率）"])
    assert [(r[1], f"{r[2]:.1f}%") for r in pulls] == \
        [(name, latest) for name, latest, _ in win.plan.township_texts()]


def test_excel_of_the_quality_page_has_both_tables(fresh, tmp_path):
    win = fresh
    win.show_quality()
    sheets = read_sheets(export.export_excel(win, tmp_path / "quality.xlsx"))
    assert list(sheets) == ["部门数据质量", "指标数据质量"]
    departments = data_rows(sheets["部门数据质量"])
    assert [[r[0], str(r[1]), f"{r[2]:.1f}%"] for r in departments] == \
        [row[:3] for row in win.quality.department_rows()]


def test_the_export_menu_offers_the_briefing_of_the_selected_region(fresh, tmp_path):
    win = fresh
    win.ctx.select(region=TAOXI)
    win.export_menu.aboutToShow.emit()     # as when the menu opens
    assert win.header.export_button.menu() is win.export_menu
    texts = [a.text() for a in win.export_menu.actions()]
    assert texts == ["简报 PDF（桃溪镇）", "当前画面 PNG", "表格 Excel（驾驶舱）"]
    png = export.export_png(win, tmp_path / "screen.png")
    assert QImage(str(png)).size() == win.size()
    pdf = export.export_briefing(win, tmp_path / "brief.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and not list(tmp_path.glob(".*tmp*"))


def test_a_township_briefing_says_what_the_detail_page_says(fresh):
    win = fresh
    win.ctx.detail_requested.emit(TAOXI)
    detail = win.detail
    briefing = BriefingBuilder(win.ctx.queries, win.ctx.alerts).build(TAOXI, END_2025)
    assert [d for d, _ in briefing.domains] == list(DOMAINS)
    rows = [r for _, rows in briefing.domains for r in rows]
    assert len(rows) >= 20
    for r in rows:
        screen = detail.row_for(r.code)
        assert (r.value, r.county, r.rank, r.yoy, r.progress, r.period) == \
            (screen["value"], screen["county"], screen["rank"], screen["yoy"],
             screen["progress"], screen["period"])
    alerts = [a.message for a in win.ctx.alerts.list(region=TAOXI, open_only=True)]
    assert alerts and all(any(m in what for _, what, _ in briefing.alerts) for m in alerts[:5])
    assert briefing.events[0].startswith("2025年12月共") and "已超期" in briefing.events[0]
    assert len(briefing.strengths) == 3 and len(briefing.weaknesses) == 3


def test_a_briefings_alert_lines_name_their_place_and_indicator_once(fresh):
    q = fresh.ctx.queries
    for lang in ("zh_CN", "en"):
        briefing = BriefingBuilder(q, fresh.ctx.alerts, lang=lang).build(q.county.code, END_2025)
        names = [r.name_en if lang == "en" and r.name_en else r.name for r in q.townships]
        assert briefing.alerts
        for _, what, _ in briefing.alerts:
            assert max(what.count(name) for name in names) <= 1, what


def pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_the_briefing_pdf_is_a4_with_the_font_embedded_and_all_six_domains(fresh, tmp_path):
    q = fresh.ctx.queries
    briefing = BriefingBuilder(q, fresh.ctx.alerts).build(TAOXI, END_2025)
    path = write_pdf(briefing, q, tmp_path / "taoxi.pdf")
    data = path.read_bytes()
    assert b"/FontFile" in data                        # embedded, not referenced
    assert re.search(rb"/MediaBox \[0 0 595[.0]* 842[.0]*\]", data)    # A4 portrait
    text = pdf_text(path)
    for word in ("桃溪镇", "2025年12月", *DOMAINS, "未处理预警", "事件动态", "数据缺口"):
        assert word in text, word
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    # one font, embedded (emb) as a subset (sub, the name's ABCDEF+ tag), with a ToUnicode map
    font = fonts.splitlines()[2]
    assert re.match(r"[A-Z]{6}\+NotoSansCJKsc-Regular .* yes yes yes ", font), fonts
    assert len(data) < 300_000       # the 1.9 MB font is not embedded whole


def test_public_mode_leaves_internal_indicators_out_of_every_export(fresh, tmp_path):
    win = fresh
    win.ctx.public_mode = True
    internal = [i.name for i in win.ctx.queries.indicators if i.sensitivity == "internal"]
    assert "网络安全事件及时整改率" in internal
    win.show_plan()
    win.plan.refresh()
    assert not set(internal) & {r["indicator"] for r in win.plan.row_texts()}
    sheets = read_sheets(export.export_excel(win, tmp_path / "plan.xlsx"))
    cells = {str(c) for ws in sheets.values() for row in ws.iter_rows(values_only=True)
             for c in row if c}
    assert not any(name in cell for name in internal for cell in cells)
    county = BriefingBuilder(win.ctx.queries, win.ctx.alerts, public=True).build(
        win.ctx.county_code, END_2025)
    taoxi = BriefingBuilder(win.ctx.queries, win.ctx.alerts, public=True).build(TAOXI, END_2025)
    for briefing in (county, taoxi):
        assert not any(name in briefing.text() for name in internal)
    path = write_pdf(taoxi, win.ctx.queries, tmp_path / "public.pdf")
    text = pdf_text(path)
    assert "公开版" in text and not any(name in text for name in internal)
    win.plan.refresh()


def test_the_county_briefing_has_the_plan_summary_and_the_townships_ranking(fresh, tmp_path):
    q = fresh.ctx.queries
    briefing = BriefingBuilder(q, fresh.ctx.alerts, lang="en").build(q.county.code, END_2025)
    assert briefing.plan_lines[0] == "Plan targets · 14th Five-Year Plan (2021–2025)"
    assert "√ Met 17" in briefing.plan_lines[1] and len(briefing.ranking) == 18
    text = pdf_text(write_pdf(briefing, q, tmp_path / "county.pdf"))
    assert "Wuyi County briefing" in text and "Economy" in text and "Dec 2025" in text
