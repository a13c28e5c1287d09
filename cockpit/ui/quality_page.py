"""数据质量: completeness, timeliness and last update per department and per indicator — the plan's
own complaint is that data is incomplete, inaccurate and late.

The report scans every indicator of every township (up to 7 s under load on a busy machine), so
it is computed in a worker thread: the page shows that it is counting and the window, a wall's
carousel included, keeps running. The newest request wins; a report of a replaced snapshot is
dropped."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from ..core import formatting as fmt
from ..core import i18n
from ..core.i18n import FREQUENCY
from . import theme
from .context import CockpitContext
from .panel import Panel, TitleLabel

_TEXT = {
    "zh_CN": {"import": "导入数据…", "back": "返回驾驶舱", "counting": "正在统计各部门、各指标的数据质量…",
              "failed": "数据质量暂时无法统计：{message}", "title": "数据质量 · 截至 {month}",
              "summary": "统计 {start} 至 {end}：{departments} 个部门、{indicators} 项指标，"
                         "平均完整率 {overall:.1f}%，迟报 {late} 项",
              "departments": ["牵头单位", "指标数", "完整率", "迟报指标", "最长迟报", "最新数据期"],
              "indicators": ["指标", "牵头单位", "频度", "完整率", "及时性", "最新数据期"],
              "on_time": "按时", "months": "{n} 个月", "late_tip": "{name} 迟报 {m} 个月", "sep": "；"},
    "en": {"import": "Import…", "back": "Back to cockpit",
           "counting": "Counting data quality per department and indicator…",
           "failed": "Data quality cannot be counted now: {message}",
           "title": "Data quality · as of {month}",
           "summary": "{start} to {end}: {departments} departments, {indicators} indicators, "
                      "{overall:.1f}% complete on average, {late} late",
           "departments": ["Department", "Indicators", "Complete", "Late indicators",
                           "Longest delay", "Latest period"],
           "indicators": ["Indicator", "Department", "Frequency", "Complete", "Timeliness",
                          "Latest period"],
           "on_time": "on time", "months": "{n} month{s}", "late_tip": "{name} {m} month{s} late",
           "sep": "; "},
}


def _completeness_color(value: float | None) -> str:
    if value is None:
        return theme.TEXT_DIM
    return theme.GOOD if value >= 0.98 else (theme.ACCENT_2 if value >= 0.9 else theme.BAD)


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setShowGrid(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # Columns as wide as their contents: a stretched last column left half the screen between
    # a row's figures and its latest period.
    table.horizontalHeader().setStretchLastSection(False)
    return table


class _Worker(QObject):
    """Delivers a report computed in a thread back on the GUI thread."""

    done = Signal(int, object)     # generation, QualityReport
    failed = Signal(int, str)


class QualityPage(Panel):
    TEXT = _TEXT
    closed = Signal()
    import_requested = Signal()

    def __init__(self, ctx: CockpitContext, parent=None):
        super().__init__(ctx, parent)
        self.setObjectName("panel")
        t = self.t
        self.report = None
        self._title = TitleLabel()
        self._summary = QLabel(objectName="dim")
        import_button = QPushButton(t["import"])
        import_button.clicked.connect(self.import_requested)
        back = QPushButton(t["back"])
        back.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addWidget(self._title, 2)
        top.addSpacing(16)
        top.addWidget(self._summary, 3)
        top.addWidget(import_button)
        top.addWidget(back)
        self.departments = _table(t["departments"])
        self.indicators = _table(t["indicators"])
        self.departments.itemSelectionChanged.connect(self._filter_indicators)
        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.departments)
        splitter.addWidget(self.indicators)
        splitter.setSizes([300, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._stale = True
        self._generation = 0
        self._worker = _Worker(self)
        self._worker.done.connect(self._on_report)
        self._worker.failed.connect(self._on_failed)
        self._thread: threading.Thread | None = None

    def on_reload(self) -> None:
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def report_now(self):
        """The report, computed here and now if the worker has not delivered it yet (an export
        asked for it: the user waits for what they asked for)."""
        if self.report is None:
            from ..warehouse.quality import data_quality

            self._generation += 1   # a running worker's answer is not needed any more
            self._on_report(self._generation, data_quality(self.ctx.queries))
        return self.report

    @property
    def loading(self) -> bool:
        """True while a report is being computed."""
        return self._thread is not None and self._thread.is_alive()

    def refresh(self) -> None:
        if not self.isVisible():
            self._stale = True  # computed when shown: nobody waits for a page nobody sees
            return
        from ..warehouse.quality import data_quality

        self._stale = False
        self._generation += 1
        generation, queries, worker = self._generation, self.ctx.queries, self._worker
        self._summary.setText(self.t["counting"])

        def run() -> None:
            try:
                report = data_quality(queries)
            except Exception as exc:  # noqa: BLE001 - shown on the page, never a crash
                worker.failed.emit(generation, " ".join(str(exc).split())[:200])
            else:
                worker.done.emit(generation, report)

        self._thread = threading.Thread(target=run, name="data-quality", daemon=True)
        self._thread.start()

    def _on_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self._summary.setText(self.t["failed"].format(message=message))

    def _on_report(self, generation: int, report) -> None:
        if generation != self._generation:
            return   # a newer snapshot (or refresh) asked again
        self.report = report
        t, lang = self.t, self.ctx.lang
        self._title.setText(t["title"].format(month=fmt.month_label(report.as_of, lang)))
        late = sum(1 for i in report.indicators if i.months_late)
        complete = [i.completeness for i in report.indicators if i.completeness is not None]
        overall = sum(complete) / len(complete) if complete else None
        self._summary.setText(t["summary"].format(
            start=fmt.month_label(report.window_start, lang),
            end=fmt.month_label(report.window_end, lang), departments=len(report.departments),
            indicators=len(report.indicators), overall=overall * 100, late=late)
            if overall is not None else "")
        self._fill_departments(report)
        self._fill_indicators(report.indicators)
        self._arrange()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Side by side (departments, then their indicators) where both fit across, each as
        wide as its columns; one above the other where they do not (a laptop)."""
        need = [t.horizontalHeader().length() + t.verticalScrollBar().sizeHint().width()
                + 2 * t.frameWidth() for t in (self.departments, self.indicators)]
        room = self.splitter.width() - self.splitter.handleWidth()
        across = sum(need) <= room
        orientation = Qt.Orientation.Horizontal if across else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            if not across:
                self.splitter.setSizes([300, 500])
        if across:
            self.splitter.setSizes([need[0], room - need[0]])

    def _fill_departments(self, report) -> None:
        table = self.departments
        table.setRowCount(len(report.departments))
        for row, d in enumerate(report.departments):
            t = self.t
            cells = [self.ctx.queries.department(d.department, self.ctx.lang),
                     str(d.indicators), d.completeness_label,
                     str(d.late_indicators),
                     t["on_time"] if not d.months_late
                     else t["months"].format(n=d.months_late, s=i18n.plural(d.months_late)),
                     fmt.month_label(d.last_period, self.ctx.lang) if d.last_period else "—"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, d.department)   # (as filtered)
                if col == 2:
                    item.setForeground(QColor(_completeness_color(d.completeness)))
                if col == 4 and d.months_late:
                    item.setForeground(QColor(theme.BAD))
                table.setItem(row, col, item)

    def _fill_indicators(self, indicators) -> None:
        visible = {i.code for i in self.ctx.visible_indicators()}
        indicators = [i for i in indicators if i.code in visible]
        table = self.indicators
        table.setRowCount(len(indicators))
        lang, t = self.ctx.lang, self.t
        by_name = {r.name: self.ctx.region_name(r.code) for r in self.ctx.queries.regions}
        name_of = lambda name: by_name.get(name, name)   # noqa: E731
        for row, i in enumerate(indicators):
            ind = self.ctx.queries.indicator_by_code.get(i.code)
            cells = [self.ctx.tr_name(ind) if ind else i.name,
                     self.ctx.queries.department(i.department, lang),
                     FREQUENCY[i18n.lang_of(lang)].get(i.frequency, i.frequency),
                     i.completeness_label, i.timeliness_text(lang, name_of),
                     fmt.period_label(i.last_period, i.frequency, lang)]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3:
                    item.setForeground(QColor(_completeness_color(i.completeness)))
                if col == 4 and i.months_late:
                    item.setForeground(QColor(theme.BAD))
                    item.setToolTip(t["sep"].join(
                        t["late_tip"].format(name=name_of(name), m=m, s=i18n.plural(m))
                        for name, m in i.late_regions))
                table.setItem(row, col, item)

    def _filter_indicators(self) -> None:
        rows = self.departments.selectionModel().selectedRows()
        if not rows or self.report is None:
            self._fill_indicators(self.report.indicators if self.report else [])
            return
        name = self.departments.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
        self._fill_indicators([i for i in self.report.indicators if i.department == name])

    # public state for tests
    def summary_text(self) -> str:
        return self._summary.text()

    def department_rows(self) -> list[list[str]]:
        return [[self.departments.item(r, c).text() for c in range(self.departments.columnCount())]
                for r in range(self.departments.rowCount())]

    def indicator_rows(self) -> list[list[str]]:
        return [[self.indicators.item(r, c).text() for c in range(self.indicators.columnCount())]
                for r in range(self.indicators.rowCount())]
