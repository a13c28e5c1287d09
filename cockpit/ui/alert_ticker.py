"""New critical alerts cannot be missed on a wall: a flashing red ticker under the header, and the
evaluation of alerts off the GUI thread whenever a new snapshot arrives or another window acts."""
from __future__ import annotations

import sqlite3
import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QPushButton

from ..alerts.store import AlertRecord, SyncResult
from .context import CockpitContext

_TEXT = {"zh_CN": {"new": "新红色预警 {n} 条", "view": "查看", "dismiss": "知道了",
                   "store": "预警处置库无法访问（{reason}）：{path}。预警列表保持最后一次读取的内容，正在重试",
                   "evaluation": "预警评估失败（{reason}），下一份数据快照到来时重试",
                   "locked": "被其他程序长时间占用", "gone": "无法打开，所在目录可能已被移走"},
         "en": {"new": "{n} new critical alert(s)", "view": "Show", "dismiss": "Dismiss",
                "store": "Alert store unreachable ({reason}): {path}. The alert lists are kept "
                         "as last read; retrying",
                "evaluation": "Alert evaluation failed ({reason}); retried with the next "
                              "snapshot",
                "locked": "held by another program", "gone": "cannot be opened; its folder may "
                                                            "have been moved"}}

# What a store that is locked or gone raises; anything else is a bug and must surface.
STORE_FAILURES = (sqlite3.Error, OSError)
_RAISING = ("raise", "reopen", "ignore_expired")


def store_reason(exc: Exception, lang: str = "zh_CN") -> str:
    """Why the operations store failed, in the few words an operator needs."""
    t = _TEXT.get(lang, _TEXT["zh_CN"])
    text = getattr(exc, "en", None) if lang == "en" else None
    text = text or str(exc)
    if "locked" in text or "busy" in text:
        return t["locked"]
    if "unable to open" in text or isinstance(exc, FileNotFoundError):
        return t["gone"]
    return " ".join(text.split())[:160]


def alert_message(alert: AlertRecord, lang: str) -> str:
    """The alert's sentence in the UI's language (English made by the engine beside it)."""
    return (getattr(alert, "message_en", "") or alert.message) if lang == "en" else alert.message


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
        lang = self.ctx.lang
        colon = ": " if lang == "en" else "："
        self.label.setText(f"⚠ {t['new'].format(n=len(self.alerts))}{colon}"
                           f"{alert_message(first, lang)}")
        self.label.setToolTip("<br>".join(alert_message(a, lang) for a in self.alerts[:20]))
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
    notified = Signal()          # a shared store (PostgreSQL) said that something changed
    reachable = Signal(bool, str)

    POLL_MS = 1500
    # A shared store tells every cockpit of a change (LISTEN/NOTIFY); polling it is only the
    # safety net under that.
    NOTIFIED_POLL_MS = 15000

    def __init__(self, ctx: CockpitContext, ticker: AlertTicker | None = None, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.ticker = ticker
        self._lock = threading.Lock()
        self._running = False
        self._pending = False
        self._seq = 0
        self.store_error: str | None = None
        self.evaluated.connect(self._on_evaluated)
        self.failed.connect(self._on_failed)
        self._poll = QTimer(self, interval=self.POLL_MS)
        self._poll.timeout.connect(self._check_store)
        self._poll.start()
        self.last_error: str | None = None
        self.runs = 0
        self._thread: threading.Thread | None = None
        try:
            self._seq = ctx.alerts.latest_seq() if ctx.alerts else 0
        except STORE_FAILURES:
            self._seq = -1   # the first poll that reaches the store refreshes the lists
        self._listening = threading.Event()
        self._listener: threading.Thread | None = None
        store = ctx.alerts.store if ctx.alerts is not None else None
        if hasattr(store, "listen"):
            self.notified.connect(self._check_store)
            self.reachable.connect(self._on_reachable)
            self._poll.setInterval(self.NOTIFIED_POLL_MS)
            self._listener = threading.Thread(
                target=store.listen, name="alert-listener", daemon=True,
                args=(self._heard, self._heard_state, self._listening))
            self._listener.start()

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
                signal, outcome = self.evaluated, self.ctx.alerts.evaluate()
            except Exception as exc:  # a bad rules file or warehouse must not kill the wall
                signal, outcome = self.failed, str(exc)
            try:
                signal.emit(outcome)
            except RuntimeError:      # the window was closed and deleted meanwhile: no one to tell
                return
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False

    def _on_evaluated(self, result: SyncResult) -> None:
        self.runs += 1
        self.last_error = None
        self.ctx.clear_problem("alert-evaluation")
        # Known alerts' figures change with a new snapshot without an audit row: refresh.
        self._check_store(force=True)

    def _on_failed(self, message: str) -> None:
        self.runs += 1
        self.last_error = message
        t = _TEXT.get(self.ctx.lang, _TEXT["zh_CN"])
        self.ctx.report_problem("alert-evaluation", t["evaluation"].format(
            reason=" ".join(message.split())[:160]))

    def _check_store(self, force: bool = False) -> None:
        """Poll the store: lists refresh when anything changed, and critical alerts raised or
        reopened since the last look flash in the ticker, whoever raised them (this window's
        evaluation, another screen's, a drill). A store that is locked or gone goes on the
        banner (the lists keep what they show); coming back refreshes them."""
        service = self.ctx.alerts
        if service is None:
            return
        try:
            seq = service.latest_seq()
            fresh = self._raised_since(service, seq) if seq != self._seq else []
        except STORE_FAILURES as exc:
            t = _TEXT.get(self.ctx.lang, _TEXT["zh_CN"])
            self.store_error = store_reason(exc, self.ctx.lang)
            self.ctx.report_problem("operations", t["store"].format(
                reason=self.store_error, path=service.store.location))
            return
        recovered = self.store_error is not None
        if recovered:
            self.store_error = None
            self.ctx.clear_problem("operations")
        if fresh and self.ticker is not None:
            self.ticker.announce(fresh)
        if seq != self._seq or recovered or force:
            self._seq = seq
            self.ctx.alerts_changed.emit()

    def _heard(self) -> None:          # (the listener's thread)
        if not self._listening.is_set():
            try:
                self.notified.emit()
            except RuntimeError:   # the window went away under the listener
                self._listening.set()

    def _heard_state(self, up: bool, reason: str) -> None:          # (the listener's thread)
        if not self._listening.is_set():
            try:
                self.reachable.emit(up, reason)
            except RuntimeError:
                self._listening.set()

    def _on_reachable(self, up: bool, reason: str) -> None:
        """The listener lost or regained the shared store: say so at once (the store now
        refuses calls at once, with the reason); back, catch up on whatever changed meanwhile."""
        self._check_store(force=up)

    def _raised_since(self, service, seq: int) -> list:
        """Critical open alerts of this warehouse raised or reopened after the last look."""
        if self._seq < 0 or self.ticker is None:
            return []
        return service.raised_since(self._seq, seq, _RAISING, severity="红")

    def stop(self, wait_s: float = 0.0) -> None:
        """Stop polling and drop a queued evaluation; with `wait_s`, also let a running one
        finish (an interpreter exiting under a thread inside DuckDB aborts the process)."""
        self._poll.stop()
        self._listening.set()
        with self._lock:
            self._pending = False
        thread = self._thread
        if wait_s > 0 and thread is not None and thread.is_alive():
            thread.join(wait_s)
