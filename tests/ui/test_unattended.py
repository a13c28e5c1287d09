"""A wall left alone for months: the warehouse folder vanishing and coming back, snapshots that
cannot be read, the operations store locked or gone, and snapshots that drop the selected month.
The window keeps its last good picture, says on the banner what is wrong and since when, never
shows a traceback or a modal box, and recovers by itself."""
from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import date

import pytest
from PySide6.QtWidgets import QMessageBox

from cockpit.core.formatting import month_label
from cockpit.ui.app import LiveWarehouse, _application, _watch, build_window
from cockpit.warehouse.demo import TOWNSHIP_CODES
from cockpit.warehouse.store import SnapshotStore

pytestmark = pytest.mark.heavy(40)

TAOXI = TOWNSHIP_CODES["桃溪镇"]
TONGQIN = TOWNSHIP_CODES["桐琴镇"]


def publish_copy(db, until: date | None = None, extra_month: date | None = None,
                 version: int | None = None) -> int:
    """Publish the current data (or that of `version`) again as a new snapshot, optionally
    without the months after `until`, or with `extra_month` added (the last month's figures)."""
    store = SnapshotStore(db)
    source = store.snapshot_path(store.current() if version is None else store.manifest(version))
    with store.writer(note="test") as con:
        con.execute(f"ATTACH '{source}' AS cur (READ_ONLY)")
        tables = [name for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'cur'").fetchall()]
        for name in tables:
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM cur."{name}"')
        if until is not None:
            con.execute("DELETE FROM observations WHERE period > ?", [until])
            con.execute("UPDATE meta SET value = ? WHERE key = 'as_of'", [f"{until:%Y-%m}"])
        if extra_month is not None:
            con.execute("INSERT INTO observations SELECT indicator, ?, region, value, value, NULL"
                        " FROM observations WHERE period = (SELECT max(period) FROM"
                        " observations)", [extra_month])
            con.execute("UPDATE meta SET value = ? WHERE key = 'as_of'",
                        [f"{extra_month:%Y-%m}"])
        con.execute("DETACH cur")
    return store.current().version


def next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


@pytest.fixture
def live(demo_db, tmp_path, qtbot):
    """A window on a writable copy of the demo, following it every 100 ms."""
    _application()
    db = tmp_path / "wh"
    shutil.copytree(demo_db, db, ignore=shutil.ignore_patterns("leases"))
    warehouse = LiveWarehouse(db)
    win = build_window(warehouse, evaluate=False)
    _watch(win, warehouse, interval_ms=100)
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win, warehouse, db
    win.close()
    warehouse.close()


def count_signals(ctx) -> dict:
    seen = {"changed": 0, "reloaded": 0}
    ctx.changed.connect(lambda *a: seen.__setitem__("changed", seen["changed"] + 1))
    ctx.reloaded.connect(lambda: seen.__setitem__("reloaded", seen["reloaded"] + 1))
    return seen


def test_a_snapshot_without_the_selected_month_moves_every_panel_to_a_month_it_has(live, qtbot):
    win, warehouse, db = live
    last = win.ctx.queries.months[-1]
    added = next_month(last)
    publish_copy(db, extra_month=added)
    qtbot.waitUntil(lambda: added in win.ctx.queries.months, timeout=3000)
    win.ctx.select(region=TAOXI)
    win.ctx.select(period=added)
    seen = count_signals(win.ctx)
    version = publish_copy(db, until=last)   # the month is withdrawn again
    qtbot.waitUntil(lambda: win.ctx.queries.snapshot.version == version, timeout=3000)

    assert win.ctx.state.period == last and win.ctx.state.region == TAOXI
    # one state change: the selection was fixed before anything repainted
    assert seen == {"changed": 0, "reloaded": 1}
    label = month_label(last)
    assert label in win.period_bar.current_label.text()
    assert label in win.map.title_text()
    assert win.trend.marker_period == last
    assert month_label(added) not in win.header.freshness.text()
    # going back never lands on the month that is gone
    while win.ctx.selection.back():
        assert win.ctx.state.period in win.ctx.queries.months


def test_the_warehouse_folder_vanishing_keeps_the_picture_and_recovers_by_itself(live, qtbot):
    win, warehouse, db = live
    win.ctx.select(region=TAOXI)
    kpis_before = win.kpis.title_text()
    version = warehouse.snapshot.version
    away = db.with_name("away")
    db.rename(away)   # the share dropped / the folder renamed away
    qtbot.waitUntil(lambda: "warehouse" in win.banner.problems(), timeout=3000)
    assert win.banner.isVisible()
    text = win.banner.text()
    assert str(db) in text and "自 " in text and "起" in text and "每秒重试" in text
    assert win.kpis.title_text() == kpis_before        # nothing emptied
    # the open snapshot keeps serving while its file handle works
    win.ctx.select(region=TONGQIN)
    assert win.map.highlighted_region == TONGQIN
    since = win.banner.problems()["warehouse"].since
    qtbot.wait(300)
    assert win.banner.problems()["warehouse"].since == since   # retrying keeps "since when"

    seen = count_signals(win.ctx)
    away.rename(db)
    qtbot.waitUntil(lambda: "warehouse" not in win.banner.problems(), timeout=3000)
    assert not win.banner.isVisible()
    assert seen["reloaded"] == 1                       # reopened once, not every second
    assert warehouse.snapshot.version == version
    assert win.ctx.state.region == TONGQIN and win.map.highlighted_region == TONGQIN


def test_a_newer_snapshot_that_cannot_be_opened_is_named_and_a_good_one_is_taken(live, qtbot):
    win, warehouse, db = live
    before = warehouse.snapshot.version
    broken = publish_copy(db)
    path = SnapshotStore(db).snapshot_path(SnapshotStore(db).manifest(broken))
    # published, then cut short on disk (a copy interrupted on a share)
    path.write_bytes(path.read_bytes()[:20_000])
    qtbot.waitUntil(lambda: "warehouse" in win.banner.problems(), timeout=3000)
    assert f"{broken:06d}" in win.banner.text() and warehouse.snapshot.version == before
    assert win.ctx.queries.snapshot.version == before
    good = publish_copy(db, version=before)     # a writer repairing the warehouse
    qtbot.waitUntil(lambda: warehouse.snapshot.version == good, timeout=3000)
    assert "warehouse" not in win.banner.problems()


def test_the_open_snapshot_failing_to_read_holds_the_picture_without_a_traceback(live, qtbot):
    # pytest-qt fails this test if any exception escapes into Qt's event loop
    win, warehouse, db = live
    win.ctx.select(region=TAOXI)
    path = warehouse.store.snapshot_path(warehouse.snapshot.manifest)
    original = path.read_bytes()
    path.write_bytes(original[:65_536])            # truncated under the open window
    # DuckDB still holds most of a small file in its buffers; a dropped share fails every
    # read, as the window's cursor does once closed
    warehouse.snapshot.cursor().close()

    def picture():
        return (win.map.highlighted_region, win.ranking.highlighted_region,
                win.kpis.title_text(), win.trend.series_names(), win.trend.marker_period,
                win.events.title_text(), win.alerts.title_text())

    shown = picture()
    # a domain, month and indicator nobody has asked for yet: these queries must read the
    # file (a county's figures already read are answered from memory)
    win.ctx.select(region=TONGQIN, domain="environment", indicator="env_pm25",
                   period=win.ctx.queries.months[3])
    qtbot.waitUntil(lambda: "warehouse" in win.banner.problems(), timeout=3000)
    assert "读取失败" in win.banner.text()
    # never half way: panels that could answer from memory did not move on without the rest
    assert picture() == shown
    qtbot.wait(400)   # retried: the file is still cut short
    assert "warehouse" in win.banner.problems()
    win.ctx.select(region=TAOXI)                   # held: panels keep their last good picture
    assert picture() == shown
    path.write_bytes(original)                     # the file is whole again
    qtbot.waitUntil(lambda: "warehouse" not in win.banner.problems(), timeout=3000)
    assert win.map.highlighted_region == TAOXI    # caught up with the selection
    assert win.trend.marker_period == win.ctx.queries.months[3]


@pytest.fixture
def with_alerts(live):
    win, warehouse, db = live
    win.ctx.alerts.evaluate(warehouse.snapshot)
    win.ctx.alerts_changed.emit()
    return win, warehouse, db


def test_a_locked_operations_store_never_freezes_the_window(with_alerts, qtbot):
    win, warehouse, db = with_alerts
    panel = win.alerts
    ids = panel.alert_ids()
    assert ids
    locker = sqlite3.connect(win.ctx.alerts.store.path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE alerts SET note = note")   # another program holds it, for long
    try:
        t = time.perf_counter()
        assert not panel.perform("ack", ids[0], by="值班员甲")
        assert time.perf_counter() - t < 1.0               # no frozen GUI thread
        assert "未能保存" in panel.message.text()
        assert "alert-action" in win.banner.problems()
        win.ctx.select(region=TAOXI)                        # a refresh the store refuses
        win.ctx.alerts_changed.emit()
        assert panel.alert_ids() == ids                     # the last list is kept
        qtbot.waitUntil(lambda: "operations" in win.banner.problems(), timeout=4000)
        assert "占用" in win.banner.text()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    qtbot.waitUntil(lambda: "operations" not in win.banner.problems(), timeout=4000)
    assert panel.perform("ack", panel.alert_ids()[0], by="值班员甲")
    assert "alert-action" not in win.banner.problems()


def test_the_operations_store_folder_gone_and_back(with_alerts, qtbot):
    win, warehouse, db = with_alerts
    state = win.ctx.alerts.store.path.parent
    ids = win.alerts.alert_ids()
    badges = win.map.alert_badges
    away = state.with_name("state-away")
    state.rename(away)
    qtbot.waitUntil(lambda: "operations" in win.banner.problems(), timeout=4000)
    win.ctx.alerts_changed.emit()
    assert win.alerts.alert_ids() == ids and win.map.alert_badges == badges
    assert not win.alerts.perform("ack", ids[0], by="值班员甲")
    away.rename(state)
    qtbot.waitUntil(lambda: "operations" not in win.banner.problems(), timeout=4000)
    assert win.alerts.perform("ack", ids[0], by="值班员甲")


def test_no_background_problem_opens_a_modal_box(live, qtbot, monkeypatch):
    opened = []
    for name in ("critical", "warning", "information", "question", "exec"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: opened.append(a) or 0)
    win, warehouse, db = live
    away = db.with_name("away")
    db.rename(away)
    qtbot.waitUntil(lambda: "warehouse" in win.banner.problems(), timeout=3000)
    away.rename(db)
    qtbot.waitUntil(lambda: "warehouse" not in win.banner.problems(), timeout=3000)
    assert opened == []


def _objects(win) -> int:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    return len(win.findChildren(QObject))


def test_opening_and_closing_dialogs_again_and_again_leaves_nothing_behind(with_alerts, qtbot):
    win, warehouse, db = with_alerts
    panel = win.alerts
    panel.select_alert(panel.alert_ids()[0])

    def import_dialog():
        dialog = win.open_import()
        dialog.close()

    def history():
        panel.request("history")
        panel.history_dialog.close()

    def action():
        panel.request("assign")
        panel.action_dialog.reject()

    for open_and_close in (import_dialog, history, action):
        open_and_close()                       # the first may build what is reused
        before = _objects(win)
        for _ in range(50):
            open_and_close()
        assert _objects(win) - before <= 2, open_and_close.__name__


def test_a_critical_alert_raised_by_another_screen_flashes_here(live, qtbot):
    from cockpit.alerts.store import AlertService
    from cockpit.bench.harness import inject_red_alert

    win, warehouse, db = live
    other = AlertService(db, state_path=win.ctx.alerts.store.path)   # another window's store
    alert = inject_red_alert(other, warehouse.queries, 3)
    qtbot.waitUntil(lambda: win.ticker.isVisible(), timeout=5000)
    assert win.ticker.flashing and win.ticker.alerts[0].id == alert
    assert alert in win.alerts.alert_ids()      # the county lists every township's alerts
    win.ticker.dismiss()
