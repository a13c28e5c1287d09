"""The data officer in the cockpit: the import dialog validates off the GUI thread and publishes
one snapshot; the running cockpit switches to it within two seconds and keeps the selection; the
data-quality page shows completeness and lateness per department and indicator."""
from __future__ import annotations

import threading
from datetime import date

import pytest

from cockpit.ui.app import LiveWarehouse, _application, _watch, build_window
from cockpit.ui.import_dialog import wait_until_idle
from cockpit.warehouse.demo import TOWNSHIP_CODES, build_demo

pytestmark = pytest.mark.heavy(30)

TAOXI = TOWNSHIP_CODES["桃溪镇"]


@pytest.fixture
def window(tmp_path, qtbot):
    app = _application()
    db = tmp_path / "wh"
    build_demo(db, end=date(2025, 12, 1))
    warehouse = LiveWarehouse(db)
    win = build_window(warehouse, evaluate=False)
    _watch(win, warehouse, interval_ms=200)
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    yield win, app, db
    if getattr(win, "import_dialog", None) is not None:
        win.import_dialog.close()
    win.close()
    warehouse.close()


def test_bad_file_is_reported_and_nothing_changes(window, tmp_path):
    win, app, db = window
    bad = tmp_path / "网办率.csv"
    bad.write_text("乡镇（街道）,指标,期间,数值\n桃溪镇,网办率,2025-06,103.5\n", encoding="utf-8")
    version = win.ctx.queries.snapshot.version
    dialog = win.open_import()
    dialog.add_files([bad])
    dialog.validate()
    assert dialog.busy  # validation runs off the GUI thread
    wait_until_idle(dialog, app)
    assert dialog.report is not None and dialog.report.error_count == 1
    assert not dialog.import_button.isEnabled()
    row = [dialog.problems.item(0, c).text() for c in range(dialog.problems.columnCount())]
    assert row[0] == "错误" and "第2行" in row[1] and "103.5" in row[2]
    assert win.ctx.queries.snapshot.version == version


def test_import_publishes_and_the_running_cockpit_reloads_keeping_the_selection(window, tmp_path,
                                                                                qtbot):
    win, app, db = window
    win.ctx.select(region=TAOXI, indicator="svc_online_rate")
    good = tmp_path / "网办率2026年1月.csv"
    rows = "\n".join(f"{t.name},网办率,2026-01,{95.5 if t.code == TAOXI else 96.0}"
                     for t in win.ctx.queries.townships)
    good.write_text("乡镇（街道）,指标,期间,数值\n" + rows + "\n", encoding="utf-8")
    before = win.ctx.queries.snapshot.version
    dialog = win.open_import()
    dialog.add_files([good])
    dialog.validate()
    wait_until_idle(dialog, app)
    assert dialog.import_button.isEnabled(), dialog.summary.text()
    dialog.start_import()
    wait_until_idle(dialog, app)
    assert dialog.result.published, dialog.summary.text()
    qtbot.waitUntil(lambda: win.ctx.queries.snapshot.version > before, timeout=2000)
    assert win.ctx.state.region == TAOXI and win.ctx.state.indicator == "svc_online_rate"
    assert "2026年1月" in win.header.freshness.text()
    assert win.ctx.queries.months[-1] == date(2026, 1, 1)
    win.ctx.select(period=date(2026, 1, 1))
    assert win.kpis.card_for("svc_online_rate").value_text() == "95.5%"


def test_quality_page_shows_completeness_and_lateness(window, qtbot, monkeypatch):
    from cockpit.warehouse import quality

    win, app, db = window
    release = threading.Event()
    slow = quality.data_quality
    monkeypatch.setattr(quality, "data_quality", lambda q: release.wait(10) and slow(q))
    win.header.quality_button.click()
    assert win.showing_quality
    # counting runs in a worker: the page says so and the window keeps answering
    assert win.quality.loading and "正在统计" in win.quality.summary_text()
    win.ctx.select(region=TAOXI)
    assert win.map.highlighted_region == TAOXI
    release.set()
    qtbot.waitUntil(lambda: not win.quality.loading and bool(win.quality.department_rows()),
                    timeout=10_000)
    departments = win.quality.department_rows()
    assert len(departments) >= 10 and all(row[2].endswith("%") or row[2] == "—"
                                          for row in departments)
    hazard = next(r for r in win.quality.indicator_rows() if r[0] == "安全生产隐患整改率")
    assert "三港乡" in hazard[4]
    assert float(hazard[3].rstrip("%")) < 100
    # Wide enough (a laptop's 1366 px will do in Chinese), the two tables sit side by side,
    # every column whole.
    page = win.quality
    for width in (1600, 1366):
        win.resize(width, 900)
        app.processEvents()
        left, right = (t.mapTo(page, t.rect().topLeft()) for t in (page.departments,
                                                                    page.indicators))
        assert right.x() > left.x() and right.y() == left.y(), width
        for table in (page.departments, page.indicators):
            assert table.horizontalHeader().length() <= table.viewport().width(), width
    win.escape()
    assert not win.showing_quality
