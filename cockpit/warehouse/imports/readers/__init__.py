"""Opening a file of any supported kind: CSV and text (`delimited`), spreadsheets (`workbooks`),
Parquet (`parquet`), boundary files (`vector`); each reader hands its table to `parsing` and
returns what was found, and any failure inside a reader becomes a problem with the file.
"""
from __future__ import annotations

import csv
from pathlib import Path

from ..matching import IndicatorMatcher
from ..parsing import HEADER_SCAN_ROWS, FileRead, columns_missing
from ..problems import Problem, display_name, file_problem
from . import vector
from .delimited import decode_text, read_csv, sniff_delimiter
from .parquet import read_parquet
from .workbooks import read_spreadsheet

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
# WPS Spreadsheets' .et/.ett are BIFF (like .xls) or OOXML inside: calamine tells by the content.
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et", ".ett"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


def sheet_grids(path: Path):
    """(sheet, kind, rows) of each table-like part of a text or spreadsheet file (targets files)."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        text, _ = decode_text(path.read_bytes())
        lines = text.splitlines()
        delimiter = sniff_delimiter(lines[:HEADER_SCAN_ROWS])
        yield None, "csv", list(csv.reader(lines, delimiter=delimiter))
    elif suffix in SPREADSHEET_SUFFIXES:
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

        with open(path, "rb") as f:
            wb = CalamineWorkbook.from_filelike(f)
        with wb:
            for meta in wb.sheets_metadata:
                if meta.visible == SheetVisibleEnum.Visible and meta.typ == SheetTypeEnum.WorkSheet:
                    yield meta.name, "xlsx", wb.get_sheet_by_name(meta.name).to_python(
                        skip_empty_area=False)


def headed_tables(path: Path, find_header, required, names: dict[str, str], what: str,
                  problems: list[Problem]) -> list[tuple]:
    """(sheet, kind, rows, header index, roles) of each table of a text or spreadsheet file whose
    header `find_header(rows)` recognises, when it has every required column; else a problem
    naming the missing ones, or one for a file that cannot be read (`what` it should have been)."""
    file = display_name(path)
    try:
        grids = list(sheet_grids(path))
    except Exception as exc:
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        problems.append(Problem("error", "unreadable", file,
                                message=f"无法读取文件（{type(exc).__name__}）",
                                expected=f"CSV 或电子表格（.xlsx、.xls、.ods、.et）{what}"))
        return []
    found_tables = []
    for sheet, kind, rows in grids:
        found = find_header(rows)
        if found is None:
            continue
        index, roles = found
        missing = [r for r in required if r not in roles]
        if missing:
            problems.append(columns_missing(file, sheet, index, missing, required, names))
            continue
        found_tables.append((sheet, kind, rows, index, roles))
    return found_tables


def read_file(path, indicators: IndicatorMatcher | None = None, *,
              layer: str | None = None) -> FileRead:
    """Read one file of any supported kind; problems that stop it being read are in `.problems`.

    This is the one place a failure inside a reader is caught: whatever a broken or hostile file
    does to a parser becomes a problem with the file, never a traceback. `layer` names the layer
    of a multi-layer boundary file (GeoPackage, KML).
    """
    path = Path(path)
    try:
        return _read_file(path, indicators, layer)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # MemoryError, RecursionError, a parser's own bug …
        out = FileRead(path)
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        out.problems.append(file_problem(
            out.file, f"文件无法读取：读取时出错（{type(exc).__name__}{'：' + detail if detail else ''}）",
            value=path.suffix, check="unreadable",
            expected="完好的文件（可用制作它的软件重新打开、另存后再导入）"))
        return out


def _read_file(path: Path, indicators: IndicatorMatcher | None, layer: str | None) -> FileRead:
    suffix = path.suffix.lower()
    if not path.is_file():
        out = FileRead(path)
        out.problems.append(file_problem(out.file, "文件不存在", value=display_name(path.parent) + "/",
                                         check="unreadable", expected="一个存在的文件"))
        return out
    if suffix in CSV_SUFFIXES:
        return read_csv(path, indicators)
    if suffix in SPREADSHEET_SUFFIXES:
        return read_spreadsheet(path, indicators)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(path, indicators)
    if suffix in vector.BOUNDARY_SUFFIXES:
        out = FileRead(path)
        result = vector.read_boundaries(path, layer=layer)
        out.boundaries = result
        out.problems.extend(result.problems)
        return out
    out = FileRead(path)
    out.problems.append(file_problem(
        out.file, f"不支持的文件类型“{suffix or '（无扩展名）'}”", value=out.file,
        check="unsupported",
        expected="CSV（.csv/.txt）、Excel（.xlsx/.xls/.xlsb）、WPS（.et）、OpenDocument（.ods）、"
                 "Parquet，或边界文件 GeoJSON、Shapefile（.shp）、GeoPackage（.gpkg）、KML、"
                 "MapInfo（.tab/.mif）"))
    return out
