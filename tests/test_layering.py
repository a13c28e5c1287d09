"""Nothing outside cockpit/ui imports Qt or pyqtgraph — checked on the source, module by module."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cockpit"
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_qt_outside_ui_package():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui":
            continue
        bad = _imports(path) & set(QT_MODULES)
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert not offenders, "Qt imported outside cockpit/ui: " + "; ".join(offenders)


def test_core_packages_import_without_loading_qt():
    code = (
        "import sys, cockpit.core.selection, cockpit.core.formatting, cockpit.warehouse.queries,"
        " cockpit.warehouse.demo, cockpit.geo.partition, cockpit.alerts, cockpit.cli,"
        " cockpit.core.plan, cockpit.core.workbook, cockpit.warehouse.plans,"
        " cockpit.warehouse.targets\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in %r]\n"
        "print(','.join(loaded))" % (QT_MODULES,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
