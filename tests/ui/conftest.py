"""Widget tests must leave nothing behind: a window left open after a test fails that test."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

_POPUPS = Qt.WindowType.ToolTip | Qt.WindowType.Popup


@pytest.fixture(autouse=True)
def no_leaked_windows(qapp):
    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    yield
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets()
              if w.isVisible() and id(w) not in before and not w.windowFlags() & _POPUPS]
    for w in leaked:  # close them so one leak does not fail every later test
        w.close()
    assert not leaked, "windows left open: " + ", ".join(
        f"{type(w).__name__}({w.objectName()!r})" for w in leaked)

