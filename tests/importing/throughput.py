"""Import throughput: rows per second for long tables in CSV, XLSX, XLS, ODS and Parquet, and features per
second for boundary files (GeoJSON, Shapefile, GeoPackage, KML, MapInfo).

Not a test (pytest does not collect it): run by hand, it writes its files under a scratch folder.

    python tests/importing/throughput.py [--out /tmp/cockpit-throughput]
                                         [--formats csv,parquet,xlsx,xls,ods,vector]

The CSV, XLSX and Parquet files hold the demo catalogue's township indicators for every month
(quarter, year) from 1900 to 2025 for all 18 townships of the demo: 1,013,796 distinct facts. An
.xls sheet holds at most 65,536 rows, so the XLS file holds the first 65,000 of them; the ODS file
the first 200,000 (both written by LibreOffice from an XLSX: `soffice` must be installed). Each
import goes into a fresh copy of the demo warehouse and is timed end to end (read, validate,
publish). The vector files hold 20,000 projected (CGCS2000 / Gauss-Kruger) polygons of 60
vertices; `read_boundaries` is timed (read, reproject, check validity).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cockpit.core.catalogue import DEMO_CATALOGUE
from cockpit.warehouse.demo import TOWNSHIP_CODES, build_demo
from cockpit.warehouse.publish import import_files

FIRST_YEAR, LAST_YEAR = 1900, 2025


def long_table() -> pa.Table:
    cols = {"region": [], "indicator": [], "period": [], "value": []}
    for ind in DEMO_CATALOGUE:
        if ind.county_only:
            continue
        months = {"month": range(1, 13), "quarter": (3, 6, 9, 12), "year": (12,)}[ind.frequency]
        for k, code in enumerate(TOWNSHIP_CODES.values()):
            for year in range(FIRST_YEAR, LAST_YEAR + 1):
                for month in months:
                    cols["region"].append(code)
                    cols["indicator"].append(ind.code)
                    cols["period"].append(f"{year}-{month:02d}")
                    cols["value"].append(round(50 + k + month / 10, 1))
    return pa.table({k: pa.array(v) for k, v in cols.items()})


def write_xlsx(path: Path, table: pa.Table) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("长表")
    ws.append(["乡镇（街道）代码", "指标代码", "期间", "数值"])
    for row in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        ws.append(list(row))
    wb.save(path)


def libreoffice(source: Path, suffix: str, target: Path) -> None:
    """`source` converted by LibreOffice, saved as `target`."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", "--convert-to", suffix.lstrip("."), "--outdir",
                        tmp, str(source)], check=True, capture_output=True, timeout=3600)
        shutil.move(str(Path(tmp) / (source.stem + suffix)), target)


def write_files(out: Path, formats: list[str]) -> dict[str, Path]:
    """The files, written unless a previous run left them."""
    table = long_table()
    files = {}
    for fmt, rows in (("xls", 65_000), ("ods", 200_000)):
        if fmt in formats and not (out / f"facts.{fmt}").exists():
            part = out / f"facts-{fmt}.xlsx"
            write_xlsx(part, table.slice(0, rows))
            libreoffice(part, f".{fmt}", out / f"facts.{fmt}")
    formats = [f for f in formats if f in ("csv", "parquet", "xlsx")
               and not (out / f"facts.{f}").exists()]
    if "csv" in formats:
        files["csv"] = out / "facts.csv"
        pacsv.write_csv(table, files["csv"])
    if "parquet" in formats:
        files["parquet"] = out / "facts.parquet"
        pq.write_table(table, files["parquet"])
    if "xlsx" in formats:
        files["xlsx"] = out / "facts.xlsx"
        write_xlsx(files["xlsx"], table)
    return files


VECTOR = {"geojson": ("GeoJSON", ".geojson"), "shapefile": (None, ".shp"),
          "geopackage": (None, ".gpkg"), "kml": ("KML", ".kml"), "mapinfo": ("MapInfo File", ".tab")}


def vector_files(out: Path, count: int = 20_000) -> dict[str, Path]:
    """`count` polygons in a grid over the county, in CGCS2000 3-degree GK CM 120E (EPSG:4549),
    except KML and GeoJSON, which are lon/lat by definition."""
    import numpy as np
    import pyogrio
    import pyproj
    import shapely

    side = int(count ** 0.5)
    x0, y0, step = 460_000, 3_170_000, 300.0
    angles = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    polygons = [shapely.Polygon(np.column_stack([x0 + (i + 0.5) * step + 140 * np.cos(angles),
                                                 y0 + (j + 0.5) * step + 140 * np.sin(angles)]))
                for i in range(side) for j in range(side)]
    to_lonlat = pyproj.Transformer.from_crs(4549, 4326, always_xy=True)
    lonlat = [shapely.transform(p, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0],
                                                                                  xy[:, 1])))
              for p in polygons]
    files = {}
    for kind, (driver, suffix) in VECTOR.items():
        path = out / f"boundaries{suffix}"
        files[kind] = path
        if path.exists():
            continue
        geographic = kind in ("geojson", "kml")
        geoms = lonlat if geographic else polygons
        pyogrio.raw.write(str(path), np.array([shapely.to_wkb(g) for g in geoms], dtype=object),
                          [np.array([f"乡镇{k}" for k in range(len(geoms))], dtype=object)],
                          ["NAME"], driver=driver, geometry_type="Polygon",
                          crs="EPSG:4326" if geographic else "EPSG:4549")
    return files


def time_vectors(out: Path) -> dict:
    from cockpit.warehouse.imports.readers.vector import read_boundaries

    results = {}
    for kind, path in vector_files(out).items():
        started = time.perf_counter()
        read = read_boundaries(path)
        seconds = time.perf_counter() - started
        assert len(read.features) > 0 and not [p for p in read.problems if p.is_error], kind
        n = len(read.features)
        results[kind] = {"features": n, "seconds": round(seconds, 2),
                         "features_per_second": round(n / seconds)}
        print(f"{kind:10s} {n:,} features  {seconds:6.2f} s  {n / seconds:10,.0f} features/s",
              flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/cockpit-throughput")
    parser.add_argument("--formats", default="csv,parquet,xlsx,xls,ods,vector")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    formats = args.formats.split(",")
    t0 = time.perf_counter()
    files = {f: out / f"facts.{f}" for f in formats if f != "vector"}
    write_files(out, formats)
    print(f"files written in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    base = out / "demo"
    if not base.exists():
        build_demo(base, end=date(2025, 12, 1))
    results = {}
    for fmt, path in files.items():
        wh = out / f"wh-{fmt}"
        shutil.rmtree(wh, ignore_errors=True)
        shutil.copytree(base, wh)
        started = time.perf_counter()
        result = import_files([path], wh)
        seconds = time.perf_counter() - started
        assert result.published, result.report.format()[:2000]
        rows = result.observations
        results[fmt] = {"rows": rows, "seconds": round(seconds, 2),
                        "rows_per_second": round(rows / seconds),
                        "file_mb": round(path.stat().st_size / 1e6, 1),
                        "stages": {k: round(v, 2) for k, v in result.stages.items()}}
        print(f"{fmt:8s} {rows:,} rows  {seconds:6.1f} s  {rows / seconds:10,.0f} rows/s  "
              f"{results[fmt]['stages']}", flush=True)
    if "vector" in formats:
        results["vector"] = time_vectors(out)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
