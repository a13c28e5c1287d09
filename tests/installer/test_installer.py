"""The offline one-folder build: `pyinstaller build_installer.spec` makes a folder that runs the
cockpit with no Python — built here into a temporary folder, then smoke-tested in a clean
environment (no venv on PATH, no PYTHONPATH, a fresh HOME)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "build_installer.spec"

pytestmark = [pytest.mark.slow, pytest.mark.heavy(150)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    pytest.importorskip(
        "PyInstaller", reason="PyInstaller is not installed (pip install -e '.[test]' brings it)")
    work = tmp_path_factory.mktemp("installer")
    out = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(work / "dist"), "--workpath", str(work / "build"), str(SPEC)],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    folder = work / "dist" / "CityCockpit"
    assert folder.is_dir()
    return folder


def _command_line_exe(folder: Path) -> Path:
    # On Windows the window app has no console; cockpit.exe is the same program for the terminal.
    return folder / ("cockpit.exe" if os.name == "nt" else "CityCockpit")


def _clean_env(home: Path) -> dict[str, str]:
    """What a machine without Python offers: system PATH only, a fresh home, no display."""
    env = {"HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen"}
    if os.name == "nt":
        system_root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        env.update(SYSTEMROOT=system_root, PATH=rf"{system_root}\System32",
                   USERPROFILE=str(home), LOCALAPPDATA=str(home / "AppData" / "Local"),
                   TEMP=str(home), TMP=str(home))
    else:
        env["PATH"] = "/usr/bin:/bin"
    return env


def _run_frozen(folder: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(_command_line_exe(folder)), *args], cwd=home, env=_clean_env(home),
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def test_frozen_app_passes_its_self_test_without_python(bundle, tmp_path):
    out = _run_frozen(bundle, tmp_path / "home", "--self-test")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("自检通过：武义县 18 个乡镇（街道）")
    assert "离屏渲染正常" in out.stdout


def test_frozen_app_builds_the_demo_and_renders_a_snapshot(bundle, tmp_path):
    home = tmp_path / "home"
    png = tmp_path / "cockpit.png"
    out = _run_frozen(bundle, home, "snapshot", "--out", str(png), "--township", "桃溪镇",
                      "--domain", "生态环境")
    assert out.returncode == 0, out.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 100_000
    # The demo warehouse was built on first run from the bundled inputs, in the user's home.
    demo = (home / "AppData" / "Local" / "CityCockpit" / "demo" if os.name == "nt"
            else home / ".local" / "share" / "city-cockpit" / "demo")
    assert any((demo / "snapshots").glob("*.duckdb"))


def test_frozen_app_reads_spreadsheets_and_gis_files(bundle, tmp_path):
    """calamine (.xls) and GDAL with its data (a GeoPackage, a projected Shapefile) in the bundle."""
    import numpy as np
    import pyogrio
    import shapely

    home = tmp_path / "home"
    square = shapely.box(470000, 3190000, 471000, 3191000)
    for name, crs in (("界.gpkg", "EPSG:4549"), ("界.shp", "EPSG:4549")):
        pyogrio.raw.write(str(tmp_path / name), np.array([shapely.to_wkb(square)], dtype=object),
                          [np.array(["桃溪镇"], dtype=object)], ["NAME"], geometry_type="Polygon",
                          crs=crs)
    xls = ROOT / "tests" / "importing" / "samples" / "规上工业增加值2025.xls"
    out = _run_frozen(bundle, home, "validate", str(xls), str(tmp_path / "界.gpkg"),
                      str(tmp_path / "界.shp"))
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    assert "工作表“规上工业增加值”（宽表，228 个数值" in out.stdout, out.stdout
    # Read and reprojected from CGCS2000 / 3-degree GK CM 120E (which needs PROJ's database): the
    # square lands in 桃溪镇 in both files, so the second is refused as that township's duplicate.
    assert out.stdout.count("（边界，1 个要素）") == 2, out.stdout
    assert "桃溪镇的边界在两个文件中出现" in out.stdout, out.stdout


def test_bundle_carries_the_assets_and_demo_inputs(bundle):
    internal = bundle / "_internal"
    for folder in ("assets", "data"):
        for source in (ROOT / folder).rglob("*"):
            rel = source.relative_to(ROOT)
            if (source.is_file() and source.suffix not in (".py", ".pyc")
                    and "screenshots" not in rel.parts and "__pycache__" not in rel.parts):
                assert (internal / rel).is_file(), f"{rel} missing from the bundle"


def test_bundle_leaves_out_what_the_app_does_not_use(bundle):
    names = {path.name for path in (bundle / "_internal").rglob("*")}
    unused = [name for name in names if name.startswith((
        "libarrow_flight", "arrow_flight", "libarrow_s3", "arrow_s3", "_flight.", "_s3fs.",
        "QtNetwork.abi3", "QtNetwork.pyd", "libQt6Network", "Qt6Network", "QtTest.abi3",
        "QtTest.pyd", "libqgtk3", "libqeglfs", "libqvnc", "libqlinuxfb", "libgtk-3",
        "qt_help_", "designer_", "assistant_"))]
    assert not unused, f"trimmed parts came back: {sorted(unused)}"
    assert not list((bundle / "_internal").rglob("include/arrow/*.h"))
