"""The `cockpit` command as a user runs it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date

import pytest

from cockpit.alerts.store import AlertService
from cockpit.cli import ensure_demo
from cockpit.warehouse.demo import build_demo
from cockpit.warehouse.demo_end import last_finished_month
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.store import SnapshotStore, open_current

pytestmark = pytest.mark.heavy(40)


def test_info_json_describes_the_warehouse(demo_db):
    # A process of its own, once: `python -m cockpit` as a user starts it.
    out = subprocess.run([sys.executable, "-m", "cockpit", "info", "--db", str(demo_db),
                          "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["county"] == "武义县"
    assert info["regions_by_level"] == {"county": 1, "township": 18}
    assert info["indicators"] == 61 and len(info["indicators_by_domain"]) == 6
    assert info["first_period"] == "2020-01" and info["last_period"] == "2025-12"
    assert info["events"] > 2000


def test_info_text_is_chinese(demo_db, cockpit_cmd):
    out = cockpit_cmd("info", "--db", str(demo_db))
    assert out.returncode == 0
    assert "乡镇（街道） 18 个" in out.stdout and "观测值" in out.stdout


def test_missing_warehouse_is_one_clear_line(tmp_path, cockpit_cmd):
    out = cockpit_cmd("info", "--db", str(tmp_path / "none"))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "不存在" in out.stderr
    assert "Traceback" not in out.stderr


def test_demo_build_with_a_chosen_end_then_info(tmp_path, cockpit_cmd):
    out = cockpit_cmd("demo", "build", "--out", tmp_path / "wh", "--seed", "3", "--end", "2025-12")
    assert out.returncode == 0, out.stderr
    assert "已发布快照 000001" in out.stdout and "数据至 2025-12" in out.stderr
    info = json.loads(cockpit_cmd("info", "--db", str(tmp_path / "wh"), "--json").stdout)
    assert info["snapshot"] == "000001" and info["last_period"] == "2025-12"
    assert (info["as_of"], info["demo_end"], info["demo_end_rule"]) == (
        "2025-12", "2025-12", "fixed")
    text = cockpit_cmd("info", "--db", str(tmp_path / "wh")).stdout
    assert "演示数据    至 2025-12：固定结束月份（demo build --end）" in text


@pytest.mark.parametrize("end,says", [("2024-06", "2025-12"), ("2099-01", "最近一个已结束的月份"),
                                      ("12/2025", "年-月")])
def test_an_impossible_demo_end_is_one_line_with_status_2_and_writes_nothing(tmp_path, end, says,
                                                                             cockpit_cmd):
    out = cockpit_cmd("demo", "build", "--out", str(tmp_path / "wh"), "--end", end)
    assert out.returncode == 2 and says in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "wh").exists()


# --- a demo that months have overtaken ------------------------------------------------------------
@pytest.fixture(scope="module")
def may_demo(tmp_path_factory):
    """A demo built automatically on 2026-06-15: its data end at 2026-05."""
    path = tmp_path_factory.mktemp("may") / "wh"
    build_demo(path, today=date(2026, 6, 15))
    return path


def copy_of(db, target):
    shutil.copytree(db, target, ignore=shutil.ignore_patterns("leases"))
    return target


def meta(db, key):
    snap = open_current(db)
    try:
        return snap.manifest.label, snap.meta().get(key)
    finally:
        snap.close()


def test_a_stale_automatic_demo_is_republished_once_with_one_line(may_demo, tmp_path, capsys):
    db = copy_of(may_demo, tmp_path / "demo")
    alerts = AlertService(db)
    alerts.evaluate()
    reader = open_current(db)  # a cockpit already running on the old snapshot
    ensure_demo(db, quiet=True, today=date(2026, 12, 1))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "2026-05" in lines[0] and "2026-11" in lines[0]
    assert meta(db, "demo_end") == ("000002", "2026-11")
    # The running reader keeps its snapshot until it switches, as after an import.
    assert reader.cursor().execute("SELECT max(period) FROM observations").fetchone()[0] == date(
        2026, 5, 1)
    reader.close()
    # May's alerts quote figures the new demo no longer holds: cleared; the plan's missed targets
    # stay the same alerts, and November's are raised.
    assert {a.period[:7] for a in alerts.list(open_only=True)} == {
        "2025-12", "2026-08", "2026-09", "2026-11"}
    assert {a.period[:7] for a in alerts.list(status="自动解除")} == {"2026-03", "2026-05"}
    ensure_demo(db, quiet=True, today=date(2026, 12, 31))  # still November: nothing to do
    assert capsys.readouterr().err == "" and meta(db, "demo_end") == ("000002", "2026-11")


def test_a_demo_with_a_chosen_end_or_imported_data_is_never_rebuilt(demo_db, may_demo, tmp_path,
                                                                    capsys):
    chosen = copy_of(demo_db, tmp_path / "chosen")   # built with --end 2025-12
    imported = copy_of(may_demo, tmp_path / "imported")
    csv = tmp_path / "va.csv"
    csv.write_text("乡镇（街道）,指标,期间,数值\n熟溪街道,规上工业增加值,2026-01,3.21\n", encoding="utf-8")
    assert import_files([csv], imported).published
    for db in (chosen, imported):
        before = SnapshotStore(db).versions()
        ensure_demo(db, quiet=True, today=date(2026, 12, 1))
        assert SnapshotStore(db).versions() == before
    assert capsys.readouterr().err == ""


def test_at_launch_only_the_default_demo_folder_is_refreshed(may_demo, tmp_path, cockpit_cmd):
    home = tmp_path / "home"
    env = {**os.environ, "COCKPIT_HOME": str(home)}
    users = copy_of(may_demo, tmp_path / "users")
    out = cockpit_cmd("alerts", "evaluate", "--db", str(users), "--json", env=env)
    assert out.returncode == 0 and json.loads(out.stdout)["as_of"] == "2026-05"
    assert out.stderr == "" and SnapshotStore(users).versions() == [1]

    copy_of(may_demo, home / "demo")
    before = last_finished_month()
    out = cockpit_cmd("alerts", "evaluate", "--json", env=env)
    assert out.returncode == 0, out.stderr
    ends = {f"{m:%Y-%m}" for m in (before, last_finished_month())}  # a test run at midnight
    assert json.loads(out.stdout)["as_of"] in ends
    assert out.stderr.count("\n") == 1 and "演示数据截至 2026-05，已过时" in out.stderr


def test_bad_arguments_are_reported_without_traceback(cockpit_cmd):
    out = cockpit_cmd("snapshot", "--out", "x.png", "--size", "huge")
    assert out.returncode == 2 and "宽x高" in out.stderr and "Traceback" not in out.stderr
