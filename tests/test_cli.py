"""The `cockpit` command as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_info_json_describes_the_warehouse(demo_db):
    out = run("info", "--db", str(demo_db), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["county"] == "武义县"
    assert info["regions_by_level"] == {"county": 1, "township": 18}
    assert info["indicators"] == 61 and len(info["indicators_by_domain"]) == 6
    assert info["first_period"] == "2020-01" and info["last_period"] == "2025-12"
    assert info["events"] > 2000


def test_info_text_is_chinese(demo_db):
    out = run("info", "--db", str(demo_db))
    assert out.returncode == 0
    assert "乡镇（街道） 18 个" in out.stdout and "观测值" in out.stdout


def test_missing_warehouse_is_one_clear_line(tmp_path):
    out = run("info", "--db", str(tmp_path / "none"))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "不存在" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_build_then_info(tmp_path):
    out = run("demo", "build", "--out", str(tmp_path / "wh"), "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "已发布快照 000001" in out.stdout
    info = json.loads(run("info", "--db", str(tmp_path / "wh"), "--json").stdout)
    assert info["snapshot"] == "000001"


def test_bad_arguments_are_reported_without_traceback():
    out = run("snapshot", "--out", "x.png", "--size", "huge")
    assert out.returncode == 2 and "宽x高" in out.stderr and "Traceback" not in out.stderr
