"""Parquet files: long tables or event records, column by column, with a word for any column
that is not text or numbers."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..matching import IndicatorMatcher
from ..parsing import (EVENT_REQUIRED, LONG_REQUIRED, FileRead, Header, event_source,
                       find_header, long_from_columns, missing_columns_problem,
                       two_columns_problem)
from ..problems import Problem, file_problem


def _parquet_column_problem(file: str, name: str, col: pa.ChunkedArray) -> Problem | None:
    """A column the import cannot read as text: nested (struct, list), binary, or broken UTF-8."""
    kind = col.type
    if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind) \
            or pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type):
        return file_problem(file, f"列“{name}”的类型是 {kind}，不是文字或数值", column=f"列“{name}”",
                            value=str(kind), check="unreadable", expected="文字（string）或数值列")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        offset = 0
        for chunk in col.chunks:
            try:
                chunk.validate(full=True)
            except pa.ArrowInvalid:
                for k, v in enumerate(chunk.cast(pa.binary()).to_pylist()):
                    try:
                        (v or b"").decode("utf-8")
                    except UnicodeDecodeError:
                        return file_problem(file, f"列“{name}”中有无效的 UTF-8 文字", row=offset + k + 1,
                                            column=f"列“{name}”", value=v[:24].hex(" "),
                                            check="encoding", expected="UTF-8 文字")
            offset += len(chunk)
    return None


def read_parquet(path: Path, indicators: IndicatorMatcher | None = None) -> FileRead:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = FileRead(path)
    file = out.file
    try:
        table = pq.read_table(path)
    except Exception as exc:  # ArrowInvalid, OSError …: a file that is not Parquet
        out.problems.append(file_problem(file, f"无法读取 Parquet 文件：{str(exc).splitlines()[0][:120]}",
                                         check="unreadable", expected="Parquet 格式的长表"))
        return out
    names = table.column_names
    header = find_header([names])
    if header is None or header.layout == "wide":
        out.problems.append(file_problem(
            file, "Parquet 文件的列名不是长表", row=None, column="列名", value="、".join(names[:8]),
            check="missing_column", expected="列 region、indicator、period、value（或 乡镇、指标、期间、数值）"))
        return out
    if (problem := two_columns_problem(file, None, header, names, "parquet")):
        out.problems.append(dataclasses.replace(problem, row=None))
        return out
    required = EVENT_REQUIRED if header.layout == "events" else LONG_REQUIRED
    problem = missing_columns_problem(file, None, header, required, "parquet")
    if problem:
        problem = dataclasses.replace(problem, row=None, column="列名")
        out.problems.append(problem)
        return out
    for j, _ in header.roles.values():
        if (problem := _parquet_column_problem(file, names[j], table.column(j))):
            out.problems.append(problem)
            return out
    if header.layout == "events":
        body = ((k + 1, list(r.values())) for k, r in enumerate(table.to_pylist()))
        header = Header(-1, "events", header.roles)
        out.events.append(event_source(file, path, None, header, names, body, "parquet"))
        return out

    def text(col: pa.ChunkedArray) -> pa.ChunkedArray:
        if pa.types.is_floating(col.type):  # 2025.0 → "2025"; values keep their digits
            return pc.cast(col, pa.string())
        if pa.types.is_timestamp(col.type):
            col = pc.cast(col, pa.date32())
        return pc.fill_null(pc.utf8_trim_whitespace(pc.cast(col, pa.string())), "")

    columns = {}
    for role, (j, _) in header.roles.items():
        col = table.column(j)
        columns[role] = pc.fill_null(pc.cast(col, pa.string()), "") if role == "value" \
            else text(col)
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int32))
    source = long_from_columns(file, path, None, header, names, columns, rows, "parquet")
    source.labels = {role: f"列“{names[j]}”" for role, (j, _) in header.roles.items()}
    source.labels.setdefault("region", source.labels.get("code", "列"))
    if source.unit_place is not None:  # a unit in a column's name: the names are not a row
        source.unit_place = (None, source.labels["value" if header.roles["value"][1]
                                                 else "indicator"])
        source.labels["unit"] = source.unit_place[1]
    if source.rows.num_rows == 0:
        out.problems.append(file_problem(file, "表中没有数据行", check="empty_file",
                                         expected="至少一行数据"))
        return out
    out.observations.append(source)
    return out
