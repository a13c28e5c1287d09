"""The package's layers hold: import-linter checks every import (relative ones, imports inside
functions, and chains through other modules) against the contracts in pyproject.toml — Qt only in
cockpit/ui, no layer importing one above it, nothing below the command line importing it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command;"
                           " lint_imports_command()", "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True)


def test_the_import_contracts_hold():
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "broken" in run.stdout and "0 broken" in run.stdout


def _lint_with(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """The contracts checked on a copy of the package with `line` added to `module`."""
    shutil.copytree(ROOT / "cockpit", tmp_path / "cockpit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    return _lint(tmp_path)


def test_a_qt_import_in_the_alert_engine_breaks_the_contract(tmp_path):
    """The check sees what the old hand-written one missed: a relative, indirect Qt import."""
    # Indirect: the engine imports the UI's theme, which imports Qt.
    run = _lint_with(tmp_path, "cockpit/alerts/engine.py", "from ..ui import theme")
    assert run.returncode != 0
    assert "cockpit.alerts is not allowed to import cockpit.ui" in run.stdout
    assert "cockpit.alerts.engine -> cockpit.ui.theme" in run.stdout


def test_the_old_import_circle_breaks_the_import_package_contract(tmp_path):
    """Reading boundaries used Problem from validation, which read files through the importer,
    which read boundaries: a reader importing validation again is refused."""
    run = _lint_with(tmp_path, "cockpit/warehouse/imports/readers/vector.py",
                     "from ..validation import validate_files")
    assert run.returncode != 0
    said = " ".join(run.stdout.split())  # import-linter wraps long lines
    assert ("cockpit.warehouse.imports.readers is not allowed to import"
            " cockpit.warehouse.imports.validation") in said
    assert "cockpit.warehouse.imports.readers.vector -> cockpit.warehouse.imports.validation" in said


def test_core_packages_import_without_loading_qt():
    code = (
        "import sys, cockpit.core.selection, cockpit.core.formatting, cockpit.warehouse.queries,"
        " cockpit.warehouse.demo, cockpit.geo.partition, cockpit.alerts, cockpit.cli,"
        " cockpit.core.plan, cockpit.core.workbook, cockpit.warehouse.plans,"
        " cockpit.warehouse.imports.targets, cockpit.core.playlist, cockpit.core.classes\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in %r]\n"
        "print(','.join(loaded))" % (QT_MODULES,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
