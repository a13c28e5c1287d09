"""A cockpit window for a test module: opened once over a warehouse, closed after."""
from __future__ import annotations

from contextlib import contextmanager

import pytest


@contextmanager
def open_window(db, home, lang: str = "zh_CN", alerts: bool = False):
    """A 1920×1080 window over `db` with COCKPIT_HOME at `home`, shown; `alerts`: the alert
    rules evaluated once, synchronously, before it is shown."""
    from cockpit.ui.app import LiveWarehouse, _application, build_window

    env = pytest.MonkeyPatch()
    env.setenv("COCKPIT_HOME", str(home))
    _application()
    warehouse = LiveWarehouse(db)
    win = build_window(warehouse, evaluate=False, lang=lang)
    if alerts:
        win.ctx.alerts.evaluate(warehouse.snapshot)
        win.ctx.alerts_changed.emit()
    win.resize(1920, 1080)
    win.show()
    try:
        yield win
    finally:
        win.close()
        win.watcher.stop(wait_s=60)
        warehouse.close()
        env.undo()
