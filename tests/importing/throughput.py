"""Import throughput: rows per second for a long table of about a million rows in CSV, XLSX and Parquet.

Not a test (pytest does not collect it): run by hand, it writes its files under a scratch folder.

    python tests/importing/throughput.py [--out /tmp/cockpit-throughput] [--formats csv,parquet,xlsx]

Each file holds the demo catalogue's township indicators for every month (quarter, year) from
1900 to 2025 for all 18 townships of the demo: 1,013,796 distinct facts. Each import goes into a
fresh copy of the demo warehouse and is timed end to end (read, validate, publish).
"""
from __future__ import annotations

import argparse
import json
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


def write_files(out: Path, formats: list[str]) -> dict[str, Path]:
    """The files, written unless a previous run left them."""
    table = long_table()
    files = {}
    formats = [f for f in formats if not (out / f"facts.{f}").exists()]
    if "csv" in formats:
        files["csv"] = out / "facts.csv"
        pacsv.write_csv(table, files["csv"])
    if "parquet" in formats:
        files["parquet"] = out / "facts.parquet"
        pq.write_table(table, files["parquet"])
    if "xlsx" in formats:
        import openpyxl

        files["xlsx"] = out / "facts.xlsx"
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("长表")
        ws.append(["乡镇（街道）代码", "指标代码", "期间", "数值"])
        for row in zip(*(table.column(c).to_pylist() for c in table.column_names)):
            ws.append(list(row))
        wb.save(files["xlsx"])
    return files


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/cockpit-throughput")
    parser.add_argument("--formats", default="csv,parquet,xlsx")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    formats = args.formats.split(",")
    t0 = time.perf_counter()
    files = {f: out / f"facts.{f}" for f in formats}
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
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
