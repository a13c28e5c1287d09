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
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from ..core import formatting as fmt
from . import theme
from .context import CockpitContext

_FREQ = {"month": "月度", "quarter": "季度", "year": "年度"}


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
    table.horizontalHeader().setStretchLastSection(True)
    return table


class _Worker(QObject):
    """Delivers a report computed in a thread back on the GUI thread."""

    done = Signal(int, object)     # generation, QualityReport
    failed = Signal(int, str)


class QualityPage(QFrame):
    closed = Signal()
    import_requested = Signal()

    def __init__(self, ctx: CockpitContext, parent=None):
        super().__init__(parent)
        self.setObjectName("panel")
        self.ctx = ctx
        self.report = None
        self._title = QLabel(objectName="panelTitle")
        self._summary = QLabel(objectName="dim")
        import_button = QPushButton("导入数据…")
        import_button.clicked.connect(self.import_requested)
        back = QPushButton("返回驾驶舱")
        back.clicked.connect(self.closed)
        top = QHBoxLayout()
        top.addWidget(self._title)
        top.addSpacing(16)
        top.addWidget(self._summary, 1)
        top.addWidget(import_button)
        top.addWidget(back)
        self.departments = _table(["牵头单位", "指标数", "完整率", "迟报指标", "最长迟报",
                                   "最新数据期"])
        self.indicators = _table(["指标", "牵头单位", "频度", "完整率", "及时性", "最新数据期"])
        self.departments.itemSelectionChanged.connect(self._filter_indicators)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.departments)
        splitter.addWidget(self.indicators)
        splitter.setSizes([300, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        ctx.reloaded.connect(self.refresh)
        self._stale = True
        self._generation = 0
        self._worker = _Worker(self)
        self._worker.done.connect(self._on_report)
        self._worker.failed.connect(self._on_failed)
        self._thread: threading.Thread | None = None

    def showEvent(self, event) -> None:
        if self._stale:
            self.refresh()
        super().showEvent(event)

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
        self._summary.setText("Counting each department's and indicator's data quality…"
                              if self.ctx.lang == "en" else "正在统计各部门、各指标的数据质量…")

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
            self._summary.setText(f"Data quality cannot be counted now: {message}"
                                  if self.ctx.lang == "en" else f"数据质量暂时无法统计：{message}")

    def _on_report(self, generation: int, report) -> None:
        if generation != self._generation:
            return   # a newer snapshot (or refresh) asked again
        self.report = report
        self._title.setText(f"数据质量 · 截至 {fmt.month_label(report.as_of)}")
        late = sum(1 for i in report.indicators if i.months_late)
        complete = [i.completeness for i in report.indicators if i.completeness is not None]
        overall = sum(complete) / len(complete) if complete else None
        self._summary.setText(
            f"统计 {fmt.month_label(report.window_start)} 至 {fmt.month_label(report.window_end)}："
            f"{len(report.departments)} 个部门、{len(report.indicators)} 项指标，"
            f"平均完整率 {overall * 100:.1f}%，迟报 {late} 项" if overall is not None else "")
        self._fill_departments(report)
        self._fill_indicators(report.indicators)

    def _fill_departments(self, report) -> None:
        table = self.departments
        table.setRowCount(len(report.departments))
        for row, d in enumerate(report.departments):
            cells = [d.department, str(d.indicators), d.completeness_label,
                     str(d.late_indicators), "按时" if not d.months_late else f"{d.months_late} 个月",
                     fmt.month_label(d.last_period) if d.last_period else "—"]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setForeground(QColor(_completeness_color(d.completeness)))
                if col == 4 and d.months_late:
                    item.setForeground(QColor(theme.BAD))
                table.setItem(row, col, item)

    def _fill_indicators(self, indicators) -> None:
        table = self.indicators
        table.setRowCount(len(indicators))
        for row, i in enumerate(indicators):
            cells = [i.name, i.department, _FREQ.get(i.frequency, i.frequency),
                     i.completeness_label, i.timeliness_label, i.last_update_label]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 3:
                    item.setForeground(QColor(_completeness_color(i.completeness)))
                if col == 4 and i.months_late:
                    item.setForeground(QColor(theme.BAD))
                    item.setToolTip("；".join(f"{name} 迟报 {m} 个月" for name, m in i.late_regions))
                table.setItem(row, col, item)

    def _filter_indicators(self) -> None:
        rows = self.departments.selectionModel().selectedRows()
        if not rows or self.report is None:
            self._fill_indicators(self.report.indicators if self.report else [])
            return
        name = self.departments.item(rows[0].row(), 0).text()
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
