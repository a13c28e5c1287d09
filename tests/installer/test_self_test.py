"""`cockpit --self-test`, the smoke test installers and frozen builds run, from a plain install."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from cockpit.warehouse.schema import create_schema, finalize
from cockpit.warehouse.store import SnapshotStore

pytestmark = pytest.mark.heavy(15)


def run(*args):
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, timeout=180)


def test_self_test_builds_the_demo_in_a_throwaway_home_and_passes(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("COCKPIT_HOME", str(home))
    out = run("--self-test")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("自检通过：武义县 18 个乡镇（街道）、61 项指标")
    assert "1920×1080 离屏渲染正常" in out.stdout and "种分级色" in out.stdout
    assert re.search(r"预警 [1-9]\d* 条", out.stdout)  # the injected anomalies raise alerts
    # The user's own warehouse and alert state are neither built nor touched.
    assert not home.exists()


def test_self_test_renders_the_given_warehouse_and_leaves_no_state(demo_db, tmp_path,
                                                                    monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("COCKPIT_HOME", str(home))
    out = run("--self-test", "--db", str(demo_db), "--size", "1280x720")
    assert out.returncode == 0, out.stderr
    assert "快照 000001" in out.stdout and "1280×720" in out.stdout
    assert not home.exists()


def test_self_test_of_an_empty_warehouse_fails_with_one_line(tmp_path):
    db = tmp_path / "empty"
    with SnapshotStore(db).writer("empty") as con:
        create_schema(con)
        finalize(con)
    out = run("--self-test", "--db", str(db))
    assert out.returncode == 1
    assert out.stdout == ""
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("cockpit: 自检失败：") and str(db) in last
    assert "Traceback" not in out.stderr


def test_self_test_of_a_missing_warehouse_is_a_usage_error(tmp_path):
    out = run("--self-test", "--db", str(tmp_path / "none"))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "不存在" in out.stderr
