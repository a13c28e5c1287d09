"""`cockpit validate`, `cockpit import` and `cockpit watch` as a data officer runs them."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from cockpit.warehouse.publish import InboxWatcher

CORPUS = Path(__file__).parent / "corpus"
GOOD = "乡镇（街道）,指标,期间,数值\n熟溪街道,规上工业增加值,2026-01,3.21\n全县,规上工业增加值,2026-01,30.5\n"


def run(*args, timeout=120):
    """A process of its own (the progress bar test); the others run in the test's process."""
    return subprocess.run([sys.executable, "-m", "cockpit", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def test_validate_reports_problems_with_exit_status_1_and_changes_nothing(wh, fingerprint,
                                                                         cockpit_cmd):
    before = fingerprint(wh)
    out = cockpit_cmd("validate", CORPUS / "negative_count.csv", CORPUS / "unknown_region.csv",
                      "--db", wh)
    assert out.returncode == 1, out.stderr
    assert "校验 2 个文件：2 个错误" in out.stdout
    assert ("negative_count.csv 第3行 第4列“数值”：投诉举报量不可能是负数（看到“-3”；应为：不小于 0 的数值）"
            in out.stdout)
    assert "Traceback" not in out.stderr
    assert fingerprint(wh) == before


def test_validate_json_and_a_clean_file_exit_0(wh, tmp_path, cockpit_cmd):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    out = cockpit_cmd("validate", good, "--db", wh, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] and report["errors"] == 0 and report["new_observations"] == 2


def test_a_missing_file_is_one_line_with_exit_status_2(wh, tmp_path, cockpit_cmd):
    out = cockpit_cmd("import", tmp_path / "nope.csv", "--db", wh)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "找不到文件" in out.stderr
    assert "Traceback" not in out.stderr


def test_import_shows_progress_and_publishes_one_snapshot(wh, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    out = run("import", good, "--db", wh)
    assert out.returncode == 0, out.stderr
    assert "100%" in out.stderr and "█" in out.stderr
    assert "已发布快照 000002" in out.stdout and "数据截至 2026年1月" in out.stdout
    info = json.loads(run("info", "--db", wh, "--json").stdout)
    assert info["snapshot"] == "000002" and info["as_of"] == "2026-01"


def test_import_of_a_bad_file_exits_1_and_publishes_nothing(wh, fingerprint, cockpit_cmd):
    before = fingerprint(wh)
    out = cockpit_cmd("import", CORPUS / "placeholder_zanwu.csv", "--db", wh)
    assert out.returncode == 1
    assert "不能导入（数据仓库未作任何改动）" in out.stdout and "占位符“暂无”" in out.stdout
    assert fingerprint(wh) == before


def test_watch_once_archives_good_files_and_quarantines_bad_ones_with_a_report(wh, tmp_path,
                                                                              cockpit_cmd):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.csv").write_text(GOOD, encoding="utf-8")
    (inbox / "坏文件.csv").write_bytes((CORPUS / "rate_over_100.csv").read_bytes())
    (inbox / "~$open.xlsx").write_bytes(b"excel lock file")  # Excel's lock file is left alone
    out = cockpit_cmd("watch", inbox, "--db", wh, "--once", "--settle", "0.1", "--interval", "0.1")
    assert out.returncode == 1, out.stderr  # one file was quarantined
    assert sorted(p.name for p in (inbox / "archive").iterdir()) == ["good.csv"]
    assert sorted(p.name for p in (inbox / "quarantine").iterdir()) == [
        "坏文件.csv", "坏文件.csv.错误报告.txt"]
    report = (inbox / "quarantine" / "坏文件.csv.错误报告.txt").read_text(encoding="utf-8")
    assert "未导入任何数据" in report
    assert "坏文件.csv 第2行 第4列“数值”：网办率是比率，不可能超过 100%（看到“103.5”" in report
    assert "✓ good.csv → 已发布快照 000002" in out.stdout
    assert "✗ 坏文件.csv：1 个错误 → quarantine/坏文件.csv" in out.stdout
    assert (inbox / "~$open.xlsx").exists()
    again = cockpit_cmd("watch", inbox, "--db", wh, "--once", "--settle", "0.1",
                        "--interval", "0.1")
    assert again.returncode == 0 and again.stdout == ""


def test_watch_of_a_missing_inbox_is_a_usage_error(wh, tmp_path, cockpit_cmd):
    out = cockpit_cmd("watch", tmp_path / "no-inbox", "--db", wh, "--once")
    assert out.returncode == 2 and "收件箱目录不存在" in out.stderr


def test_a_file_still_being_written_waits_until_its_size_is_stable(wh, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    log: list[str] = []
    watcher = InboxWatcher(inbox, wh, settle=0.0, log=log.append)
    growing = inbox / "growing.csv"
    growing.write_text(GOOD.splitlines()[0] + "\n", encoding="utf-8")
    assert watcher.poll() == []  # first sight: only noted
    with open(growing, "a", encoding="utf-8") as f:
        f.write(GOOD.splitlines()[1] + "\n")
    time.sleep(0.01)
    assert watcher.poll() == []  # it changed since: still waiting
    [outcome] = watcher.poll()  # unchanged since the last look: processed
    assert outcome.status == "imported" and outcome.moved_to == inbox / "archive" / "growing.csv"
    assert watcher.pending() == 0


def test_a_shapefile_set_travels_together_into_quarantine(wh, tmp_path, layer_writer):
    from shapely.geometry import Polygon

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ring = Polygon([(470000, 3190000), (470000, 3200000), (480000, 3200000), (470000, 3190000)])
    layer_writer(inbox / "界线.shp", [ring], {"NAME": ["桃溪镇"]}, crs=None)
    (inbox / "界线.cpg").unlink()
    watcher = InboxWatcher(inbox, wh, settle=0.0, log=lambda line: None)
    outcomes = watcher.run(interval=0.05, once=True, timeout=30)
    assert [o.status for o in outcomes] == ["quarantined"]
    assert sorted(p.name for p in (inbox / "quarantine").iterdir()) == [
        "界线.dbf", "界线.shp", "界线.shp.错误报告.txt", "界线.shx"]
    assert "没有说明坐标系" in (inbox / "quarantine" / "界线.shp.错误报告.txt").read_text("utf-8")


def test_a_mapinfo_table_travels_with_its_dat_map_and_id_files(wh, tmp_path, layer_writer):
    from shapely.geometry import box

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    layer_writer(inbox / "界线.tab", [box(119.80, 28.88, 119.83, 28.91)], {"NAME": ["桃溪镇"]},
                 driver="MapInfo File")
    parts = sorted(p.name for p in inbox.iterdir())
    assert parts == ["界线.dat", "界线.id", "界线.map", "界线.tab"]
    watcher = InboxWatcher(inbox, wh, settle=0.0, log=lambda line: None)
    [outcome] = watcher.run(interval=0.05, once=True, timeout=30)
    assert outcome.status == "imported", outcome.message
    assert sorted(p.name for p in (inbox / "archive").iterdir()) == parts
