"""Text tables: CSV and TSV in UTF-8, GBK or UTF-16 (Excel's "Unicode text"), big long tables
parsed column-wise by pyarrow, the rest row by row."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..matching import IndicatorMatcher
from ..parsing import (HEADER_SCAN_ROWS, LONG_REQUIRED, FileRead, Header, ObservationSource,
                       find_header, is_catalogue_table, is_note, is_targets_table,
                       long_from_columns, missing_columns_problem, read_grid, table_rows)
from ..problems import file_problem


class TextEncodingError(ValueError):
    """Bytes that are no one encoding: `row` is the first line that does not fit."""

    def __init__(self, message: str, row: int | None, value: str | None, expected: str):
        super().__init__(message)
        self.message, self.row, self.value, self.expected = message, row, value, expected


def _looks_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of mostly-ASCII text is zero."""
    sample = data[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * len(sample) / 2 and even < 0.05 * len(sample) / 2:
        return "utf-16-le"
    if even > 0.4 * len(sample) / 2 and odd < 0.05 * len(sample) / 2:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-16 (Excel's "Unicode text"), else UTF-8 (with or without BOM), else
    GB18030 (⊃ GBK). A file mixing UTF-8 and GBK lines, or with bytes no encoding reads, raises
    TextEncodingError naming the first line that does not fit."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (utf16 := _looks_utf16(data)):
        try:
            return data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else utf16), \
                "UTF-16"
        except UnicodeDecodeError as exc:
            raise TextEncodingError("UTF-16 文本中有无效字节", None, f"第{exc.start}字节",
                                    "完整的 UTF-16 文本（Excel“Unicode 文本”）") from None
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole: GBK, unless some lines are UTF-8 (files pasted together) or neither.
    utf8_line = other_line = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
            utf8_line = utf8_line or number
        except UnicodeDecodeError:
            try:
                line.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise TextEncodingError(
                    "这一行有既不是 UTF-8 也不是 GBK 的字节", number,
                    line[max(0, exc.start - 8):exc.start + 8].hex(" "),
                    "整个文件用同一种编码（UTF-8 或 GBK）保存") from None
            other_line = other_line or number
        if utf8_line and other_line:
            first, second = sorted((utf8_line, other_line))
            names = ("UTF-8", "GBK") if first == utf8_line else ("GBK", "UTF-8")
            raise TextEncodingError(
                f"文件混用了两种文字编码：第{first}行是 {names[0]}，第{second}行是 {names[1]}",
                second, None, "整个文件用同一种编码保存（建议另存为 UTF-8）")
    return data.decode("gb18030"), "GB18030"


def sniff_delimiter(lines: list[str]) -> str:
    best, best_count = ",", 0
    for delim in (",", "\t", ";", "|"):
        count = sum(line.count(delim) for line in lines)
        if count > best_count:
            best, best_count = delim, count
    return best


def _head_lines(text: str) -> list[str]:
    """The first lines of a text, however long they are (a header can have 100,000 cells)."""
    lines, start = [], 0
    while len(lines) < HEADER_SCAN_ROWS and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        lines.append(text[start:end].rstrip("\r\n"))
        start = end
    return lines


def read_csv(path: Path, indicators: IndicatorMatcher | None = None) -> FileRead:
    out = FileRead(path)
    file = out.file
    data = path.read_bytes()
    if not data.strip():
        out.problems.append(file_problem(file, "文件是空的", check="empty_file",
                                         expected="带表头的 CSV 数据表"))
        return out
    if b"\x00" in data[:65536] and not (data.startswith((b"\xff\xfe", b"\xfe\xff"))
                                        or _looks_utf16(data)):
        out.problems.append(file_problem(file, "不是文本格式的 CSV 文件（含二进制内容）",
                                         value=path.suffix, check="unreadable",
                                         expected="UTF-8、GBK 或 UTF-16 编码的 CSV 文本；"
                                         "Excel 文件请用 .xlsx/.xls 扩展名"))
        return out
    try:
        text, encoding = decode_text(data)
    except TextEncodingError as exc:
        out.problems.append(file_problem(file, exc.message, row=exc.row, column="整行",
                                         value=exc.value, check="encoding", expected=exc.expected))
        return out
    if "\x00" in text:
        out.problems.append(file_problem(file, "文本中含有空字符（\\0），不是正常的 CSV 文件",
                                         check="unreadable",
                                         expected="UTF-8、GBK 或 UTF-16 编码的 CSV 文本"))
        return out
    head_lines = _head_lines(text)
    delimiter = sniff_delimiter(head_lines)
    head = list(csv.reader(head_lines, delimiter=delimiter))
    if is_catalogue_table(head):
        out.catalogue = True
        return out
    if is_targets_table(head):
        out.targets = True
        return out
    header = find_header(head)
    if header is not None and header.layout == "long" and not header.others and \
            missing_columns_problem(file, None, header, LONG_REQUIRED, "csv") is None:
        source = _read_long_csv(path, text if encoding != "UTF-8" else None, data, header,
                                head[header.index], delimiter, out)
        if source is not None:
            if source.rows.num_rows == 0:
                out.problems.append(file_problem(file, "表中没有数据行", row=header.index + 1,
                                                 check="empty_file", expected="表头下至少一行数据"))
            else:
                out.observations.append(source)
        return out
    grid = list(csv.reader(text.splitlines(), delimiter=delimiter))
    read_grid(file, path, None, grid, "csv", out, indicators)
    return out


def _read_long_csv(path: Path, decoded: str | None, data: bytes, header: Header,
                   header_cells: list, delimiter: str, out: FileRead) -> ObservationSource | None:
    """The fast path for big long tables: pyarrow parses the columns, rows are numbered after."""
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    file = out.file
    raw = decoded.encode("utf-8") if decoded is not None else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    # Start at the header line (titles above it are not part of the table).
    offset = 0
    for _ in range(header.index):
        offset = raw.index(b"\n", offset) + 1
    body = raw[offset:]
    width = len(header_cells)
    names = [f"c{j}" for j in range(width)]
    wanted = sorted({j for j, _ in header.roles.values()})
    skipped: list[tuple[int | None, str]] = []

    def on_invalid(row) -> str:
        skipped.append((row.number, row.text))
        return "skip"

    def parse(threads: bool):
        skipped.clear()
        return pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=threads,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={names[j]: pa.string() for j in wanted},
                include_columns=[names[j] for j in wanted],
                strings_can_be_null=False, quoted_strings_can_be_null=False))

    try:
        table = parse(True)
        if skipped:  # numbers of skipped rows are only known when parsing on one thread
            table = parse(False)
    except (pa.ArrowInvalid, ValueError) as exc:
        out.problems.append(file_problem(file, f"无法解析 CSV：{str(exc).splitlines()[0]}",
                                         check="unreadable", expected="规范的 CSV 表格"))
        return None
    first_data_line = header.index + 2
    skipped_lines = sorted(header.index + n for n, _ in skipped if n is not None)
    total = table.num_rows + len(skipped_lines)
    line_numbers = np.arange(first_data_line, first_data_line + total, dtype=np.int64)
    if skipped_lines:
        line_numbers = line_numbers[~np.isin(line_numbers, skipped_lines)]
    # A row of another width is still a row of the table when every column the import reads is
    # there and nothing stands beyond the header's width (hand-edited files, trailing commas).
    kept: list[tuple[int, list[str]]] = []
    notes_from = None
    for number, text in sorted(((header.index + n, t) for n, t in skipped if n is not None)):
        fields = next(csv.reader([text], delimiter=delimiter), [])
        if not any(f.strip() for f in fields):
            continue
        if notes_from is not None or is_note(fields):
            notes_from = notes_from or number  # notes under the table: nothing after is data
            continue
        if len(fields) > wanted[-1] and not any(f.strip() for f in fields[width:]):
            kept.append((number, fields))
            continue
        out.problems.append(file_problem(
            file, f"这一行有 {len(fields)} 列，表头有 {width} 列", row=number, column="整行",
            value=text[:60], check="bad_row", expected=f"{width} 列，与表头一致"))
    columns = [pc.utf8_trim_whitespace(table.column(names[j]).combine_chunks()) for j in wanted]
    rows = pa.array(line_numbers[:table.num_rows], pa.int32())
    if notes_from is not None:
        before = pc.less(rows, notes_from)
        columns, rows = [col.filter(before) for col in columns], rows.filter(before)
    if kept:
        columns = [pa.concat_arrays([col, pa.array([f[j].strip() for _, f in kept], pa.string())])
                   for col, j in zip(columns, wanted)]
        rows = pa.concat_arrays([rows, pa.array([n for n, _ in kept], pa.int32())])
    columns, rows = table_rows(columns, rows)
    by_index = dict(zip(wanted, columns))
    roles = {role: by_index[j] for role, (j, _) in header.roles.items()}
    return long_from_columns(file, path, None, header, header_cells, roles, rows, "csv")
