"""The alert panel in the cockpit: listed, filtered, sorted, selectable everywhere, acted upon, and
new critical alerts announced; changes by another window show up without a restart."""
from __future__ import annotations

import re
import shutil
from datetime import date

import pytest
from PySide6.QtCore import Qt

from cockpit.alerts.store import AlertService, default_state_path
from cockpit.ui.app import LiveWarehouse, _application, build_window
from cockpit.warehouse.demo import TOWNSHIP_CODES

LIUCHENG = TOWNSHIP_CODES["柳城畲族镇"]


@pytest.fixture(scope="module")
def evaluated_store(demo_db, tmp_path_factory):
    """The demo's alerts evaluated once for the module; each test gets a copy to act on."""
    path = tmp_path_factory.mktemp("ops") / "operations.sqlite"
    warehouse = LiveWarehouse(demo_db)
    service = AlertService(demo_db, state_path=path)
    service.evaluate(warehouse.snapshot)
    del service                         # SQLite closes with its connection
    warehouse.close()
    return path


@pytest.fixture
def window(demo_db, evaluated_store, qtbot):
    _application()
    state = default_state_path()        # COCKPIT_HOME is the test's own (tests/conftest.py)
    state.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(evaluated_store, state)
    warehouse = LiveWarehouse(demo_db)
    win = build_window(warehouse, evaluate=False)
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    win.ctx.alerts_changed.emit()
    yield win
    win.close()
    warehouse.close()


def test_alerts_are_listed_with_counts_most_severe_first(window):
    panel = window.alerts
    assert panel.row_count() > 0
    counts = panel.counts()
    assert set(counts) == {"红", "橙", "黄"} and sum(counts.values()) == panel.row_count()
    severities = [window.ctx.alerts.get(i).severity for i in panel.alert_ids()]
    assert severities == sorted(severities, key="红橙黄".find)
    panel.table.sortItems(0, Qt.SortOrder.DescendingOrder)
    severities = [window.ctx.alerts.get(i).severity for i in panel.alert_ids()]
    assert severities == sorted(severities, key="红橙黄".find, reverse=True)


@pytest.fixture
def evaluating_window(demo_db, qtbot):
    """A window that evaluates the alerts itself, in the background, as at launch."""
    _application()
    warehouse = LiveWarehouse(demo_db)
    win = build_window(warehouse)
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    qtbot.waitUntil(lambda: win.watcher.runs >= 1, timeout=20_000)
    yield win
    win.close()
    warehouse.close()


def test_new_critical_alerts_flash_in_the_ticker(evaluating_window):
    window = evaluating_window
    assert window.ticker.isVisible() and window.ticker.flashing
    assert "柳城畲族镇" in window.ticker.label.toolTip() or window.ticker.alerts
    window.ticker.dismiss()
    assert not window.ticker.isVisible()


def test_selecting_a_township_filters_the_alerts(window):
    window.ctx.select(region=LIUCHENG)
    panel = window.alerts
    regions = {window.ctx.alerts.get(i).region for i in panel.alert_ids()}
    assert regions == {LIUCHENG}
    assert "柳城畲族镇" in panel.title_text()
    panel.region_only.setChecked(False)
    assert len({window.ctx.alerts.get(i).region for i in panel.alert_ids()}) > 1


def test_clicking_an_alert_selects_its_township_indicator_and_period_everywhere(window, qtbot):
    panel = window.alerts
    target = next(a for a in window.ctx.alerts.list(open_only=True)
                  if a.region == LIUCHENG and a.indicator == "gov_events_closed")
    window.ctx.select(period=date(2025, 6, 1), indicator="env_pm25")
    panel.region_only.setChecked(False)
    panel.select_alert(target.id)
    row = panel.alert_ids().index(target.id)
    rect = panel.table.visualItemRect(panel.table.item(row, 4))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    state = window.ctx.state
    assert (state.region, state.indicator, state.period) == (
        LIUCHENG, "gov_events_closed", date(2025, 12, 1))
    assert window.map.highlighted_region == LIUCHENG
    assert window.ranking.highlighted_region == LIUCHENG
    assert "柳城畲族镇" in window.trend.series_names()


def test_acknowledge_assign_and_close_from_the_panel(window):
    panel = window.alerts
    alert_id = panel.alert_ids()[0]
    assert panel.perform("ack", alert_id, by="值班员甲")
    assert window.ctx.alerts.get(alert_id).status == "已签收"
    assert panel.perform("assign", alert_id, by="值班员甲", department="县应急管理局",
                         deadline=date(2026, 12, 31))
    assert window.ctx.alerts.get(alert_id).status == "处置中"
    assert not panel.perform("ack", alert_id, by="值班员乙")  # no longer new: refused, explained
    assert panel.message.text()
    assert panel.perform("close", alert_id, by="值班员甲", note="已督办整改到位")
    assert alert_id not in panel.alert_ids()  # the open list no longer shows it
    actions = [e.action for e in window.ctx.alerts.history(alert_id)]
    assert actions[-3:] == ["ack", "assign", "close"]


def test_an_alerts_history_names_each_detail_in_chinese(window):
    panel = window.alerts
    alert_id = panel.alert_ids()[0]
    assert panel.perform("ack", alert_id, by="值班员甲")
    assert panel.perform("assign", alert_id, by="值班员甲", department="县应急管理局",
                         deadline=date(2026, 12, 31))
    panel.select_alert(alert_id)
    panel.request("history")
    dialog = panel.history_dialog
    details = [dialog.table.item(row, 4).text() for row in range(dialog.table.rowCount())]
    dialog.close()
    assert any(d.startswith("级别：") for d in details)           # raised, at its severity
    assert any("责任单位：县应急管理局" in d and "办理期限：" in d for d in details)
    assert not [d for d in details if re.search(r"[a-z_]+：", d)]   # no store keys shown


def test_changes_made_by_another_window_appear_without_restart(window, demo_db, qtbot):
    panel = window.alerts
    alert_id = panel.alert_ids()[0]
    other = AlertService(demo_db)  # another window: same operations store, own connection
    other.ack(alert_id, by="另一屏")
    row = panel.alert_ids().index(alert_id)
    qtbot.waitUntil(lambda: panel.table.item(row, 5).text().startswith("已签收"), timeout=5000)


def test_keyboard_shortcut_opens_the_action_for_the_selected_alert(window, qtbot):
    panel = window.alerts
    panel.table.setFocus()
    panel.select_alert(panel.alert_ids()[0])
    qtbot.keyClick(panel.table, Qt.Key.Key_D)
    dialog = panel.action_dialog
    # open, without a nested event loop: the wall behind it keeps running
    assert dialog is not None and dialog.isVisible() and dialog.action == "assign"
    dialog.reject()
    qtbot.waitUntil(lambda: panel.action_dialog is None)


def test_the_next_letter_acts_on_the_same_alert_after_a_dialog(window, qtbot):
    """A then Return acknowledges; D then works at once (focus used to be lost with the dialog)."""
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    panel = window.alerts
    window.activateWindow()
    panel.table.setFocus()
    alert_id = next(a.id for a in panel.shown_alerts() if a.status == "新预警")
    panel.select_alert(alert_id)
    qtbot.keyClick(panel.table, Qt.Key.Key_A)
    dialog = panel.action_dialog
    box = dialog.findChild(QDialogButtonBox)
    assert [b.text() for b in box.buttons()] in (["确定", "取消"], ["取消", "确定"])
    qtbot.waitUntil(lambda: dialog.isAncestorOf(QApplication.focusWidget()), timeout=5000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.ctx.alerts.get(alert_id).status == "已签收", timeout=5000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.table, timeout=5000)
    qtbot.keyClick(panel.table, Qt.Key.Key_D)
    dialog = panel.action_dialog
    assert dialog is not None and dialog.action == "assign"
    assert dialog.deadline.displayFormat() == "yyyy年M月d日"
    dialog.accept()
    qtbot.waitUntil(lambda: window.ctx.alerts.get(alert_id).status == "处置中", timeout=5000)


def test_townships_with_open_critical_alerts_carry_a_badge_on_the_map(window):
    badges = window.map.alert_badges
    assert badges[LIUCHENG][0] == "红" and badges[TOWNSHIP_CODES["桃溪镇"]][0] == "红"
    assert all(level in ("红", "橙") for level, _ in badges.values())
    for alert in window.ctx.alerts.list(open_only=True, region=LIUCHENG):
        assert window.alerts.perform("ack", alert.id, by="值班员甲")
        assert window.alerts.perform("close", alert.id, by="值班员甲", note="已处置")
    assert LIUCHENG not in window.map.alert_badges


def test_badges_count_the_places_shown_when_the_store_has_tens_of_thousands(window,
                                                                           monkeypatch):
    """A province's or the country's store holds open alerts of tens of thousands of places:
    the map's badges still count only the townships drawn, each its own."""
    before = window.map.alert_badges
    assert before
    service = window.ctx.alerts
    real = service.counts_by_region()
    elsewhere = {f"9{k:08d}": {"红": 2, "橙": 1, "黄": 0} for k in range(30000)}
    monkeypatch.setattr(service, "counts_by_region", lambda: {**elsewhere, **real})
    window.ctx.alerts_changed.emit()
    assert window.map.alert_badges == before
    monkeypatch.setattr(service, "counts_by_region", lambda: {
        **elsewhere, LIUCHENG: {"红": 0, "橙": 4, "黄": 1}})
    window.ctx.alerts_changed.emit()
    assert window.map.alert_badges == {LIUCHENG: ("橙", 4)}


def test_an_empty_closing_note_is_said_without_a_command_line_flag(window):
    panel = window.alerts
    alert = panel.shown_alerts()[0]
    assert not panel.perform("close", alert.id, by="值班员甲", note="  ")
    assert panel.message.text() == "办结说明不能为空"


def test_a_long_list_is_paged_in_the_store_and_says_how_many_there_are(window, monkeypatch):
    panel = window.alerts
    panel.region_only.setChecked(False)
    everything = window.ctx.alerts.list(open_only=True)
    assert len(everything) > 3
    monkeypatch.setattr(panel, "ROW_LIMIT", 3)
    window.ctx.alerts_changed.emit()            # re-read under the smaller page
    assert panel.row_count() == 3 == len(panel.shown_alerts())
    assert [a.id for a in panel.shown_alerts()] == [a.id for a in everything[:3]]
    assert panel.total() == len(everything)
    assert f"共 {len(everything):,} 条" in panel.counts_text()


def test_at_scale_the_first_frame_says_the_alerts_are_being_read_then_lists_them(
        demo_db, evaluated_store, qtbot, monkeypatch):
    """At a province's or the country's size the store is read off the GUI thread once the
    window has painted: until then the panel says it is reading (neither "no open alerts" nor
    a count of nothing) and the map has no badges; when the alerts change, the list stays as
    last read until the new one is in."""
    from cockpit.ui import prewarm

    monkeypatch.setattr(prewarm, "ASYNC_MIN", 1)
    _application()
    state = default_state_path()
    state.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(evaluated_store, state)
    warehouse = LiveWarehouse(demo_db)
    win = build_window(warehouse, evaluate=False)
    qtbot.addWidget(win)
    try:
        panel, service = win.alerts, win.ctx.alerts
        assert "正在读取" in panel.counts_text() and panel.reading
        assert panel.row_count() == 0 and panel.message.text() == ""
        assert win.map.alert_badges == {}
        win.resize(1600, 900)
        win.show()
        qtbot.waitUntil(lambda: not panel.reading and panel.row_count() > 0, timeout=20_000)
        listed = service.list(open_only=True, limit=panel.ROW_LIMIT)
        assert panel.alert_ids() == [a.id for a in listed]
        assert panel.counts() == service.counts_by_severity()
        assert "正在读取" not in panel.counts_text()
        qtbot.waitUntil(lambda: LIUCHENG in win.map.alert_badges, timeout=20_000)
        assert win.map.alert_badges[LIUCHENG][0] == "红"

        shown = panel.alert_ids()
        service.ack(shown[0], by="值班员甲")        # at another desk
        win.ctx.alerts_changed.emit()
        assert panel.reading and panel.alert_ids() == shown
        assert "正在读取" not in panel.counts_text()
        qtbot.waitUntil(lambda: not panel.reading, timeout=20_000)
        assert panel.shown_alerts()[0].status == "已签收"
    finally:
        win.close()
        warehouse.close()
