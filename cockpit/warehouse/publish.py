"""Writing an import: all or nothing, one import = one new snapshot, the current one never touched.

Inside `SnapshotStore.writer()` (which holds the write lock and publishes only when the block ends
without an exception) the current snapshot is attached READ_ONLY, its tables are copied into the
new file, the import is applied — observations upserted by (indicator, period, region) and their
previous-period and year-ago values derived again, boundaries replaced (no longer schematic),
events added or replaced by id — and meta gets the new as-of month. A crash or a kill at any point
leaves the previous snapshot current and readable; a running cockpit switches to the new one by
itself.

`import_files(paths, db_dir, progress=callback)` is the entry point the CLI, `cockpit watch` and the
import dialog use.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Sequence

import pyarrow as pa

from . import levels, schema
from .imports import catalogue, targets
from .imports.problems import ImportBatch, Report, display_name
from .imports.validation import Progress, validate_files
from .lake import warehouse_store
from .store import Manifest, WarehouseError


# Tables every snapshot has; anything else found in the current snapshot is copied as it is,
# except a second copy of the facts in region order (scale warehouses: meta region_order_table),
# which is rebuilt from the new facts.
_CORE_TABLES = ("meta", "regions", "indicators", "observations", "events", "alert_rules",
                "targets")
_REGION_ORDER_TABLES = (schema.REGION_ORDER_TABLE,)
IMPORT_LOG_DDL = """
CREATE TABLE IF NOT EXISTS import_log (
    imported_at  TIMESTAMP NOT NULL,
    snapshot     INTEGER NOT NULL,
    file         VARCHAR NOT NULL,
    sheet        VARCHAR,
    kind         VARCHAR NOT NULL,      -- observations / events / boundaries / targets
    indicator    VARCHAR,
    department   VARCHAR,
    rows         BIGINT NOT NULL,
    first_period DATE,
    last_period  DATE
);
"""


@dataclass
class ImportResult:
    """What an import did. `published` is False when the report has errors (nothing was written)."""
    report: Report
    published: bool = False
    snapshot: Manifest | None = None
    as_of: str | None = None
    observations: int = 0        # rows written (new + updated + unchanged)
    new_observations: int = 0
    updated_observations: int = 0
    events: int = 0
    boundaries: int = 0
    targets: int = 0
    indicators: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.published:
            return self.report.headline()
        parts = []
        if self.observations:
            same = self.observations - self.new_observations - self.updated_observations
            parts.append(f"观测值 {self.observations:,} 条（新增 {self.new_observations:,}，"
                         f"更新 {self.updated_observations:,}" + (f"，未变 {same:,}" if same else "")
                         + "）")
        if self.events:
            parts.append(f"事件 {self.events:,} 条")
        if self.boundaries:
            parts.append(f"乡镇边界 {self.boundaries} 个")
        if self.targets:
            parts.append(f"规划目标 {self.targets} 项")
        if self.indicators:
            parts.append(f"指标目录 {self.indicators} 项")
        as_of = ""
        if self.as_of:
            y, m = self.as_of.split("-")[:2]
            as_of = f"，数据截至 {int(y)}年{int(m)}月"
        return (f"已发布快照 {self.snapshot.label}：" + "，".join(parts) + as_of
                + f"（用时 {self.seconds:.1f} 秒）")


def import_files(paths: Sequence, db_dir, *, progress: Progress | None = None,
                 replace: bool = False, report: Report | None = None,
                 today: date | None = None, layer: str | None = None) -> ImportResult:
    """Validate files against the current snapshot of `db_dir` and, if there is no error, publish
    them as one new snapshot.

    `progress(fraction, label)` is called from this thread as work proceeds (0…1). `replace=True`
    first removes every existing observation of the indicators the files contain (and every event,
    when the files contain events), so a county's own data replaces the demo's instead of being
    merged into it. A `report` from `validate_files` with no errors may be passed to skip reading
    the files twice. `today` decides which periods have ended; `layer` names the layer of a
    multi-layer boundary file. Raises `WarehouseError` when the warehouse cannot be opened or
    written.
    """
    import time

    start = time.monotonic()
    progress = progress or (lambda fraction, label: None)
    stages: dict[str, float] = {}
    if report is None or report.batch is None:
        report = validate_files(paths, db_dir, today=today, layer=layer,
                                progress=lambda f, label: progress(0.5 * f, label))
    stages["validate"] = time.monotonic() - start
    result = ImportResult(report)
    if not report.ok or report.batch is None:
        result.seconds = time.monotonic() - start
        return result
    manifest, as_of = publish_batch(db_dir, report.batch, replace=replace,
                                    progress=lambda f, label: progress(0.5 + 0.5 * f, label),
                                    stages=stages)
    batch = report.batch
    result.published = True
    result.snapshot = manifest
    result.as_of = as_of
    result.observations = batch.observations.num_rows if batch.observations is not None else 0
    result.new_observations = report.new_observations
    result.updated_observations = report.updated_observations
    result.events = batch.events.num_rows if batch.events is not None else 0
    result.boundaries = batch.boundaries.num_rows if batch.boundaries is not None else 0
    result.targets = batch.targets.num_rows if batch.targets is not None else 0
    result.indicators = batch.indicators.num_rows if batch.indicators is not None else 0
    result.seconds = time.monotonic() - start
    result.stages = stages
    return result


def _literal(path: Path) -> str:
    # ATTACH takes no bound parameters; the path is ours, quoted as a SQL string literal.
    return "'" + str(path).replace("'", "''") + "'"


def publish_batch(db_dir, batch: ImportBatch, *, replace: bool = False,
                  progress: Progress | None = None,
                  stages: dict[str, float] | None = None) -> tuple[Manifest, str | None]:
    """Write a validated batch as the next snapshot of `db_dir` (a folder or a DuckLake: the
    new snapshot is built the same way, then published as one DuckLake commit); returns
    (manifest, as_of)."""
    import time

    progress = progress or (lambda fraction, label: None)
    stages = stages if stages is not None else {}
    store = warehouse_store(db_dir)
    if store.current() is None:
        raise WarehouseError(f"{store.root} 中没有可用的数据快照（可先运行 cockpit demo build）")
    note = "import " + ", ".join(batch.files)
    t0 = time.monotonic()
    progress(0.0, "等待写锁")
    with store.writer(note=note[:200]) as con:
        current = store.current()  # read again under the write lock: another import may have won
        con.execute(f"ATTACH {_literal(store.snapshot_path(current))} AS cur (READ_ONLY)")
        progress(0.1, "复制当前快照")
        _copy_tables(con)
        t1 = time.monotonic()
        stages["copy"] = t1 - t0
        progress(0.3, "写入观测值")
        catalogue.write_catalogue(con, batch)
        _write_observations(con, batch, replace)
        _write_region_order(con)
        t2 = time.monotonic()
        stages["observations"] = t2 - t1
        progress(0.7, "写入事件与边界")
        _write_events(con, batch, replace)
        _write_boundaries(con, batch)
        targets.write_targets(con, batch)
        as_of = _write_meta(con, batch, current.version + 1)
        _write_log(con, batch, current.version + 1)
        con.execute("DETACH cur")
        progress(0.85, "发布快照")
        t3 = time.monotonic()
        stages["events_meta"] = t3 - t2
    stages["publish"] = time.monotonic() - t3
    progress(1.0, "完成")
    manifest = store.current()
    assert manifest is not None
    return manifest, as_of


def republish(db_dir, note: str = "republish") -> Manifest:
    """Publish the current snapshot's data again, unchanged, as the next snapshot: what a
    scheduled import does to a running wall, for the benchmark's soak and for tests."""
    store = warehouse_store(db_dir)
    if store.current() is None:
        raise WarehouseError(f"{store.root} 中没有可用的数据快照（可先运行 cockpit demo build）")
    with store.writer(note=note) as con:
        current = store.current()
        con.execute(f"ATTACH {_literal(store.snapshot_path(current))} AS cur (READ_ONLY)")
        _copy_tables(con)
        con.execute("INSERT INTO observations SELECT * FROM cur.main.observations")
        _write_region_order(con)
        con.execute("DETACH cur")
    manifest = store.current()
    assert manifest is not None
    return manifest


def _copy_tables(con) -> None:
    con.execute(schema.DDL)
    for table in _CORE_TABLES:
        if table == "observations":
            continue  # rebuilt from staging below
        if _has_table(con, table):
            con.execute(f"INSERT INTO main.{table} BY NAME SELECT * FROM cur.main.{table}")
    extra = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'cur'"
        " AND schema_name = 'main' ORDER BY table_name").fetchall()
        if name not in _CORE_TABLES and name not in _REGION_ORDER_TABLES
        and name != levels.DERIVED_TABLE]
    for name in extra:
        quoted = '"' + name.replace('"', '""') + '"'
        con.execute(f"CREATE TABLE main.{quoted} AS SELECT * FROM cur.main.{quoted}")
    con.execute(IMPORT_LOG_DDL)
    if _has_table(con, levels.DERIVED_TABLE):
        # Rebuilt by `levels.derive` when the facts change; kept as it was when they do not.
        con.execute(levels.DERIVED_DDL)
        con.execute(f"INSERT INTO {levels.DERIVED_TABLE}"
                    f" SELECT * FROM cur.main.{levels.DERIVED_TABLE}")


def _has_table(con, name: str) -> bool:
    # fetchall, not fetchone: DuckDB 2 refuses to register a table (a catalogue import's next
    # step) on a connection whose last result was not read to its end.
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'cur' AND schema_name = 'main'"
        " AND table_name = ?", [name]).fetchall()[0][0] > 0


def _write_observations(con, batch: ImportBatch, replace: bool) -> None:
    """Upsert the imported facts (or replace their indicators' facts) and derive comparisons."""
    imported = batch.observations
    if imported is None or imported.num_rows == 0:
        if batch.indicators is None:
            con.execute("INSERT INTO observations SELECT * FROM cur.main.observations"
                        " ORDER BY indicator, period, region")
            return
        # A catalogue change (an aggregation rule) re-derives the figures of the levels above.
        imported = pa.table({"indicator": pa.array([], pa.string()),
                             "period": pa.array([], pa.date32()),
                             "region": pa.array([], pa.string()),
                             "value": pa.array([], pa.float64())})
    con.execute(schema.STAGING_DDL)
    con.register("import_obs", imported)
    con.execute("CREATE TEMP VIEW old_observations AS SELECT * FROM cur.main.observations")
    # Figures derived from the level below are derived again from the new facts, not kept.
    if _has_table(con, levels.DERIVED_TABLE):
        con.execute(f"""CREATE TEMP VIEW reported_observations AS
            SELECT o.* FROM old_observations o ANTI JOIN cur.main.{levels.DERIVED_TABLE} d
            ON d.indicator = o.indicator AND d.period = o.period AND d.region = o.region""")
    else:
        con.execute("CREATE TEMP VIEW reported_observations AS SELECT * FROM old_observations")
    con.execute("CREATE TEMP TABLE replaced_indicators (code VARCHAR)")
    if replace:
        # Every existing fact of an imported indicator goes; the file is the whole truth for it.
        con.execute("INSERT INTO replaced_indicators SELECT DISTINCT indicator FROM import_obs")
        con.execute("""
            INSERT INTO staging_observations
            SELECT o.indicator, o.period, o.region, o.value FROM reported_observations o
            WHERE o.indicator NOT IN (SELECT DISTINCT indicator FROM import_obs)
        """)
    else:
        con.execute("""
            INSERT INTO staging_observations
            SELECT o.indicator, o.period, o.region, o.value FROM reported_observations o
            ANTI JOIN import_obs n
              ON n.indicator = o.indicator AND n.period = o.period AND n.region = o.region
        """)
    con.execute("INSERT INTO staging_observations"
                " SELECT indicator, period, region, value FROM import_obs")
    con.unregister("import_obs")
    levels.derive(con)
    schema.rederive(con)
    con.execute("DROP TABLE replaced_indicators")
    con.execute("DROP VIEW reported_observations")
    con.execute("DROP VIEW old_observations")


def _write_region_order(con) -> None:
    """Rebuild the facts' second copy in region order, when the warehouse keeps one."""
    row = con.execute("SELECT value FROM cur.main.meta WHERE key = 'region_order_table'").fetchone()
    if row is None or row[0] not in _REGION_ORDER_TABLES:  # an identifier: only known names
        return
    con.execute(f"CREATE TABLE {row[0]} AS SELECT * FROM observations"
                " ORDER BY region, indicator, period")


def _write_events(con, batch: ImportBatch, replace: bool) -> None:
    if batch.events is None or batch.events.num_rows == 0:
        return
    con.register("import_events", batch.events)
    if replace:
        con.execute("DELETE FROM events")
    else:
        con.execute("DELETE FROM events WHERE id IN (SELECT id FROM import_events)")
    con.execute("INSERT INTO events BY NAME SELECT * FROM import_events")
    con.unregister("import_events")


def _write_boundaries(con, batch: ImportBatch) -> None:
    if batch.boundaries is None or batch.boundaries.num_rows == 0:
        return
    con.register("import_boundaries", batch.boundaries)
    con.execute("""
        UPDATE regions SET geometry = b.geometry, area_km2 = b.area_km2,
               label_lon = b.label_lon, label_lat = b.label_lat, schematic = false
        FROM import_boundaries b WHERE regions.code = b.code
    """)
    con.unregister("import_boundaries")


def _set_meta(con, key: str, value: str) -> None:
    con.execute("DELETE FROM meta WHERE key = ?", [key])
    con.execute("INSERT INTO meta VALUES (?, ?)", [key, value])


def _write_meta(con, batch: ImportBatch, version: int) -> str | None:
    old = dict(con.execute("SELECT key, value FROM meta").fetchall())
    as_of = old.get("as_of")
    if batch.observations is not None and batch.observations.num_rows:
        latest = con.execute("SELECT max(period) FROM observations").fetchone()[0]
        if latest is not None:
            candidate = latest.strftime("%Y-%m")
            as_of = max(as_of, candidate) if as_of else candidate
    if as_of:
        _set_meta(con, "as_of", as_of)
    if old.get("source") != "import":
        _set_meta(con, "source", "import")
        if old.get("source"):
            _set_meta(con, "based_on", old["source"])
    if batch.boundaries is not None and batch.boundaries.num_rows:
        schematic = con.execute(
            "SELECT count(*) FROM regions WHERE level = 'township' AND schematic").fetchone()[0]
        _set_meta(con, "boundaries", "schematic" if schematic else "imported")
    _set_meta(con, "last_import_at", datetime.now().isoformat(timespec="seconds"))
    _set_meta(con, "last_import_files", json.dumps(batch.files, ensure_ascii=False))
    _set_meta(con, "built_at", datetime.now().isoformat(timespec="seconds"))
    return as_of


def _write_log(con, batch: ImportBatch, version: int) -> None:
    now = datetime.now().replace(microsecond=0)
    rows = [(now, version, e["file"], e["sheet"], e["kind"], e["indicator"], e["department"],
             e["rows"], e["first_period"], e["last_period"]) for e in batch.log]
    if rows:
        con.executemany("INSERT INTO import_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


# --- the inbox: files dropped into a folder are validated and imported ---------------------------
# Files that are still being written by their tools, or are not data at all.
_IGNORED_SUFFIXES = {".tmp", ".part", ".crdownload", ".download", ".partial", ".lock"}
# A Shapefile is several files; they travel together and are imported as one.
_SHAPEFILE_SIDECARS = {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".fix", ".xml",
                       ".aih", ".ain", ".atx", ".ixs", ".mxs"}
# MapInfo tables travel the same way: .tab with .dat/.map/.id/.ind, .mif with .mid.
_SIDECARS = {".shp": _SHAPEFILE_SIDECARS, ".tab": {".dat", ".map", ".id", ".ind"},
             ".mif": {".mid"}}
QUARANTINE = "quarantine"
ARCHIVE = "archive"
REPORT_SUFFIX = ".错误报告.txt"


@dataclass
class InboxOutcome:
    """What happened to one dropped file (or one Shapefile's set of files)."""
    file: str
    status: str                  # imported / quarantined / retry
    message: str
    moved_to: Path | None = None
    report_path: Path | None = None
    result: ImportResult | None = None


class InboxWatcher:
    """Polls a folder; each new file, once its size stops changing, is validated and imported.

    A good file is moved to INBOX/archive/ after its snapshot is published; a bad one to
    INBOX/quarantine/ with `<name>.错误报告.txt` beside it; nothing of a bad file reaches the
    warehouse. A file that cannot be imported for a reason of the warehouse (the write lock is
    held by another import for too long) stays in the inbox and is tried again.
    """

    def __init__(self, inbox, db_dir, *, settle: float = 1.0, replace: bool = False,
                 log: Callable[[str], None] = print, today: date | None = None):
        self.inbox = Path(inbox)
        self.db_dir = Path(db_dir)
        self.settle = settle
        self.replace = replace
        self.log = log
        self.today = today
        self._seen: dict[str, tuple[tuple, float]] = {}  # group → (signature, since)
        self._retry_after: dict[str, float] = {}

    # -- scanning ------------------------------------------------------------------------------
    def _groups(self) -> dict[str, list[Path]]:
        """Files waiting in the inbox, grouped: a .shp with its sidecars, anything else alone."""
        files = [p for p in self.inbox.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))
                 and p.suffix.lower() not in _IGNORED_SUFFIXES]
        mains = {(p.stem.lower(), p.suffix.lower()) for p in files if p.suffix.lower() in _SIDECARS}
        groups: dict[str, list[Path]] = {}
        for p in files:
            suffix = p.suffix.lower()
            stem = p.name.split(".", 1)[0].lower() if suffix == ".xml" else p.stem.lower()
            main = next((m for m, sidecars in _SIDECARS.items()
                         if suffix == m or (suffix in sidecars and (stem, m) in mains)), None)
            if main is not None:
                groups.setdefault(f"{stem}{main}", []).append(p)
            elif any(suffix in sidecars for sidecars in _SIDECARS.values()) and suffix != ".xml":
                continue  # waits for its .shp / .tab / .mif
            else:
                groups.setdefault(p.name, []).append(p)
        return groups

    @staticmethod
    def _signature(paths: list[Path]) -> tuple:
        out = []
        for p in sorted(paths):
            try:
                st = p.stat()
            except OSError:
                return ()
            out.append((p.name, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def pending(self) -> int:
        """How many files (groups) are waiting."""
        return len(self._groups())

    def poll(self) -> list[InboxOutcome]:
        """One look at the inbox: process every group whose files have stopped changing."""
        import time

        now = time.monotonic()
        outcomes = []
        groups = self._groups()
        for key in list(self._seen):
            if key not in groups:
                del self._seen[key]
        for key, paths in sorted(groups.items()):
            signature = self._signature(paths)
            previous = self._seen.get(key)
            if not signature or previous is None or previous[0] != signature:
                self._seen[key] = (signature, now)
                continue
            if now - previous[1] < self.settle or now < self._retry_after.get(key, 0.0):
                continue
            outcome = self._process(key, paths)
            outcomes.append(outcome)
            if outcome.status == "retry":
                self._retry_after[key] = now + 10.0
            else:
                self._seen.pop(key, None)
                self._retry_after.pop(key, None)
        return outcomes

    def run(self, *, interval: float = 1.0, once: bool = False,
            timeout: float | None = None) -> list[InboxOutcome]:
        """Poll until stopped (Ctrl+C); with `once`, until the files present now are handled."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        outcomes: list[InboxOutcome] = []
        while True:
            outcomes += self.poll()
            if once and not any(key not in self._retry_after for key in self._groups()):
                return outcomes
            if deadline is not None and time.monotonic() > deadline:
                return outcomes
            time.sleep(interval if not once else min(interval, max(self.settle / 2, 0.05)))

    # -- handling one file ------------------------------------------------------------------------
    def _process(self, key: str, paths: list[Path]) -> InboxOutcome:
        main = next((p for p in paths if p.suffix.lower() in _SIDECARS), paths[0])
        shown = display_name(main)
        try:
            result = import_files([main], self.db_dir, replace=self.replace, today=self.today)
        except WarehouseError as exc:
            message = f"{shown}：数据仓库暂时无法写入，稍后重试（{exc}）"
            self.log(f"… {message}")
            return InboxOutcome(shown, "retry", message)
        except TimeoutError as exc:  # the write lock stayed busy
            message = f"{shown}：等待写锁超时，稍后重试（{exc}）"
            self.log(f"… {message}")
            return InboxOutcome(shown, "retry", message)
        except Exception as exc:  # a file that breaks a reader must not stop the watch
            text = (f"处理 {shown} 时发生内部错误，文件未导入：{type(exc).__name__}: {exc}\n"
                    "请把本报告和文件一并发给技术支持。")
            return self._quarantine(main, paths, text, None)
        if result.published:
            moved = self._move(paths, self.inbox / ARCHIVE)
            message = f"✓ {shown} → {result.summary()}"
            if result.report.warning_count:
                message += f"；{result.report.warning_count} 个警告"
            self.log(message)
            return InboxOutcome(shown, "imported", message, moved, None, result)
        return self._quarantine(main, paths, result.report.format(), result)

    def _quarantine(self, main: Path, paths: list[Path], report_text: str,
                    result: ImportResult | None) -> InboxOutcome:
        shown = display_name(main)
        folder = self.inbox / QUARANTINE
        moved = self._move(paths, folder)
        report_path = folder / (moved.name + REPORT_SUFFIX)
        header = (f"文件：{shown}\n"
                  f"检查时间：{datetime.now():%Y-%m-%d %H:%M:%S}\n"
                  f"数据仓库：{self.db_dir}\n"
                  f"处理结果：未导入任何数据，文件已移入隔离区 {folder}\n"
                  f"改正后把文件重新放回 {self.inbox} 即可再次导入。\n\n")
        report_path.write_text(header + report_text + "\n", encoding="utf-8")
        errors = result.report.error_count if result is not None else 1
        message = f"✗ {shown}：{errors} 个错误 → {QUARANTINE}/{display_name(moved)}（见 {display_name(report_path)}）"
        self.log(message)
        return InboxOutcome(shown, "quarantined", message, moved, report_path, result)

    @staticmethod
    def _move(paths: list[Path], folder: Path) -> Path:
        """Move files into folder, keeping a Shapefile's set under one (possibly renamed) stem."""
        import shutil

        folder.mkdir(parents=True, exist_ok=True)
        main = next((p for p in paths if p.suffix.lower() in _SIDECARS), paths[0])
        stem = main.stem
        candidate = stem
        n = 1
        while any((folder / (candidate + p.name[len(stem):])).exists() for p in paths):
            n += 1
            candidate = f"{stem}-{n}"
        moved_main = None
        for p in paths:
            target = folder / (candidate + p.name[len(stem):]) if p.name.startswith(stem) \
                else folder / p.name
            shutil.move(str(p), str(target))
            if p == main:
                moved_main = target
        return moved_main
