"""Good files of every kind, damaged at random (truncated, bytes flipped, re-encoded): whatever the damage,
an import ends in a report, never an exception, and either publishes a whole snapshot or changes nothing."""
from __future__ import annotations

import functools
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from cockpit.warehouse.publish import import_files
from cockpit.warehouse.store import SnapshotStore

pytestmark = pytest.mark.heavy(15)

SAMPLES = Path(__file__).parent / "samples"
LONG = ("乡镇（街道）,指标,期间,数值,单位\n熟溪街道,规上工业增加值,2025-06,3.21,亿元\n"
        "桃溪镇,投诉举报量,2025-06,12,件\n全县,规上工业增加值,2025-06,30.5,亿元\n")
EVENTS = ("编号,乡镇,来源,类别,摘要,上报时间,办理期限,办结时间,状态\n"
          "E1,桃溪镇,12345,噪声,夜间施工,2025-11-01 09:00,2025-11-05 09:00,,处置中\n")


@functools.cache
def good_files(folder: Path) -> dict[str, bytes]:
    """name → bytes of one good file per reader (a Shapefile is damaged in its .shp or .dbf)."""
    import numpy as np
    import pyogrio
    import shapely

    folder.mkdir(exist_ok=True)
    files = {"long.csv": LONG.encode("utf-8"), "events.csv": EVENTS.encode("utf-8"),
             "long_gbk.csv": LONG.encode("gbk")}
    wb = openpyxl.Workbook()
    for line in LONG.splitlines():
        wb.active.append(line.split(","))
    wb.save(folder / "long.xlsx")
    pq.write_table(pa.table({"region": ["330723001"], "indicator": ["eco_fai"],
                             "period": ["2025-06"], "value": [1.5]}), folder / "long.parquet")
    township = box(119.80, 28.88, 119.83, 28.91)
    for name, driver in (("b.geojson", "GeoJSON"), ("b.kml", "KML"), ("b.shp", None),
                         ("b.gpkg", None)):
        pyogrio.raw.write(str(folder / name), np.array([shapely.to_wkb(township)], dtype=object),
                          [np.array(["熟溪街道"], dtype=object)], ["name"], driver=driver,
                          geometry_type="Polygon", crs="EPSG:4326")
    for path in folder.iterdir():
        files[path.name] = path.read_bytes()
    for path in SAMPLES.iterdir():
        files[path.name] = path.read_bytes()
    return files


DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("encode"), st.sampled_from(["gbk", "utf-16", "utf-16-be", "latin-1",
                                                  "utf-32", "big5"])),
)
TARGETS = ["long.csv", "events.csv", "long_gbk.csv", "long.xlsx", "long.parquet", "b.geojson",
           "b.kml", "b.shp", "b.dbf", "b.gpkg", "规上工业增加值2025.xls", "规上工业增加值2025.ods"]


def damaged(data: bytes, damage) -> bytes:
    kind, how = damage
    if kind == "truncate":
        return data[:int(len(data) * how)]
    if kind == "flip":
        out = bytearray(data)
        for where, mask in how:
            if out:
                out[min(int(where * len(out)), len(out) - 1)] ^= mask
        return bytes(out)
    return data.decode("utf-8", "replace").encode(how, "replace")


def snapshot_version(db) -> int:
    return SnapshotStore(db).current().version


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), damage=DAMAGE)
def test_a_damaged_file_ends_in_a_report_and_never_in_a_partial_write(target, damage, module_wh,
                                                                      fingerprint,
                                                                      tmp_path_factory):
    good = good_files(tmp_path_factory.getbasetemp() / "good")
    folder = tmp_path_factory.mktemp("fuzz")
    for name, data in good.items():
        if name.startswith("b.") and target.startswith("b."):
            (folder / name).write_bytes(data)  # a Shapefile's other parts stay whole
    (folder / target).write_bytes(damaged(good[target], damage))
    main = folder / ("b.shp" if target == "b.dbf" else target)
    before = fingerprint(module_wh)

    result = import_files([main], module_wh)  # must not raise

    after = fingerprint(module_wh)
    if result.published:
        assert result.report.ok and after[0] == before[0] + 1
    else:
        assert after == before, result.report.format()
        assert result.report.errors, "refused without saying why"
        assert all(p.file == main.name for p in result.report.problems)
