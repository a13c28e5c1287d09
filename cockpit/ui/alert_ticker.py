"""New critical alerts cannot be missed on a wall: a flashing red ticker under the header, and the
evaluation of alerts off the GUI thread whenever a new snapshot arrives or another window acts."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton

from ..alerts.store import AlertRecord, SyncResult
from .context import CockpitContext

_TEXT = {"zh_CN": {"new": "新红色预警 {n} 条", "view": "查看", "dismiss": "知道了"},
         "en": {"new": "{n} new critical alert(s)", "view": "Show", "dismiss": "Dismiss"}}


class AlertTicker(QFrame):
    """Hidden until a critical alert is raised or reopened; then it flashes until dismissed."""

    FLASH_MS = 500
    FLASHES = 40  # 20 seconds of flashing, then it stays lit until dismissed

    def __init__(self, ctx: CockpitContext, sound: bool = False, parent=None):
        super().__init__(parent)
        self.setObjectName("alertTicker")
        self.ctx = ctx
        self.sound = sound
        t = _TEXT[ctx.lang]
        self.label = QLabel(objectName="tickerText")
        self.view_button = QPushButton(t["view"], objectName="tickerButton")
        self.dismiss_button = QPushButton(t["dismiss"], objectName="tickerButton")
        self.view_button.clicked.connect(self.show_first)
        self.dismiss_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 4, 14, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.view_button)
        layout.addWidget(self.dismiss_button)
        self.alerts: list[AlertRecord] = []
        self._flashes = 0
        self._timer = QTimer(self, interval=self.FLASH_MS)
        self._timer.timeout.connect(self._flash)
        self._expiry = QTimer(self, singleShot=True)
        self._expiry.timeout.connect(self._expire)
        self.hide()

    # On a wall nobody clicks 知道了: the ticker goes out by itself after this many ms.
    wall_timeout_ms = 0

    def set_wall(self, on: bool, timeout_s: float = 300.0) -> None:
        self.view_button.setVisible(not on)
        self.dismiss_button.setVisible(not on)
        self.wall_timeout_ms = int(timeout_s * 1000) if on else 0

    def announce(self, alerts: list[AlertRecord]) -> None:
        critical = [a for a in alerts if a.severity == "红" and a.is_open]
        if not critical:
            return
        self.alerts = critical + [a for a in self.alerts if a.id not in {c.id for c in critical}]
        t = _TEXT[self.ctx.lang]
        first = self.alerts[0]
        self.label.setText(f"⚠ {t['new'].format(n=len(self.alerts))}：{first.message}")
        self.label.setToolTip("<br>".join(a.message for a in self.alerts[:20]))
        self._flashes = 0
        self._timer.start()
        self.show()
        if self.wall_timeout_ms:
            self._expiry.start(self.wall_timeout_ms)   # a newer alert restarts it
        if self.sound:
            QApplication.beep()

    def _flash(self) -> None:
        self._flashes += 1
        self.setProperty("lit", self._flashes % 2 == 0)
        self.style().unpolish(self)
        self.style().polish(self)
        if self._flashes >= self.FLASHES:
            self._timer.stop()
            self.setProperty("lit", True)
            self.style().polish(self)

    @property
    def flashing(self) -> bool:
        return self._timer.isActive()

    def show_first(self) -> None:
        if not self.alerts:
            return
        alert = self.alerts[0]
        changes = {"region": alert.region}
        if alert.indicator in self.ctx.queries.indicator_by_code:
            changes["indicator"] = alert.indicator
        if alert.period_date in self.ctx.queries.months:
            changes["period"] = alert.period_date
        self.ctx.select(**changes)

    def _expire(self) -> None:
        if not self.flashing:
            self.dismiss()

    def dismiss(self) -> None:
        self._timer.stop()
        self.alerts = []
        self.hide()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.show_first()


class AlertWatcher(QObject):
    """Evaluates alerts in a worker thread (newest request wins: requests during a run coalesce
    into one more run) and notices changes other windows make to the shared alert store."""

    evaluated = Signal(object)   # SyncResult, delivered on the GUI thread
    failed = Signal(str)

    POLL_MS = 1500

    def __init__(self, ctx: CockpitContext, ticker: AlertTicker | None = None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.ticker = ticker
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._seq = ctx.alerts.latest_seq() if ctx.alerts else 0
        self.evaluated.connect(self._on_evaluated)
        self.failed.connect(self._on_failed)
        self._poll = QTimer(self, interval=self.POLL_MS)
        self._poll.timeout.connect(self._check_store)
        self._poll.start()
        self.last_error: str | None = None
        self.runs = 0
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        if self.ctx.alerts is None:
            return
        with self._lock:
            if self._running:
                self._pending = True
                return
            self._running = True
        self._thread = threading.Thread(target=self._run, name="alert-evaluation", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._running

    def _run(self) -> None:
        while True:
            try:
                result = self.ctx.alerts.evaluate()
                self.evaluated.emit(result)
            except Exception as exc:  # a bad rules file or warehouse must not kill the wall
                self.failed.emit(str(exc))
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False

    def _on_evaluated(self, result: SyncResult) -> None:
        self.runs += 1
        self.last_error = None
        fresh = set(result.raised) | set(result.reopened)
        if self.ticker is not None and fresh:
            alerts = [a for a in self.ctx.alerts.list(open_only=True) if a.id in fresh]
            self.ticker.announce(alerts)
        self._seq = self.ctx.alerts.latest_seq()
        self.ctx.alerts_changed.emit()

    def _on_failed(self, message: str) -> None:
        self.runs += 1
        self.last_error = message

    def _check_store(self) -> None:
        if self.ctx.alerts is None:
            return
        try:
            seq = self.ctx.alerts.latest_seq()
        except Exception:  # the store is busy or briefly unavailable: try at the next tick
            return
        if seq != self._seq:
            self._seq = seq
            self.ctx.alerts_changed.emit()

    def stop(self, wait_s: float = 0.0) -> None:
        """Stop polling and drop a queued evaluation; with `wait_s`, also let a running one
        finish (an interpreter exiting under a thread inside DuckDB aborts the process)."""
        self._poll.stop()
        with self._lock:
            self._pending = False
        thread = self._thread
        if wait_s > 0 and thread is not None and thread.is_alive():
            thread.join(wait_s)
