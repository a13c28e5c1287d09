"""Spreadsheets (.xlsx .xlsm .xls .xlsb .ods, WPS .et) through calamine, a Rust reader (about ten
times openpyxl's speed), with their merged cells, which calamine reports for some formats only."""
from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

from ..matching import IndicatorMatcher
from ..parsing import (HEADER_SCAN_ROWS, FileRead, Header, find_header, is_blank,
                       is_catalogue_table, is_targets_table, read_grid)
from ..problems import file_problem
from ..text import cell_text


def _ods_merges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges of one OpenDocument sheet, from content.xml (calamine reports none for ODS)."""
    import xml.etree.ElementTree as ET

    t = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    merges = []
    with zipfile.ZipFile(path) as zf, zf.open("content.xml") as xml:
        inside = False
        r = c = 0
        for event, el in ET.iterparse(xml, events=("start", "end")):
            if el.tag == t + "table":
                if event == "start":
                    inside = el.get(t + "name") == sheet
                    r = 0
                elif inside:
                    break
                continue
            if not inside:
                continue
            if el.tag == t + "table-row":
                if event == "start":
                    c = 0
                else:
                    r += int(el.get(t + "number-rows-repeated", "1"))
                    el.clear()
            elif el.tag in (t + "table-cell", t + "covered-table-cell") and event == "start":
                cols = int(el.get(t + "number-columns-spanned", "1"))
                rows = int(el.get(t + "number-rows-spanned", "1"))
                if cols > 1 or rows > 1:
                    merges.append((r, c, r + rows - 1, c + cols - 1))
                c += int(el.get(t + "number-columns-repeated", "1"))
    return merges


def _forward_filled_header(grid: list[list], header: Header) -> list[tuple[int, int, int, int]]:
    """For files whose reader reports no merged cells (.xlsb): in the header rows above the last,
    an empty cell right of a heading, over a column the last header row names, is taken as
    covered by that heading, as a merged 2025年 over 1月…12月 is."""
    rcol = header.roles["region" if "region" in header.roles else "code"][0]
    region_header = cell_text(grid[header.index][rcol])
    last = header.index
    while last + 1 < len(grid) and cell_text(grid[last + 1][rcol] if rcol < len(grid[last + 1])
                                             else "") in ("", region_header) \
            and not is_blank(grid[last + 1]):
        last += 1
    named = grid[last]
    merges = []
    for r in range(header.index, last):
        row = grid[r]
        j = 0
        while j < len(row):
            k = j + 1
            if cell_text(row[j]):
                while k < len(row) and not cell_text(row[k]) and k < len(named) \
                        and cell_text(named[k]):
                    k += 1
                if k - 1 > j:
                    merges.append((r, j, r, k - 1))
            j = k
    return merges


def _sheet_merges(path: Path, sheet, name: str, grid: list[list]):
    ranges = sheet.merged_cell_ranges
    if ranges is not None:
        return [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in ranges]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            is_ods = "content.xml" in zf.namelist()
        if is_ods:
            return _ods_merges(path, name)
    header = find_header(grid[:HEADER_SCAN_ROWS])
    return [] if header is None else _forward_filled_header(grid, header)


def read_spreadsheet(path: Path, indicators: IndicatorMatcher | None = None) -> FileRead:
    """Every visible worksheet of a workbook: .xlsx/.xlsm, .xls, .xlsb, .ods, or WPS's .et."""
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

    out = FileRead(path)
    file = out.file
    try:
        with open(path, "rb") as f:  # by content, not by name: a WPS .et is BIFF or OOXML inside
            wb = CalamineWorkbook.from_filelike(f)
    except PasswordError:
        out.problems.append(file_problem(file, "工作簿设置了打开密码，无法读取", value=path.suffix,
                                         check="unreadable", expected="去掉打开密码后另存的工作簿"))
        return out
    except Exception as exc:  # calamine's errors for a file that is no workbook at all
        out.problems.append(file_problem(
            file, f"无法读取电子表格（{str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__}）",
            value=path.suffix, check="unreadable",
            expected="Excel（.xlsx、.xls、.xlsb）、WPS（.et）或 OpenDocument（.ods）工作簿"))
        return out
    sheets = []
    with wb:
        for meta in wb.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible or meta.typ != SheetTypeEnum.WorkSheet:
                continue
            try:
                sheet = wb.get_sheet_by_name(meta.name)
                sheets.append((meta.name, sheet, sheet.to_python(skip_empty_area=False)))
            except Exception as exc:  # one damaged sheet: the others can still be judged
                out.problems.append(file_problem(
                    file, f"工作表无法读取（{str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__}）",
                    sheet=meta.name, check="unreadable", expected="完好的工作表"))
    # Parsing a sheet is the slow part: the targets header is looked for in what was read.
    if any(is_catalogue_table(grid[:HEADER_SCAN_ROWS]) for _, _, grid in sheets):
        out.catalogue = True
        out.problems = []
        return out
    if any(is_targets_table(grid[:HEADER_SCAN_ROWS]) for _, _, grid in sheets):
        out.targets = True
        out.problems = []
        return out
    for name, sheet, grid in sheets:
        read_grid(file, path, name, grid, "xlsx", out, indicators,
                  merges_for=lambda s=sheet, n=name, g=grid: _sheet_merges(path, s, n, g))
    if out.observations or out.events:
        # A workbook's extra sheets (填报说明, 目录 …) are not tables: skip them, say so.
        out.problems = [dataclasses.replace(
            p, severity="warning", message="工作表中没有可识别的表头，已跳过", expected=None)
            if p.check == "no_header" else p for p in out.problems]
    if not out.observations and not out.events and not out.problems:
        out.problems.append(file_problem(file, "工作簿中没有数据", check="empty_file",
                                         expected="至少一个带表头的工作表"))
    return out
