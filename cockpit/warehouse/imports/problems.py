"""What an import says about its files: each problem at its place (file, sheet, row, column) with
the value seen and what was expected, in zh_CN; the report gathering them; the batch that may go in.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa

from ...core.formatting import month_label

MAX_DETAILS = 20          # problems listed one by one per kind and table; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One finding about one place in a file. `message` says what is wrong, in zh_CN."""
    severity: str                 # error / warning / note (a choice the import made, said aloud)
    check: str                    # machine name: unknown_region, placeholder, jump …
    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None      # the value as seen in the file
    expected: str | None = None   # what would have been accepted
    message: str = ""
    count: int = 1                # >1 for a line standing for several rows

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"工作表“{self.sheet}”")
        if self.row:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(self.column)
        return " ".join(parts)

    def __str__(self) -> str:
        text = f"{self.location()}：{self.message}"
        details = []
        if self.value is not None:
            details.append(f"看到“{self.value}”")
        if self.expected:
            details.append(f"应为：{self.expected}")
        if details:
            text += "（" + "；".join(details) + "）"
        return text

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SourceSummary:
    """What one table of a file holds, for the report."""
    file: str
    sheet: str | None
    kind: str                     # 长表 / 宽表 / 事件 / 边界
    rows: int
    indicators: list[str] = field(default_factory=list)
    first_period: date | None = None
    last_period: date | None = None
    ignored_columns: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = self.file + (f" 工作表“{self.sheet}”" if self.sheet else "")
        unit = {"宽表": "个数值", "边界": "个要素", "事件": "条记录"}.get(self.kind, "行")
        text = f"{where}（{self.kind}，{self.rows:,} {unit}"
        if self.indicators:
            names = "、".join(self.indicators[:3]) + (" 等" if len(self.indicators) > 3 else "")
            text += f"，{len(self.indicators)} 项指标：{names}"
        if self.first_period and self.last_period:
            span = month_label(self.first_period)
            if self.last_period != self.first_period:
                span += f"至{month_label(self.last_period)}"
            text += f"，{span}"
        text += "）"
        if self.ignored_columns:
            text += "；已忽略列：" + "、".join(self.ignored_columns)
        return text


@dataclass
class ImportBatch:
    """The validated content of an import, ready to be written as one snapshot."""
    files: list[str]
    observations: pa.Table | None = None   # indicator, period (date32), region, value
    events: pa.Table | None = None          # the events table's columns
    boundaries: pa.Table | None = None      # code, geometry (WKB), area_km2, label_lon, label_lat
    targets: pa.Table | None = None         # plan targets (targets.TARGETS_SCHEMA)
    indicators: pa.Table | None = None      # catalogue rows to add or update (indicators table)
    log: list[dict] = field(default_factory=list)  # one entry per table and indicator

    @property
    def empty(self) -> bool:
        return not any(t is not None and t.num_rows for t in
                       (self.observations, self.events, self.boundaries, self.targets,
                        self.indicators))


@dataclass
class Report:
    """The outcome of validating some files: problems, what was found, and the batch if it may go in."""
    files: list[str]
    problems: list[Problem]
    sources: list[SourceSummary]
    snapshot_version: int | None = None
    batch: ImportBatch | None = None
    new_observations: int = 0
    updated_observations: int = 0
    unchanged_observations: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "note"]

    @property
    def error_count(self) -> int:
        return sum(p.count for p in self.errors)

    @property
    def warning_count(self) -> int:
        return sum(p.count for p in self.warnings)

    @property
    def ok(self) -> bool:
        return not self.errors

    def headline(self) -> str:
        n = len(self.files)
        if self.ok:
            text = f"校验 {n} 个文件：没有错误"
            if self.warning_count:
                text += f"，{self.warning_count:,} 个警告（不影响导入）"
            return text
        text = f"校验 {n} 个文件：{self.error_count:,} 个错误"
        if self.warning_count:
            text += f"、{self.warning_count:,} 个警告"
        return text + "，不能导入（数据仓库未作任何改动）"

    def format(self) -> str:
        """The report as a person reads it (CLI output, the error report beside a quarantined file)."""
        lines = [self.headline()]
        by_file: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_file.setdefault(p.file, []).append(p)
        for name in self.files:
            lines.append("")
            lines.append(f"■ {name}")
            for s in self.sources:
                if s.file == name:
                    lines.append(f"  {s.describe()}")
            problems = by_file.get(name, [])
            if not any(p.severity != "note" for p in problems):
                lines.append("  ✓ 没有发现问题")
            for p in problems:
                mark = {"error": "✗ 错误", "warning": "! 警告"}.get(p.severity, "· 说明")
                lines.append(f"  {mark} {p}")
        if self.ok and self.batch is not None and self.batch.observations is not None:
            lines.append("")
            lines.append(f"观测值：新增 {self.new_observations:,} 条，更新 {self.updated_observations:,} 条，"
                         f"与仓库相同 {self.unchanged_observations:,} 条")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "files": self.files,
            "errors": self.error_count,
            "warnings": self.warning_count,
            "problems": [p.as_dict() for p in self.problems],
            "sources": [{**s.__dict__, "first_period": str(s.first_period or ""),
                         "last_period": str(s.last_period or "")} for s in self.sources],
            "new_observations": self.new_observations,
            "updated_observations": self.updated_observations,
        }


def file_problem(file: str, message: str, *, sheet=None, row=None, column=None, value=None,
                 expected=None, check="unreadable", severity="error") -> Problem:
    return Problem(severity=severity, check=check, file=file, sheet=sheet, row=row,
                   column=column, value=value, expected=expected, message=message)


def column_letter(index: int) -> str:
    """0 → A, 26 → AA (Excel's column names)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def column_label(kind: str, index: int, header: str) -> str:
    header = header or "（无标题）"
    if kind == "xlsx":
        return f"{column_letter(index)}列“{header}”"
    return f"第{index + 1}列“{header}”"


def display_name(path) -> str:
    """A file's name as a person should read it, also when the name's bytes are not UTF-8 (a zip
    made on a Chinese Windows holds GBK names): GBK when they read as GBK, else escaped bytes."""
    name = Path(path).name
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")
