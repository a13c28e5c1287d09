"""Writing tables to Excel (.xlsx) the way the departments read them: numbers as numbers with the
decimals shown on screen, units in the headers (or a unit column where rows differ), a note row
with period, as-of date and source, a frozen header, Chinese sheet names — written to a temporary
name and renamed, so a failed export leaves nothing behind.
"""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

_SHOWN = re.compile(r"^([+\-−±]?)\s*((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?)\s*(.*)$")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Number:
    """A cell's number and how many decimals it is shown with."""
    value: float
    decimals: int = 0


def split_shown(text: str | None) -> tuple[Number | None, str]:
    """A figure as a screen shows it, back to its number and unit: "1,234.5 万件" → (1234.5 with
    1 decimal, "万件"); "−2.3个百分点" → (−2.3, "个百分点"); "—" or words → (None, text)."""
    if text is None:
        return None, ""
    m = _SHOWN.match(text.strip())
    if not m:
        return None, text.strip()
    sign, digits, decimals, unit = m.groups()
    value = float(digits.replace(",", ""))
    if sign in ("-", "−"):
        value = -value
    return Number(value, len(decimals or "")), unit.strip()


def number_format(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals > 0 else "")


def shown(value: float, decimals: int) -> str:
    """A number written as Excel shows it under `number_format(decimals)`."""
    return f"{value:,.{decimals}f}"


@dataclass(frozen=True)
class Column:
    header: str               # with its unit: 数值（%）
    width: float = 12         # characters
    text: bool = False        # a text column (names, words)


@dataclass
class Sheet:
    name: str                             # Chinese, ≤ 31 characters
    columns: list[Column]
    rows: list[list] = field(default_factory=list)   # str, Number, int/float or None
    note: str = ""

    @property
    def title(self) -> str:
        return _SHEET_BAD.sub("·", self.name)[:31]


def write_workbook(path, sheets: list[Sheet]) -> Path:
    """Write the sheets to `path` (.xlsx) atomically; raises OSError when it cannot."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    header_fill = PatternFill("solid", fgColor="DDE6F0")
    for sheet in sheets:
        title = sheet.title
        k = 2
        while title in used:
            title = f"{sheet.title[:28]}（{k}）"
            k += 1
        used.add(title)
        ws = wb.create_sheet(title)
        ws.append([sheet.note])
        ws.cell(1, 1).font = Font(italic=True, color="555555")
        ws.append([c.header for c in sheet.columns])
        for j, c in enumerate(sheet.columns, start=1):
            cell = ws.cell(2, j)
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="left" if c.text else "right")
            ws.column_dimensions[get_column_letter(j)].width = c.width
        for r, row in enumerate(sheet.rows, start=3):
            for j, value in enumerate(row, start=1):
                cell = ws.cell(r, j)
                if isinstance(value, Number):
                    cell.value = round(value.value, value.decimals) if value.decimals \
                        else int(round(value.value))
                    cell.number_format = number_format(value.decimals)
                elif isinstance(value, bool):
                    cell.value = str(value)
                elif isinstance(value, (int, float)):
                    cell.value = value
                    cell.number_format = number_format(0 if isinstance(value, int) else 2)
                else:
                    cell.value = value
        ws.freeze_panes = "A3"   # the note and the header stay in view
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
