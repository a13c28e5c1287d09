"""Start-up: what is not on the first frame (alert evaluation) waits for it."""
from __future__ import annotations

from cockpit.ui.app import LiveWarehouse, _application, after_first_paint, build_window


def test_alert_evaluation_starts_once_after_the_first_frame_is_painted(demo_db, qtbot):
    _application()
    warehouse = LiveWarehouse(demo_db)
    win = build_window(warehouse, evaluate=False)
    qtbot.addWidget(win)
    calls = []
    try:
        after_first_paint(win, lambda: calls.append(win.isVisible()), fallback_ms=2000)
        qtbot.wait(50)
        assert calls == []                       # built, not painted yet: nothing started
        win.resize(1280, 720)
        win.show()
        qtbot.waitUntil(lambda: bool(calls), timeout=1500)   # the paint, not the fallback
        qtbot.wait(2100)                         # nor again at the fallback
        assert calls == [True]
    finally:
        win.close()
        warehouse.close()
