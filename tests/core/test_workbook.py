"""Excel out: figures as shown become numbers with their decimals; the file appears whole or not."""
from __future__ import annotations

import openpyxl
import pytest

from cockpit.core.workbook import Column, Number, Sheet, split_shown, write_workbook


@pytest.mark.parametrize("text, value, decimals, unit", [
    ("1,234.5 万件", 1234.5, 1, "万件"), ("−2.3个百分点", -2.3, 1, "个百分点"),
    ("+6件次", 6.0, 0, "件次"), ("96.30%", 96.3, 2, "%"), ("±0.0%", 0.0, 1, "%"),
    ("18", 18.0, 0, ""),
])
def test_a_figure_as_shown_splits_into_its_number_and_unit(text, value, decimals, unit):
    number, rest = split_shown(text)
    assert (number.value, number.decimals, rest) == (value, decimals, unit)


def test_words_and_dashes_are_not_numbers():
    assert split_shown("—") == (None, "—")
    assert split_shown("未报送") == (None, "未报送")


def test_a_workbook_has_a_note_a_frozen_header_and_numbers_with_their_formats(tmp_path):
    sheet = Sheet("乡镇排名", [Column("乡镇", text=True), Column("数值（%）"), Column("排名")],
                  [["桃溪镇", Number(96.34, 1), Number(3)], ["坦洪乡", None, None]],
                  note="2025年12月 · 数据截至 2025年12月")
    path = write_workbook(tmp_path / "out.xlsx", [sheet, Sheet("乡镇排名", [Column("x")])])
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["乡镇排名", "乡镇排名（2）"]
    ws = wb["乡镇排名"]
    assert ws["A1"].value.startswith("2025年12月") and ws.freeze_panes == "A3"
    assert [c.value for c in ws[2]] == ["乡镇", "数值（%）", "排名"]
    assert (ws["B3"].value, ws["B3"].number_format) == (96.3, "#,##0.0")
    assert (ws["C3"].value, ws["C3"].number_format) == (3, "#,##0")
    assert ws["B4"].value is None
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_a_workbook_that_cannot_be_written_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        write_workbook(tmp_path / "missing" / "out.xlsx", [Sheet("表", [Column("x")])])
    assert list(tmp_path.iterdir()) == []
