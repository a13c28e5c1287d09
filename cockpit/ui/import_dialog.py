"""The data officer's import dialog: choose files → validation report → import, with progress.

Validation and import run in a worker thread; the dialog stays responsive and the cockpit behind it
keeps its snapshot until the new one is published (the window's snapshot watcher then reloads)."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QFileDialog, QHBoxLayout,
                               QHeaderView, QLabel, QListWidget, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from ..core.i18n import pick, plural
from . import theme

PATTERNS = ("*.csv *.txt *.xlsx *.xlsm *.xls *.xlsb *.ods *.et *.parquet *.geojson *.json *.shp"
            " *.gpkg *.kml *.kmz *.tab *.mif")
# The dialog's own words. What the checks find (problems, their places, the import's summary)
# is written by the importer, in Chinese.
_TEXT = {
    "zh_CN": {"title": "导入部门数据", "choose": "选择文件…", "clear": "清空", "validate": "校验",
              "import": "导入", "replace": "用本次文件替换这些指标的全部已有数据（而不是合并）",
              "hint": "选择 CSV、XLSX、Parquet 数据文件，或 GeoJSON / Shapefile 乡镇边界。",
              "headers": ["级别", "位置", "所见值", "应为", "说明", "行数"],
              "choose_title": "选择要导入的文件",
              "filter": f"部门数据与边界 ({PATTERNS});;所有文件 (*)",
              "validating": "正在校验…", "importing": "正在导入…",
              "errors": "发现 {errors} 处错误、{warnings} 处提醒：请修改文件后重新校验，数据仓库未作任何改动。",
              "passed": "校验通过：新增 {new:,} 条、更新 {updated:,} 条{warnings}。",
              "passed_warnings": "，{n} 处提醒（不影响导入）",
              "severity": {"error": "错误", "warning": "提醒", "note": "说明"},
              "imported": "已导入并发布新快照：{summary}。驾驶舱将自动切换到新数据。",
              "failed": "未能完成：{message}。数据仓库保持不变。"},
    "en": {"title": "Import departments' data", "choose": "Choose files…", "clear": "Clear",
           "validate": "Validate", "import": "Import",
           "replace": "Replace all existing data of these indicators with these files "
                      "(instead of merging)",
           "hint": "Choose CSV, XLSX or Parquet data files, or GeoJSON / Shapefile township "
                   "boundaries.",
           "headers": ["Level", "Where", "Found", "Expected", "Problem", "Rows"],
           "choose_title": "Choose files to import",
           "filter": f"Departments' data and boundaries ({PATTERNS});;All files (*)",
           "validating": "Validating…", "importing": "Importing…",
           "errors": "{errors} error{s}, {warnings} warning{ws}: correct the files and validate "
                     "again; the warehouse is unchanged.",
           "passed": "Valid: {new:,} new and {updated:,} updated figures{warnings}.",
           "passed_warnings": ", {n} warning{s} (the import can go ahead)",
           "severity": {"error": "Error", "warning": "Warning", "note": "Note"},
           "imported": "Imported and published as a new snapshot: {summary}. The cockpit "
                       "switches to the new data by itself.",
           "failed": "Not done: {message}. The warehouse is unchanged."},
}


class _Worker(QObject):
    """Runs one validation or import off the GUI thread and reports back through signals."""

    progressed = Signal(float, str)
    finished = Signal(object)
    failed = Signal(str)

    def run(self, job) -> None:
        def target():
            try:
                self.finished.emit(job(lambda fraction, label: self.progressed.emit(
                    float(fraction), str(label))))
            except Exception as exc:  # shown in the dialog; never a crash of the cockpit
                self.failed.emit(str(exc))
        threading.Thread(target=target, name="import", daemon=True).start()


class ImportDialog(QDialog):
    def __init__(self, db_dir: Path | str, parent=None, lang: str = "zh_CN"):
        super().__init__(parent)
        self.t = t = pick(_TEXT, lang)
        self.setObjectName("importDialog")
        self.setWindowTitle(t["title"])
        self.resize(980, 620)
        self.db_dir = Path(db_dir)
        self.report = None
        self.result = None
        self.busy = False

        self.files = QListWidget()
        self.files.setMaximumHeight(110)
        add = QPushButton(t["choose"])
        add.clicked.connect(self._choose)
        clear = QPushButton(t["clear"])
        clear.clicked.connect(self._clear)
        self.validate_button = QPushButton(t["validate"])
        self.validate_button.clicked.connect(self.validate)
        self.import_button = QPushButton(t["import"])
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        self.replace = QCheckBox(t["replace"])
        self.summary = QLabel(t["hint"], wordWrap=True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.problems = QTableWidget(0, 6)
        self.problems.setHorizontalHeaderLabels(t["headers"])
        self.problems.verticalHeader().hide()
        self.problems.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.problems.horizontalHeader()
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)

        buttons = QHBoxLayout()
        for w in (add, clear):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.validate_button)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.files)
        layout.addLayout(buttons)
        layout.addWidget(self.replace)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.problems, 1)

        self._worker = _Worker(self)
        self._worker.progressed.connect(self._on_progress)
        self._worker.failed.connect(self._on_failed)
        self._worker.finished.connect(lambda result: self._on_done(result))
        self._on_done = lambda result: None

    # -- files ----------------------------------------------------------------------------------------
    def add_files(self, paths) -> None:
        known = {self.files.item(i).text() for i in range(self.files.count())}
        for path in paths:
            if str(path) not in known:
                self.files.addItem(str(path))
        self._invalidate()

    def paths(self) -> list[str]:
        return [self.files.item(i).text() for i in range(self.files.count())]

    def _choose(self) -> None:
        chosen, _ = QFileDialog.getOpenFileNames(self, self.t["choose_title"], "",
                                                 self.t["filter"])
        self.add_files(chosen)

    def _clear(self) -> None:
        self.files.clear()
        self._invalidate()

    def _invalidate(self) -> None:
        self.report = None
        self.import_button.setEnabled(False)

    # -- validation --------------------------------------------------------------------------------
    def validate(self) -> None:
        from ..warehouse.imports.validation import validate_files

        paths = self.paths()
        if not paths or self.busy:
            return
        self._start(self.t["validating"], lambda progress: validate_files(
            paths, self.db_dir, progress=progress), self._on_validated)

    def _on_validated(self, report) -> None:
        self._stop()
        self.report = report
        self._show_problems(report.problems)
        t = self.t
        errors, warnings = report.error_count, report.warning_count
        if errors:
            self.summary.setText(t["errors"].format(errors=errors, warnings=warnings,
                                                    s=plural(errors), ws=plural(warnings)))
        else:
            self.summary.setText(t["passed"].format(
                new=report.new_observations, updated=report.updated_observations,
                warnings=t["passed_warnings"].format(n=warnings, s=plural(warnings))
                if warnings else ""))
        self.import_button.setEnabled(not errors and report.batch is not None)

    def _show_problems(self, problems) -> None:
        table = self.problems
        table.setRowCount(len(problems))
        for row, p in enumerate(problems):
            cells = [self.t["severity"].get(p.severity, self.t["severity"]["note"]), p.location(),
                     p.value or "", p.expected or "", p.message, str(p.count)]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 0:
                    item.setForeground(QColor(theme.BAD if p.is_error else theme.ACCENT_2))
                table.setItem(row, col, item)
        table.resizeColumnsToContents()
        # Keep the explanation column visible: cap the others at a readable width.
        for col in (1, 2, 3):
            table.setColumnWidth(col, min(table.columnWidth(col), 300))

    # -- import ---------------------------------------------------------------------------------------
    def start_import(self) -> None:
        from ..warehouse.publish import import_files

        if self.report is None or self.busy:
            return
        paths, report, replace = self.paths(), self.report, self.replace.isChecked()
        self._start(self.t["importing"], lambda progress: import_files(
            paths, self.db_dir, progress=progress, replace=replace, report=report),
            self._on_imported)

    def _on_imported(self, result) -> None:
        self._stop()
        self.result = result
        self.import_button.setEnabled(False)
        if result.published:
            self.summary.setText(self.t["imported"].format(summary=result.summary()))
        else:
            self._show_problems(result.report.problems)
            self.summary.setText(result.summary())

    # -- worker plumbing ------------------------------------------------------------------------------
    def _start(self, label: str, job, on_done) -> None:
        self.busy = True
        for button in (self.validate_button, self.import_button):
            button.setEnabled(False)
        self.summary.setText(label)
        self.progress.setValue(0)
        self.progress.show()
        self._on_done = on_done
        self._worker.run(job)

    def _stop(self) -> None:
        self.busy = False
        self.progress.hide()
        self.validate_button.setEnabled(True)

    def _on_progress(self, fraction: float, label: str) -> None:
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.progress.setFormat(f"{label} %p%")

    def _on_failed(self, message: str) -> None:
        self._stop()
        self.summary.setText(self.t["failed"].format(message=message))

    def reject(self) -> None:
        if not self.busy:  # an import in flight finishes (atomically) before the dialog closes
            super().reject()

    def closeEvent(self, event) -> None:
        if self.busy:
            event.ignore()
            return
        super().closeEvent(event)


def wait_until_idle(dialog: ImportDialog, app, timeout_s: float = 60.0) -> None:
    """Process events until the dialog's worker is done (tests and scripted use)."""
    import time

    deadline = time.monotonic() + timeout_s
    while dialog.busy and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
