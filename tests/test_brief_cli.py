"""`cockpit brief` as a leader's assistant runs it: one file, every township, and clear refusals."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from cockpit import cli


@pytest.fixture
def out_dir(tmp_path):
    """Where briefings go (tmp_path itself also holds the test's COCKPIT_HOME)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def run(*args):
    return subprocess.run([sys.executable, "-m", "cockpit", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def refused(capsys, *args):
    """A refusal in this process (a process of its own costs 2 s of imports per mistake):
    exit status and stderr, as `cockpit brief ARGS` would give them."""
    try:
        code = cli.main(["brief", *map(str, args)])
    except SystemExit as exc:       # argparse's own refusals
        code = exc.code
    return code, capsys.readouterr().err


def test_a_township_briefing_is_one_pdf_page_and_nothing_else(demo_db, out_dir):
    tmp_path = out_dir
    out = run("brief", "--db", demo_db, "--township", "桃溪镇", "--period", "2025-11",
              "--out", tmp_path / "桃溪镇.pdf")
    assert out.returncode == 0, out.stderr
    assert "已生成 桃溪镇 2025年11月 简报" in out.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["桃溪镇.pdf"]    # no temporary left over
    data = (tmp_path / "桃溪镇.pdf").read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + \
        data.count(b"/Type /Page ") >= 1
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", tmp_path / "桃溪镇.pdf"], capture_output=True,
                              text=True).stdout
        assert "Pages:           1" in info and "(A4)" in info


def test_every_township_gets_its_briefing_with_a_progress_bar(demo_db, tmp_path):
    out = run("brief", "--db", demo_db, "--all", "--out", tmp_path / "briefs")
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in (tmp_path / "briefs").iterdir())
    assert len(files) == 18 and "桃溪镇_2025-12_简报.pdf" in files
    assert "18/18" in out.stderr and "█" in out.stderr


def test_the_county_briefing_in_english(demo_db, tmp_path):
    out = run("brief", "--db", demo_db, "--county", "--lang", "en", "--out",
              tmp_path / "county.pdf")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "county.pdf").stat().st_size > 10_000
    assert "已生成 武义县 2025年12月 简报（英文）" in out.stdout   # the command speaks one language


@pytest.mark.parametrize("args, message", [
    (("--township", "桃花镇"), "没有名为“桃花镇”的地区"),
    (("--township", "桃溪镇", "--period", "2019-05"), "2019-05 不在数据范围内"),
    (("--township", "桃溪镇", "--period", "May"), "月份应写成 YYYY-MM"),
    (("--county",), "输出文件应为 .pdf"),
])
def test_a_mistake_is_one_line_exit_2_and_no_file(demo_db, out_dir, args, message, capsys):
    tmp_path = out_dir
    target = tmp_path / ("county.txt" if args == ("--county",) else "x.pdf")
    code, err = refused(capsys, "--db", demo_db, *args, "--out", target)
    assert code == 2, err
    assert message in err and err.strip().count("\n") == 0
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_an_output_path_that_cannot_be_written_is_refused(demo_db, out_dir, capsys):
    tmp_path = out_dir
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, err = refused(capsys, "--db", demo_db, "--township", "桃溪镇", "--out", blocker / "x.pdf")
    assert code == 2 and "输出目录不存在" in err
    code, err = refused(capsys, "--db", demo_db, "--all", "--out", blocker)
    assert code == 2 and "是文件" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
