"""Judging files before anything is written: every problem named by file, sheet, row, column, the value
seen and what was expected; errors block the import, warnings (a value ten times last month's) do not.

`validate_files(paths, queries_or_snapshot)` is the entry point the CLI and the import dialog use. It
reads the files (`readers`), resolves region and indicator names, and runs the checks as SQL over
all rows at once, so a million-row file is judged in seconds; only the first rows of each kind of
problem per table are listed one by one, the rest are counted.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Callable, Sequence

from .. import catalogue, targets
from ..matching import IndicatorMatcher, RegionMatcher
from ..problems import ImportBatch, Problem, Report, SourceSummary, display_name
from ..readers import read_file
from .boundaries import check_boundaries
from .events import check_events
from .observations import check_observations

Progress = Callable[[float, str], None]


def _open_target(target):
    """(queries, close) for a Queries, a Snapshot, or a warehouse directory."""
    from ...queries import Queries
    from ...store import Snapshot, open_current

    if isinstance(target, Queries):
        return target, lambda: None
    if isinstance(target, Snapshot):
        return Queries(target), lambda: None
    snap = open_current(target)
    return Queries(snap), snap.close


def validate_files(paths: Sequence, queries_or_snapshot, *, today: date | None = None,
                   progress: Progress | None = None, layer: str | None = None) -> Report:
    """Read and check files against a warehouse snapshot; nothing is written.

    `queries_or_snapshot` is a `Queries`, a `Snapshot` or a warehouse directory. `today` decides
    which periods have ended (default: the real today). `layer` names the layer to read from a
    multi-layer boundary file (GeoPackage, KML). `progress(fraction, label)` is
    called as files are read and checked. The returned `Report` lists every problem; when it has
    no errors, `report.batch` holds what `import_files` will write.
    """
    progress = progress or (lambda fraction, label: None)
    today = today or date.today()
    paths = [Path(p) for p in paths]
    queries, close = _open_target(queries_or_snapshot)
    try:
        regions = RegionMatcher(queries.regions, queries.county.code)
        indicators = IndicatorMatcher(queries.indicators)
        reads, target_files, catalogue_files = [], [], []
        names = [display_name(p) for p in paths]
        for k, path in enumerate(paths):
            progress(0.6 * k / max(len(paths), 1), f"读取 {names[k]}")
            read = read_file(path, indicators, layer=layer)
            if read.catalogue:
                catalogue_files.append(path)
            elif read.targets:
                target_files.append(path)
            else:
                reads.append(read)
        progress(0.6, "校验")
        problems: list[Problem] = [p for r in reads for p in r.problems]
        sources: list[SourceSummary] = []
        batch = ImportBatch(files=names)
        report = Report(names, problems, sources, queries.snapshot.version, None)
        obs_sources = [s for r in reads for s in r.observations]
        if obs_sources:
            check_observations(report, batch, obs_sources, queries, regions, indicators, today)
        progress(0.85, "校验事件与边界")
        event_sources = [s for r in reads for s in r.events]
        if event_sources:
            check_events(report, batch, event_sources, queries, regions, today)
        boundary_files = [r.boundaries for r in reads if r.boundaries is not None]
        if boundary_files:
            check_boundaries(report, batch, boundary_files, queries, regions)
        if target_files:
            targets.check_targets(report, batch, target_files, queries, indicators)
        if catalogue_files:
            catalogue.check_catalogue(report, batch, catalogue_files, queries)
        for r in reads:
            has_content = any(s.file == r.file and s.rows for s in sources)
            if not has_content and not any(p.file == r.file and p.is_error for p in problems):
                problems.append(Problem("error", "empty_file", r.file, message="文件中没有可导入的数据",
                                        expected="指标数据、事件记录或乡镇边界"))
        problems.sort(key=lambda p: (paths_index(report.files, p.file), p.sheet or "",
                                     p.row or 0, p.check))
        if report.ok and not batch.empty:
            report.batch = batch
        progress(1.0, "校验完成")
        return report
    finally:
        close()


def paths_index(files: list[str], name: str) -> int:
    try:
        return files.index(name)
    except ValueError:
        return len(files)
