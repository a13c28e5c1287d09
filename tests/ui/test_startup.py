"""Start-up: the first frame is the final layout, and what is not on it (alert evaluation, the
other pages, pyqtgraph) waits until it is needed."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from cockpit.ui.app import LiveWarehouse, _application, after_first_paint, build_window
from cockpit.warehouse.demo import TOWNSHIP_CODES

TAOXI = TOWNSHIP_CODES["桃溪镇"]


@contextmanager
def new_window(demo_db, qtbot, **options):
    """A window of its own (not shared: these tests are about how it starts), not evaluating
    unless told."""
    _application()
    warehouse = LiveWarehouse(demo_db)
    win = build_window(warehouse, **{"evaluate": False, **options})
    qtbot.addWidget(win)
    try:
        yield win
    finally:
        win.close()
        win.watcher.stop(wait_s=60)
        warehouse.close()


def test_alert_evaluation_starts_once_after_the_first_frame_is_painted(demo_db, qtbot):
    calls = []
    with new_window(demo_db, qtbot) as win:
        after_first_paint(win, lambda: calls.append(win.isVisible()), fallback_ms=2000)
        qtbot.wait(50)
        assert calls == []                       # built, not painted yet: nothing started
        win.resize(1280, 720)
        win.show()
        qtbot.waitUntil(lambda: bool(calls), timeout=1500)   # the paint, not the fallback
        qtbot.wait(2100)                         # nor again at the fallback
        assert calls == [True]


def test_a_window_that_evaluates_alerts_starts_only_once_its_first_frame_is_painted(demo_db,
                                                                                    qtbot):
    with new_window(demo_db, qtbot, evaluate=True, size=(1280, 720)) as win:
        qtbot.wait(300)
        assert not win.watcher.busy and win.watcher.runs == 0
        win.show()
        qtbot.waitUntil(lambda: win.watcher.busy or win.watcher.runs > 0, timeout=2000)


def test_the_first_frame_is_laid_out_for_the_size_it_is_shown_at(demo_db, qtbot):
    """Built at the default 640×480 (the laptop layout, small text), resized, then shown: the
    frame painted first is already the 16:9 layout at full scale, not corrected a moment later."""
    painted = []
    with new_window(demo_db, qtbot) as win:
        assert win.layout_mode == "laptop"
        after_first_paint(win, lambda: painted.append((win.layout_mode, round(win.scale, 2))))
        win.resize(1920, 1080)
        win.show()
        qtbot.waitUntil(lambda: bool(painted), timeout=2000)
        assert painted == [("16:9", 1.0)]
        assert win.kpis.geometry().width() > 400    # the panels have the 16:9 room


def test_pages_not_on_the_first_frame_are_built_when_first_opened_and_then_work(demo_db, qtbot):
    with new_window(demo_db, qtbot, size=(1600, 900)) as win:
        assert win.layout_mode == "16:9"          # laid out for `size` before it is shown
        win.show()
        with qtbot.waitActive(win):               # its keyboard shortcuts answer
            win.activateWindow()
        assert win.page_name == "cockpit"
        assert win.pages.count() == 1             # the cockpit page alone exists
        assert win.findChild(QWidget, "townshipDetail") is None

        win.ctx.select(region=TAOXI)
        qtbot.keyClick(win, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        assert win.page_name == "detail"
        assert win.detail.isVisible() and win.detail.region == TAOXI
        assert win.detail.name_label.text().startswith("桃溪镇")
        assert win.pages.count() == 2
        qtbot.keyClick(win, Qt.Key.Key_Escape)
        assert win.page_name == "cockpit" and not win.detail.isVisible()

        qtbot.mouseClick(win.header.quality_button, Qt.MouseButton.LeftButton)
        assert win.page_name == "quality" and win.quality.isVisible()
        qtbot.keyClick(win, Qt.Key.Key_Escape)
        qtbot.mouseClick(win.header.plan_button, Qt.MouseButton.LeftButton)
        assert win.page_name == "plan" and win.plan.isVisible() and win.plan.row_texts()
        qtbot.keyClick(win, Qt.Key.Key_Escape)
        assert win.page_name == "cockpit"
        # Opened again, each page is the one built the first time.
        win.ctx.detail_requested.emit(TAOXI)
        assert win.pages.count() == 4 and win.page_name == "detail"


def test_launching_imports_neither_pyqtgraph_nor_the_pages_not_shown(demo_db, tmp_path):
    """What the cockpit imports up to its first frame, as Python itself lists it."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COCKPIT_TIMING="exit",
               COCKPIT_HOME=str(tmp_path))
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "cockpit", "--db",
                          str(demo_db), "--size", "1280x720"], env=env, capture_output=True,
                         text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "first paint" in run.stderr
    imported = {line.rpartition("|")[2].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    assert {"cockpit.ui.main_window", "cockpit.ui.map.panel", "duckdb"} <= imported
    not_needed = {"pyqtgraph", "cockpit.ui.detail_view", "cockpit.ui.quality_page",
                  "cockpit.ui.alert_centre", "cockpit.ui.plan_page", "cockpit.ui.briefing",
                  "cockpit.ui.import_dialog"}
    assert not imported & not_needed
