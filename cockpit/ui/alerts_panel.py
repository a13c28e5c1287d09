"""The alert panel: open alerts with severity, township, indicator and message; acknowledge, assign,
close or ignore them; clicking one selects its township, indicator and period everywhere."""
from __future__ import annotations

import threading

from PySide6.QtCore import QDate, QEvent, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDateEdit, QDialog,
                               QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPlainTextEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from ..alerts.store import (ACKED, CLEARED, CLOSED, IGNORED, IN_PROGRESS, NEW, OPEN_STATUSES,
                            SYSTEM_ACTOR, AlertRecord, AlertStateError)
from ..core.formatting import period_label
from ..core.i18n import alert_status, pick, severity
from . import prewarm, theme
from .alert_ticker import STORE_FAILURES, alert_message, store_reason
from .background import BackgroundReader
from .context import CockpitContext
from .panel import (CountsLabel, Panel, TitleLabel, fit_whole_rows, opaque_viewport,
                    signals_blocked)

_TEXT = {
    "zh_CN": {"title": "预警中心", "all": "全县", "only_region": "仅看所选地区",
              "open": "待处置", "every": "全部", "ack": "签收", "assign": "交办", "close": "办结",
              "ignore": "忽略", "history": "处置记录", "cols": ["级别", "期间", "乡镇（街道）",
                                                          "指标", "预警信息", "状态"],
              "overdue": "超期", "none": "当前没有待处置的预警", "operator": "处置人",
              "department": "责任单位", "deadline": "办理期限", "note": "办结说明",
              "until": "忽略至", "reason": "忽略理由", "pick": "请先在列表中选中一条预警",
              "done": "已{action}：{subject}", "events": "事件",
              "more": "列出前 {n} 条，共 {total:,} 条", "reading": "正在读取…",
              "not_saved": "{action}未能保存（{reason}），请稍后重试",
              "stale": "预警列表暂时无法更新（{reason}），显示的是最后一次读取的内容",
              "ok": "确定", "cancel": "取消", "close_dialog": "关闭", "date_format": "yyyy年M月d日",
              "history_cols": ["时间", "处置人", "操作", "状态", "说明"],
              "tip_status": "状态：{status}", "tip_acked": "，签收 {by} {at}",
              "tip_assigned": "责任单位：{department}，期限 {deadline}", "tip_note": "办结说明：{note}",
              "tip_reopened": "已重新触发 {n} 次", "paren": "（{x}）"},
    "en": {"title": "Alerts", "all": "County", "only_region": "Selected place only",
           "open": "Open", "every": "All", "ack": "Acknowledge", "assign": "Assign",
           "close": "Close", "ignore": "Ignore", "history": "History",
           "cols": ["Level", "Period", "Township", "Indicator", "Message", "Status"],
           "overdue": "overdue", "none": "No open alerts", "operator": "Operator",
           "department": "Department", "deadline": "Deadline", "note": "Closing note",
           "until": "Ignore until", "reason": "Reason", "pick": "Select an alert first",
           "done": "{action}: {subject}", "events": "Events",
           "more": "first {n} of {total:,} listed", "reading": "Reading…",
           "not_saved": "{action} not saved ({reason}); please try again",
           "stale": "Alert list cannot be updated ({reason}); showing it as last read",
           "ok": "OK", "cancel": "Cancel", "close_dialog": "Close", "date_format": "d MMM yyyy",
           "history_cols": ["Time", "By", "Action", "Status", "Details"],
           "tip_status": "Status: {status}", "tip_acked": ", acknowledged by {by} {at}",
           "tip_assigned": "Department: {department}, deadline {deadline}",
           "tip_note": "Closing note: {note}", "tip_reopened": "Raised again {n} times",
           "paren": " ({x})"},
}
# Keyboard: a letter each, while the alert list has focus (the wall operator's hands stay on it).
SHORTCUTS = {"ack": "A", "assign": "D", "close": "C", "ignore": "I", "history": "H"}
SEVERITY_ORDER = "红橙黄"


def _reverse(period: str) -> str:
    """A key that sorts YYYY-MM newest first."""
    return "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in period)


ACTION_EN = {"raise": "Raised", "reopen": "Raised again", "auto_clear": "Cleared",
             "escalate": "Escalated", "ack": "Acknowledged", "assign": "Assigned",
             "close": "Closed", "ignore": "Ignored", "ignore_expired": "Ignore expired"}
# A history entry's details (the store's keys), named in each language; who acted when no one
# did, in English.
DETAILS = {"zh_CN": {"severity": "级别", "from_severity": "原级别", "department": "责任单位",
                     "deadline": "办理期限", "note": "说明", "until": "忽略至", "reason": "忽略理由"},
           "en": {"severity": "Severity", "from_severity": "Was", "department": "Department",
                  "deadline": "Deadline", "note": "Note", "until": "Until", "reason": "Reason"}}
SYSTEM_EN = "System"


def button_texts(box: QDialogButtonBox, t: dict) -> None:
    """Standard buttons in the UI's language (Qt's own say OK/Cancel in a Chinese UI)."""
    for which, key in ((QDialogButtonBox.StandardButton.Ok, "ok"),
                       (QDialogButtonBox.StandardButton.Cancel, "cancel"),
                       (QDialogButtonBox.StandardButton.Close, "close_dialog")):
        button = box.button(which)
        if button is not None:
            button.setText(t[key])


STATUS_COLORS = {NEW: theme.BAD, ACKED: theme.ACCENT_2, IN_PROGRESS: theme.ACCENT,
                 CLOSED: theme.GOOD, IGNORED: theme.TEXT_DIM, CLEARED: theme.TEXT_DIM}


class AlertActionDialog(QDialog):
    """Who acts, and the details the action needs (department and deadline, a note, a reason)."""

    def __init__(self, action: str, alert: AlertRecord, operator: str, department: str,
                 place: str, lang: str = "zh_CN", parent=None):
        super().__init__(parent)
        # One per request, gone when closed: a wall opens these for months.
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        t = pick(_TEXT, lang)
        self.action = action
        self.setWindowTitle(f"{t[action]} · {place}")
        form = QFormLayout(self)
        message = QLabel(alert_message(alert, lang), wordWrap=True)
        message.setMaximumWidth(520)
        form.addRow(message)
        self.operator = QLineEdit(operator)
        form.addRow(t["operator"], self.operator)
        self.department = QComboBox(editable=True)
        self.department.addItem(department)
        self.deadline = QDateEdit(QDate.currentDate().addDays(7), calendarPopup=True)
        self.until = QDateEdit(QDate.currentDate().addDays(30), calendarPopup=True)
        for edit in (self.deadline, self.until):
            edit.setDisplayFormat(t["date_format"])
        self.note = QPlainTextEdit()
        self.note.setMaximumHeight(90)
        self.reason = QLineEdit()
        if action == "assign":
            form.addRow(t["department"], self.department)
            form.addRow(t["deadline"], self.deadline)
        elif action == "close":
            form.addRow(t["note"], self.note)
        elif action == "ignore":
            form.addRow(t["until"], self.until)
            form.addRow(t["reason"], self.reason)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        button_texts(buttons, t)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        out = {"by": self.operator.text().strip()}
        if self.action == "assign":
            out["department"] = self.department.currentText().strip()
            out["deadline"] = self.deadline.date().toPython()
        elif self.action == "close":
            out["note"] = self.note.toPlainText().strip()
        elif self.action == "ignore":
            out["until"] = self.until.date().toPython()
            out["reason"] = self.reason.text().strip()
        return out


_SORT_KEY = Qt.ItemDataRole.UserRole + 1


class _SortableItem(QTableWidgetItem):
    """Sorts by an explicit key (severity rank, period) rather than by the text shown."""

    def __lt__(self, other) -> bool:
        mine, theirs = self.data(_SORT_KEY), other.data(_SORT_KEY)
        if mine is not None and theirs is not None:
            return mine < theirs
        return super().__lt__(other)


class HistoryDialog(QDialog):
    """Every transition of one alert: when, who, what, from which status to which. One per
    panel, refilled for each alert (a new dialog per look kept ~23 widgets alive each time)."""

    def __init__(self, texts: dict, lang: str, parent=None):
        super().__init__(parent)
        self._texts = texts
        self._lang = lang
        self.resize(720, 320)
        layout = QVBoxLayout(self)
        self.message = QLabel(wordWrap=True)
        layout.addWidget(self.message)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(texts["history_cols"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        button_texts(close, texts)
        close.rejected.connect(self.close)
        layout.addWidget(close)

    def show_alert(self, alert: AlertRecord, entries, place: str) -> None:
        self.setWindowTitle(f"{self._texts['history']} · {place}")
        lang = self._lang
        self.message.setText(alert_message(alert, lang))
        self.table.setRowCount(len(entries))
        names = pick(DETAILS, lang)
        sep, colon = ("; ", ": ") if lang == "en" else ("；", "：")
        for row, e in enumerate(entries):
            details = [(k, v) for k, v in (e.detail or {}).items()
                       if k not in ("message", "message_en")]
            actor = e.actor
            detail = sep.join(f"{names.get(k, k)}{colon}"
                              f"{severity(v, lang) if k.endswith('severity') else v}"
                              for k, v in details)
            if lang == "en":
                actor = SYSTEM_EN if actor == SYSTEM_ACTOR else actor
            action = ACTION_EN.get(e.action, e.action_label) if lang == "en" else e.action_label
            moved = (f"{alert_status(e.from_status, lang) or '—'} → "
                     f"{alert_status(e.to_status, lang)}")
            for col, text in enumerate([e.at.replace("T", " ")[:19], actor, action, moved,
                                        detail]):
                item = QTableWidgetItem(text)
                if col == 4 and detail:
                    item.setToolTip(detail)   # whole on hover when the column cuts it short
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.show()
        self.raise_()


class AlertsPanel(Panel):
    """Constructed with the context; the alert service is `ctx.alerts` (None: panel says so)."""

    fields = frozenset({"region"})
    follows_alerts = True
    TEXT = _TEXT
    acted = Signal(str, str)  # action, alert id

    def __init__(self, ctx: CockpitContext, parent=None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        t = self._t = self.t
        self.operator = ctx.operator
        self._alerts: list[AlertRecord] = []
        self._total = 0

        self._title = TitleLabel()
        self._counts = CountsLabel("alertCounts")
        self.region_only = QPushButton(t["only_region"], checkable=True, checked=True,
                                       objectName="filterButton")
        self.region_only.toggled.connect(self._on_filter_change)
        self.status_filter = QComboBox(objectName="statusFilter")
        self.status_filter.addItem(t["open"], list(OPEN_STATUSES))
        self.status_filter.addItem(t["every"], None)
        for status in (CLOSED, IGNORED, CLEARED):
            self.status_filter.addItem(alert_status(status, ctx.lang), [status])
        self.status_filter.currentIndexChanged.connect(self._on_filter_change)
        # The filters as plain values: the query worker (prewarm.py) reads them, never widgets.
        self._filters = (True, tuple(OPEN_STATUSES))
        top = QHBoxLayout()
        top.addWidget(self._title, 1)
        top.addWidget(self._counts)
        top.addSpacing(12)
        top.addWidget(self.region_only)
        top.addWidget(self.status_filter)

        self.table = QTableWidget(0, len(t["cols"]), objectName="alertsTable")
        self.table.setHorizontalHeaderLabels(t["cols"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        opaque_viewport(self.table)
        opaque_viewport(self.table.horizontalHeader())
        # Sorted on a header click by the panel, not by Qt's sorting mode: that re-sorted the
        # whole list after every fill (~0.4 ms per selection) though the store already lists
        # it most severe, newest first, the default order.
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        # Qt's default indicator is descending; most severe first is ascending severity rank.
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.sortIndicatorChanged.connect(self._on_sort_change)
        # Columns as wide as their texts, measured once per text and font (sized to contents
        # by the header, every cell was measured again on each selection), the message
        # column taking the rest.
        for col in range(len(t["cols"])):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Stretch if col == 4
                                        else QHeaderView.ResizeMode.Fixed)
        self._text_widths: dict[tuple[int, str | None], int] = {}   # None: the header
        self.table.installEventFilter(self)
        self.table.viewport().installEventFilter(self)
        self.table.itemClicked.connect(self._on_item_clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.buttons: dict[str, QPushButton] = {}
        actions = QHBoxLayout()
        for action in ("ack", "assign", "close", "ignore", "history"):
            button = QPushButton(t["paren"].format(x=SHORTCUTS[action]).join([t[action], ""]),
                                 objectName="alertAction")
            button.clicked.connect(lambda _=False, a=action: self.request(a))
            actions.addWidget(button)
            self.buttons[action] = button
            shortcut = QShortcut(QKeySequence(SHORTCUTS[action]), self.table,
                                 context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda a=action: self.request(a))
        # One line whatever it says (elided, the whole text in its tooltip): a message coming
        # and going (no alerts in this township) does not lay the panel out again.
        self.message = TitleLabel(object_name="dim")
        actions.addWidget(self.message, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)

        self._filled: list[str] | None = None   # the alerts the table lists, by id
        self._cache: dict = {}
        self._cache_lock = threading.Lock()   # filled by the GUI and by the query worker
        self._generation = 0                  # alerts changed: answers read before are old
        self.history_dialog: HistoryDialog | None = None
        self._stale = False
        self.action_dialog: AlertActionDialog | None = None
        # A province's or the country's alerts are read off the GUI thread (the country's list,
        # counts and total: ~0.2 s of the first paint, and again after every evaluation); the
        # panel says it is reading, or keeps the list as last read, until the answer is in.
        # (A selection's list is read ahead by the query worker, prewarm.py: it is found.)
        self._reader = (BackgroundReader("alert-list", self)
                        if len(ctx.queries.townships) >= prewarm.ASYNC_MIN else None)
        self._listed: tuple | None = None   # (region, statuses) the table lists
        self.sync()

    # -- public state -----------------------------------------------------------------------------
    def title_text(self) -> str:
        return self._title.text()

    def row_count(self) -> int:
        return self.table.rowCount()

    def counts_text(self) -> str:
        """The counts line as shown (severities, and how many there are when the list is paged)."""
        return self._counts.text()

    def shown_alerts(self) -> list[AlertRecord]:
        """The alerts listed, in the order fetched (most severe, newest first)."""
        return list(self._alerts)

    def alert_ids(self) -> list[str]:
        return [self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
                for r in range(self.table.rowCount())]

    def counts(self) -> dict[str, int]:
        service = self.ctx.alerts
        region = self._region_filter()
        return self._fetch(region)[1] if service else {}

    def total(self) -> int:
        """How many alerts match the filters (the list shows the first ROW_LIMIT)."""
        return self._fetch(self._region_filter())[2] if self.ctx.alerts else 0

    def selected_alert(self) -> AlertRecord | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        alert_id = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        return next((a for a in self._alerts if a.id == alert_id), None)

    def select_alert(self, alert_id: str) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == alert_id:
                self.table.selectRow(r)
                return

    # -- refreshing ---------------------------------------------------------------------------------
    def _region_filter(self) -> str | None:
        if not self._filters[0]:
            return None
        return self.ctx.township_or_none(self.ctx.state.region)

    @property
    def reading(self) -> bool:
        """The list is being read (off the GUI thread); what it shows is the last answer."""
        return self._reader is not None and self._reader.pending("list")

    def on_selection(self, changed: frozenset, state) -> None:
        self.refresh()

    def on_reload(self) -> None:
        self.on_alerts()

    def on_alerts(self) -> None:
        self._filled = None   # the same alerts may have new states
        with self._cache_lock:
            self._cache.clear()
            self._generation += 1
        self.refresh()

    def _on_filter_change(self) -> None:
        statuses = self.status_filter.currentData()
        self._filters = (self.region_only.isChecked(), tuple(statuses or ()))
        self.refresh()

    # Rows listed at most: the most severe and newest first; the database pages and counts, so
    # a province's or the country's tens of thousands of alerts never reach the widget.
    ROW_LIMIT = 200

    def _fetch(self, region: str | None):
        """(alerts, counts by severity, how many match) for a region under the status filter.
        Stepping through townships re-reads nothing: the store only changes with
        alerts_changed."""
        key = (region, self._filters[1])
        statuses = key[1]
        with self._cache_lock:
            found, generation = self._cache.get(key), self._generation
        if found is not None:
            return found
        service = self.ctx.alerts
        statuses = list(statuses) or None
        # A county of a city warehouse: its own alerts and every township's in it. Codes as an
        # IN list, which the store finds through its (scope, region) index.
        place = {} if region is None else {"regions": self._under(region)}
        # (both through one connection to the store: at a province the query worker reads
        # them for every selection, ~3 ms of its ~6 with a connection each)
        alerts, counts = service.list_and_counts(status=statuses, limit=self.ROW_LIMIT,
                                                 **place)
        # Open alerts are what the counts count: their sum is the total (the country's count
        # was another ~45 ms scan).
        total = (len(alerts) if len(alerts) < self.ROW_LIMIT else
                 sum(counts.values()) if set(statuses or ()) == set(OPEN_STATUSES) else
                 service.count(status=statuses, **place))
        found = (alerts, counts, total)
        with self._cache_lock:
            if generation == self._generation:
                if len(self._cache) >= 512:   # a wall stepping through a province's townships
                    self._cache.clear()
                self._cache[key] = found
        return found

    def _under(self, region: str) -> list[str]:
        """`region` and every region below it."""
        hierarchy, out, todo = self.ctx.hierarchy, [], [region]
        while todo:
            code = todo.pop()
            out.append(code)
            todo += hierarchy.children(code)
        return out

    def warm(self, region: str) -> None:
        """Fetch what selecting `region` would list (see prewarm.py; also from the query
        worker, so it reads the filters' values, not their widgets)."""
        if self.ctx.alerts is not None and self._filters[0]:
            self._fetch(self.ctx.township_or_none(region))

    def refresh(self) -> None:
        t = self._t
        region = self._region_filter()
        name = self.ctx.region_name(region) if region else \
            self.ctx.whole_word(self.ctx.county_code)
        service = self.ctx.alerts
        if service is None:
            self._title.setText(f"{t['title']} · {name}")
            self._alerts = []
            self._fill()
            return
        key = (region, self._filters[1])
        if self._reader is not None:
            with self._cache_lock:
                found = self._cache.get(key)
            if found is None:
                self._reader.request("list", lambda: self._fetch(region),
                                     lambda _answer: self.refresh(), self._read_failed)
                if key != self._listed:   # another place or filter: not the last list
                    self._show_reading(name)
                return
        keep = self.selected_alert()
        try:
            alerts, counts, total = self._fetch(region)
        except STORE_FAILURES as exc:
            self._read_failed(exc)
            return
        if self._stale:
            self._stale = False
            self.message.setText("")
        self._title.setText(f"{t['title']} · {name}")
        self._alerts = alerts
        self._total = total
        self._counts.setText("&nbsp;&nbsp;".join(
            f"<span style='color:{theme.SEVERITY[s]}'>●</span> {severity(s, self.ctx.lang)} "
            f"<b>{n}</b>"
            for s, n in counts.items())
            + (f"&nbsp;&nbsp;<span style='color:{theme.TEXT_DIM}'>"
               f"{t['more'].format(n=len(alerts), total=total)}</span>"
               if total > len(alerts) else ""))
        self._fill()
        self._listed = key
        if keep is not None:
            self.select_alert(keep.id)
        self._update_buttons()

    def _read_failed(self, exc: Exception) -> None:
        # The store is locked or gone: keep the list (and its title) as last read; the
        # alert watcher puts it on the banner and refreshes us when the store is back.
        self.message.setText(self._t["stale"].format(reason=store_reason(exc, self.ctx.lang)))
        self._stale = True

    def _show_reading(self, name: str) -> None:
        """Another place's or filter's list is on its way: say so, rather than list the last
        place's alerts under the new name or say there are none."""
        t = self._t
        self._title.setText(f"{t['title']} · {name}")
        self._counts.setText(f"<span style='color:{theme.TEXT_DIM}'>{t['reading']}</span>")
        self._alerts, self._total, self._listed = [], 0, None
        self._fill()
        self._filled = None          # the answer is filled in, even none (then said so)
        self.message.setText("")     # (not "no open alerts")
        self._update_buttons()

    def _fill(self) -> None:
        t = self._t
        table = self.table
        shown = [a.id for a in self._alerts]
        if shown == self._filled:
            # The same alerts (another township without any, the same township again): the
            # list is left alone and not repainted. (Their states changed: on_alerts.)
            return
        self._filled = shown
        table.setRowCount(len(self._alerts))
        for row, alert in enumerate(self._alerts):
            texts = self.alert_texts(alert)
            status = texts["status"] + (f" · {t['overdue']}" if alert.overdue else "")
            cells = [f"● {texts['severity']}", texts["period"], texts["place"],
                     texts["indicator"], texts["message"], status]
            tip = self._tooltip(alert)   # one per row, not per cell
            for col, text in enumerate(cells):
                item = _SortableItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, alert.id)
                    item.setForeground(QColor(theme.SEVERITY.get(alert.severity, theme.TEXT)))
                    # most severe first, then the newest period
                    item.setData(_SORT_KEY, (SEVERITY_ORDER.find(alert.severity),
                                             _reverse(alert.period), row))
                elif col == 1:
                    item.setData(_SORT_KEY, (alert.period, row))
                elif col == 5:
                    item.setForeground(QColor(theme.BAD if alert.overdue
                                              else STATUS_COLORS.get(alert.status, theme.TEXT)))
                item.setToolTip(tip)
                table.setItem(row, col, item)
        column, order = table.horizontalHeader().sortIndicatorSection(), \
            table.horizontalHeader().sortIndicatorOrder()
        if (column, order) != (0, Qt.SortOrder.AscendingOrder):
            table.sortItems(column, order)
        self._fit_columns()
        table.doItemsLayout()   # now, not deferred: one paint per change instead of two
        if not self._alerts:
            self.message.setText(t["none"])
        elif self.message.text() == t["none"]:
            self.message.setText("")

    def alert_texts(self, alert: AlertRecord) -> dict[str, str]:
        """An alert's words as the list shows them (and the Excel export writes them)."""
        ctx, lang = self.ctx, self.ctx.lang
        ind = ctx.queries.indicator_by_code.get(alert.indicator) if alert.indicator else None
        period = (period_label(alert.period_date, ind.frequency if ind else "month", lang)
                  if lang == "en" else alert.period_label)
        return {"severity": severity(alert.severity, lang), "period": period,
                "place": self._place(alert),
                "indicator": ctx.tr_name(ind) if ind else (alert.indicator_name
                                                           or self._t["events"]),
                "message": alert_message(alert, lang),
                "status": alert_status(alert.status, lang)}

    def _on_sort_change(self, column: int, order) -> None:
        self.table.sortItems(column, order)

    def _fit_columns(self) -> None:
        """Each column (but the message's) as wide as its widest text or its header."""
        # The header's signals held: told of a resized column, the table repaints it from a
        # zero-time timer, after the window's pass (a pass of its own at the next selection);
        # asked here, the repaint joins the pass.
        with signals_blocked(self.table.horizontalHeader()):
            resized = self._fit_column_widths()
        if resized:
            self.table.viewport().update()

    def _fit_column_widths(self) -> bool:
        resized = False
        table, widths = self.table, self._text_widths
        header = table.horizontalHeader()
        model = table.model()
        for col in range(table.columnCount()):
            if col == 4:
                continue
            width = widths.get((col, None))
            if width is None:
                width = widths[(col, None)] = header.sectionSizeHint(col)
            for row in range(table.rowCount()):
                key = (col, table.item(row, col).text())
                found = widths.get(key)
                if found is None:
                    found = widths[key] = table.sizeHintForIndex(model.index(row, col)).width()
                width = max(width, found)
            if header.sectionSize(col) != width:
                header.resizeSection(col, width)
                resized = True
        return resized

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if watched is self.table and kind in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._text_widths.clear()   # another type size: measure afresh
            self._fit_columns()
            fit_whole_rows(self.table)
        elif watched is self.table.viewport() and kind == QEvent.Type.Resize:
            fit_whole_rows(self.table)
        return super().eventFilter(watched, event)

    def _tooltip(self, alert: AlertRecord) -> str:
        t, lang = self._t, self.ctx.lang
        status = t["tip_status"].format(status=alert_status(alert.status, lang))
        if alert.acked_by:
            status += t["tip_acked"].format(by=alert.acked_by, at=alert.acked_at)
        name = self.ctx.alerts.rule_name(alert, lang) if self.ctx.alerts else alert.rule_name
        lines = [f"<b>{name}</b>{t['paren'].format(x=severity(alert.severity, lang))}",
                 alert_message(alert, lang), status]
        if alert.department:
            lines.append(t["tip_assigned"].format(department=alert.department,
                                                  deadline=alert.deadline))
        if alert.note:
            lines.append(t["tip_note"].format(note=alert.note))
        if alert.reopen_count:
            lines.append(t["tip_reopened"].format(n=alert.reopen_count))
        return "<br>".join(lines)

    def _update_buttons(self) -> None:
        alert = self.selected_alert()
        allowed = {
            "ack": alert is not None and alert.status == NEW,
            "assign": alert is not None and alert.status in (NEW, ACKED),
            "close": alert is not None and alert.status in OPEN_STATUSES,
            "ignore": alert is not None and alert.status in OPEN_STATUSES,
            "history": alert is not None,
        }
        for action, button in self.buttons.items():
            button.setEnabled(allowed[action])

    # -- user actions -------------------------------------------------------------------------------
    def _on_item_clicked(self, item: QTableWidgetItem) -> None:
        alert = self.selected_alert()
        if alert is None:
            return
        changes = {"region": alert.region, "period": alert.period_date}
        if alert.indicator and alert.indicator in self.ctx.queries.indicator_by_code:
            changes["indicator"] = alert.indicator
            ind = self.ctx.queries.indicator_by_code[alert.indicator]
            if self.ctx.state.domain not in ("overview", ind.domain):
                changes["domain"] = ind.domain
        if alert.region not in self.ctx.queries.region_by_code:
            changes.pop("region")
        if changes["period"] not in self.ctx.queries.months:
            changes.pop("period")
        self.ctx.select(**changes)

    actions_enabled = True

    def set_wall(self, on: bool) -> None:
        """A wall shows alerts but takes no actions and has no filters to click (actions ask in
        dialogs, and nobody types at a wall): operators act from their desks."""
        self.actions_enabled = not on
        for widget in (*self.buttons.values(), self.region_only, self.status_filter):
            widget.setVisible(not on)

    def request(self, action: str) -> None:
        """A button or shortcut: ask the details in a dialog, then act."""
        if not self.actions_enabled:
            return
        alert = self.selected_alert()
        if alert is None:
            self.message.setText(self._t["pick"])
            return
        if action == "history":
            self._show_history(alert)
            return
        if not self.buttons[action].isEnabled():
            return
        department = ""
        queries = self.ctx.queries
        if alert.indicator in queries.indicator_by_code:
            department = queries.department(queries.indicator_by_code[alert.indicator].department,
                                            self.ctx.lang)
        if self.action_dialog is not None:
            self.action_dialog.close()
        # Not exec(): a nested event loop under a wall that keeps turning pages and reloading
        # snapshots; the dialog is window-modal and acts when accepted.
        dialog = self.action_dialog = AlertActionDialog(
            action, alert, self.operator, department, self._place(alert), self.ctx.lang, self)
        dialog.accepted.connect(lambda: self.perform(action, alert.id, **dialog.values()))
        # Back to the list afterwards, so the next letter (D after A) acts on the same alert.
        dialog.finished.connect(self._refocus)
        dialog.destroyed.connect(self._forget_action_dialog)
        dialog.open()

    def _forget_action_dialog(self) -> None:
        self.action_dialog = None

    def _refocus(self, _result: int = 0) -> None:
        self.window().activateWindow()
        self.table.setFocus()

    def perform(self, action: str, alert_id: str, **values) -> bool:
        """Apply one transition; a refused one (someone else got there first) is explained, and
        one the store cannot take now (locked, gone) is said in the panel and on the banner."""
        service = self.ctx.alerts
        try:
            record = getattr(service, action)(alert_id, **values)
        except AlertStateError as exc:
            self.message.setText(str(exc))
            self.on_alerts()
            return False
        except STORE_FAILURES as exc:
            text = self._t["not_saved"].format(action=self._t[action],
                                               reason=store_reason(exc, self.ctx.lang))
            self.message.setText(text)
            self.ctx.report_problem("alert-action", text)
            return False
        self.ctx.clear_problem("alert-action")
        if values.get("by"):
            self.operator = values["by"]
            self.ctx.operator = values["by"]
        self.message.setText(self._t["done"].format(
            action=self._t[action], subject=alert_message(record, self.ctx.lang)[:40]))
        self.acted.emit(action, alert_id)
        self.ctx.alerts_changed.emit()
        return True

    def _show_history(self, alert: AlertRecord) -> None:
        try:
            entries = self.ctx.alerts.history(alert.id)
        except STORE_FAILURES as exc:
            self.message.setText(self._t["stale"].format(
                reason=store_reason(exc, self.ctx.lang)))
            return
        if self.history_dialog is None:
            self.history_dialog = HistoryDialog(self._t, self.ctx.lang, self)
        self.history_dialog.show_alert(alert, entries, self._place(alert))

    def _place(self, alert: AlertRecord) -> str:
        """The alert's place as the window names places (the store keeps its Chinese name)."""
        known = alert.region in self.ctx.queries.region_by_code
        return self.ctx.region_name(alert.region) if known else alert.region_name


