"""Shared fixtures: the demo warehouse at two ends, built once per session; a private COCKPIT_HOME
per test."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from datetime import date

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from cockpit.warehouse.demo import build_demo


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores, at most four. The suite's tests wait too (a
    subprocess starting, a watcher's poll, a window's timer): on 2 cores, 2 workers kept the
    cores busy 81 % of the time and took 5 min 29 s, 3 workers took 4 min 27 s."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(4, (cores or 1) + 1)


def pytest_collection_modifyitems(config, items):
    """Files marked heavy(seconds) first, longest first, then the others by their number of
    tests: the parallel workers take whole files in this order (--dist loadfile), so a long file
    never starts last and leaves one worker running alone."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def cost(tests):
        heavy = tests[0].get_closest_marker("heavy")
        return (-heavy.args[0], 0) if heavy else (0, -len(tests))

    items[:] = [item for tests in sorted(files.values(), key=cost) for item in tests]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A demo warehouse directory built once, ending at 2025-12; tests must only read it."""
    path = tmp_path_factory.mktemp("demo") / "wh"
    build_demo(path, end=date(2025, 12, 1))
    return path


@pytest.fixture(scope="session")
def later_demo_db(tmp_path_factory):
    """The demo as built on 2026-12-01 with the default end (2026-11); tests must only read it."""
    path = tmp_path_factory.mktemp("demo-later") / "wh"
    build_demo(path, today=date(2026, 12, 1))
    return path


@pytest.fixture
def old_warehouse(demo_db, tmp_path):
    """The demo as a version without indicators' definition_en (and meta city_name_en) built it:
    a warehouse made before English definitions."""
    import shutil

    import duckdb

    from cockpit.warehouse.store import SnapshotStore

    db = tmp_path / "old"
    shutil.copytree(demo_db, db, ignore=shutil.ignore_patterns("leases", "*.lock"))
    store = SnapshotStore(db)
    con = duckdb.connect(str(store.snapshot_path(store.current())))
    con.execute("ALTER TABLE indicators DROP COLUMN definition_en")
    con.execute("DELETE FROM meta WHERE key = 'city_name_en'")
    con.close()
    return db


@pytest.fixture
def english_catalogue(tmp_path):
    """(a catalogue file changing eco_industry_va and giving its English definition, the
    English definition)."""
    import csv

    english = "Value added of large industry, current prices"
    path = tmp_path / "指标目录.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([
            ["代码", "名称", "领域", "单位", "方向", "频度", "汇总方式", "牵头单位", "口径", "英文口径"],
            ["eco_industry_va", "规上工业增加值", "经济运行", "亿元", "越高越好", "月度", "合计",
             "县统计局", "规上工业增加值（现价）", english]])
    return path, english


def run_cockpit(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    """`cockpit ARGS` run in this process, as the command line would run it: exit status, stdout
    and stderr (a process of its own costs 1-2 s of imports; keep one such test per command)."""
    from cockpit import cli

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as exc:       # argparse's own refusals
                code = exc.code
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture
def cockpit_cmd():
    """run_cockpit, for tests: `cockpit_cmd("info", "--db", path)`."""
    return run_cockpit


@pytest.fixture(autouse=True)
def _private_home(tmp_path, monkeypatch):
    # Never touch the user's real warehouse or settings from a test.
    monkeypatch.setenv("COCKPIT_HOME", str(tmp_path / "home"))


def _delete_windows(keep_shown: bool) -> None:
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    for widget in app.topLevelWidgets():
        if widget.parent() is None and not (keep_shown and widget.isVisible()):
            widget.close()
            widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


@pytest.fixture(autouse=True)
def _closed_windows_are_deleted():
    """Delete the windows a test closed. A closed window is only hidden until its deferred
    delete runs, which a test's event loop never reaches: left alive, each one is repolished by
    every later theme change and sees every later event (a wall controller filters the whole
    application's), so later tests in the same worker ran up to 5 times slower."""
    yield
    _delete_windows(keep_shown=True)


@pytest.fixture(scope="module", autouse=True)
def _no_window_outlives_its_module():
    yield
    _delete_windows(keep_shown=False)
