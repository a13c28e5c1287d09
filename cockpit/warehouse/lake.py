"""The warehouse as a DuckLake: one catalog (PostgreSQL, or a DuckDB file for one PC) and Parquet files
in a shared folder, read by every cockpit of a city, each through a local copy of the snapshot it pins.

`--db ducklake:postgresql://cockpit@10.0.0.5/cockpit_lake` (or `ducklake:D:/lake/catalog.ducklake`)
names one. Why this shape:
- Publishing is one DuckLake transaction: every table of the new snapshot replaces the old
  one's, and the commit makes one DuckLake snapshot, all or nothing. A client killed on the way
  commits nothing; the Parquet files it had written are orphans no snapshot names. Writers
  queue on a lock (PostgreSQL advisory lock, or a lock file beside a DuckDB catalog) and build
  from the snapshot that is current under it, so no import silently undoes another.
- Reading a DuckLake asks the catalog about files on every query (~20-30 ms a query here,
  against ~2 ms on a local DuckDB file); a cockpit asks hundreds of small questions. So each PC
  copies the snapshot it pins into a local snapshot folder (COCKPIT_HOME/cache/lake/…) once,
  and every query, panel and alert evaluation reads that copy exactly as it reads a local
  warehouse. A PC that imports keeps the file it built; the others copy the new snapshot in
  the background while the window keeps showing the one before. The catalog going away costs
  nothing but news.
- Time travel: DuckLake keeps every snapshot until it is expired; "the warehouse as it was on
  a day" is the last snapshot committed before that day ended, copied like any other.
- Offline: DuckDB's extensions come from PyPI packages built for this DuckDB release (the
  `shared` extra) and are loaded from their files with automatic install and load turned off.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from .store import (WRITER_CONFIG, Manifest, SnapshotStore, WarehouseError, lake_location,
                    reader_config)

_EXTENSIONS = (("duckdb_extension_postgres_scanner", "postgres_scanner"),
               ("duckdb_extension_ducklake", "ducklake"))
_OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
INSTALL_HINT = 'pip install "city-cockpit[shared]"'


class LakeUnavailable(WarehouseError):
    """A DuckLake cannot be used: its extensions are missing, or its catalog is unreachable
    (`en`: the same in English, for a window's banner)."""

    def __init__(self, message: str, en: str | None = None):
        super().__init__(message)
        self.en = en or message


def extension_paths() -> list[Path]:
    """The extension files for the DuckDB release in use, from their PyPI packages."""
    import importlib

    paths = []
    for package, name in _EXTENSIONS:
        try:
            module = importlib.import_module(package)
        except ImportError:
            raise LakeUnavailable(f"DuckLake 需要 DuckDB 扩展包 {package.replace('_', '-')}，"
                                  f"请安装：{INSTALL_HINT}") from None
        path = (Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
                / f"{name}.duckdb_extension")
        if not path.is_file():
            raise LakeUnavailable(f"扩展包 {package.replace('_', '-')} 与 DuckDB {duckdb.__version__}"
                                  f" 版本不一致，请安装：{INSTALL_HINT}")
        paths.append(path)
    return paths


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckLake and the PostgreSQL scanner from their package files, never downloading."""
    for key, value in _OFFLINE.items():
        con.execute(f"SET {key} = {str(value).lower()}")
    for path in extension_paths():
        con.execute(f"LOAD {_literal(path)}")


def _literal(value) -> str:
    # ATTACH and LOAD take no bound parameters; values are quoted as SQL string literals.
    return "'" + str(value).replace("'", "''") + "'"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={**reader_config(), **_OFFLINE})
    load_extensions(con)
    return con


@dataclass(frozen=True)
class Lake:
    """One DuckLake, named `ducklake:<catalog>`; `data_path` overrides where this PC finds its
    Parquet files (a share mounted elsewhere than where the lake was created); `home` is the
    COCKPIT_HOME whose cache holds this PC's copies (fixed when the lake is named)."""
    location: str
    data_path: str | None = None
    home: Path | None = None

    @property
    def catalog(self) -> str:
        return self.location[len("ducklake:"):]

    @property
    def on_postgres(self) -> bool:
        return self.catalog.startswith(("postgresql://", "postgres://"))

    @property
    def shown(self) -> str:
        from ..core.settings import redact

        return redact(self.location)

    # -- the local copies ----------------------------------------------------------------------
    @property
    def cache(self) -> SnapshotStore:
        from ..paths import home_dir

        key = hashlib.sha1(self.shown.encode("utf-8")).hexdigest()[:12]
        return SnapshotStore((self.home or home_dir()) / "cache" / "lake" / key,
                             origin=self.location)

    # -- the catalog -------------------------------------------------------------------------
    def _attach_sql(self, alias: str, *, read_only: bool, version: int | None = None,
                    create_at: str | None = None) -> str:
        target = self.catalog
        if self.on_postgres:
            # A catalog that does not answer must not hold a reader for minutes.
            target = target + ("&" if "?" in target else "?") + "connect_timeout=5"
            target = "postgres:" + target
        options = []
        if read_only:
            options.append("READ_ONLY")
        if version is not None:
            options.append(f"SNAPSHOT_VERSION {int(version)}")
        if create_at is not None:
            options.append(f"DATA_PATH {_literal(create_at)}")
        elif self.data_path:
            options.append(f"DATA_PATH {_literal(self.data_path)}, OVERRIDE_DATA_PATH true")
        return (f"ATTACH {_literal('ducklake:' + target)} AS {alias}"
                + (f" ({', '.join(options)})" if options else ""))

    def _pg(self):
        from ..core.settings import pg_reason

        try:
            import psycopg
        except ImportError:
            raise LakeUnavailable(f"DuckLake 目录在 PostgreSQL 上，需要 psycopg：{INSTALL_HINT}") \
                from None
        try:
            return psycopg.connect(self.catalog, connect_timeout=3, autocommit=True,
                                   application_name="city-cockpit lake")
        except psycopg.Error as exc:
            raise LakeUnavailable(f"无法连接 DuckLake 目录 {self.shown}（{pg_reason(exc)}）",
                                  f"Cannot connect to the DuckLake catalog {self.shown}"
                                  f" ({pg_reason(exc, 'en')})") from None

    def _catalog_query(self, sql_pg: str, sql_duckdb: str, params: list, pg=None):
        """One query on the catalog's own tables, without DuckLake: cheap enough every second.
        `pg`: a connection to the catalog to use (kept by a follower), else one for this query."""
        if self.on_postgres:
            import psycopg

            from ..core.settings import pg_reason

            con = pg if pg is not None else self._pg()
            try:
                return con.execute(sql_pg, params).fetchone()
            except psycopg.errors.UndefinedTable:
                return None
            except psycopg.Error as exc:
                raise LakeUnavailable(f"DuckLake 目录 {self.shown} 读取失败（{pg_reason(exc)}）",
                                      f"Reading the DuckLake catalog {self.shown} failed"
                                      f" ({pg_reason(exc, 'en')})") from None
            finally:
                if pg is None:
                    con.close()
        path = Path(self.catalog)
        if not path.is_file():
            return None
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:   # a writer holds it now
            raise LakeUnavailable(f"DuckLake 目录 {path} 暂时无法读取（{_first_line(exc)}）") \
                from None
        try:
            return con.execute(sql_duckdb, params).fetchone()
        except duckdb.CatalogException:
            return None
        finally:
            con.close()

    def latest(self, pg=None) -> int | None:
        """The newest snapshot id, or None if the lake was never created."""
        row = self._catalog_query("SELECT max(snapshot_id) FROM ducklake_snapshot",
                                  "SELECT max(snapshot_id) FROM ducklake_snapshot", [], pg)
        return None if row is None else row[0]

    def snapshot_at(self, day: date) -> int | None:
        """The last snapshot committed before `day` ended (local time), or None."""
        end = datetime.combine(day + timedelta(days=1), datetime.min.time()).astimezone()
        row = self._catalog_query(
            "SELECT max(snapshot_id) FROM ducklake_snapshot WHERE snapshot_time < %s",
            "SELECT max(snapshot_id) FROM ducklake_snapshot WHERE snapshot_time < ?", [end])
        return None if row is None else row[0]

    def info(self, version: int) -> tuple[str, str]:
        """(committed at, commit message) of a snapshot."""
        row = self._catalog_query(
            "SELECT to_char(s.snapshot_time, 'YYYY-MM-DD\"T\"HH24:MI:SS'), c.commit_message"
            " FROM ducklake_snapshot s LEFT JOIN ducklake_snapshot_changes c USING (snapshot_id)"
            " WHERE s.snapshot_id = %s",
            "SELECT strftime(s.snapshot_time, '%Y-%m-%dT%H:%M:%S'), c.commit_message"
            " FROM ducklake_snapshot s LEFT JOIN ducklake_snapshot_changes c USING (snapshot_id)"
            " WHERE s.snapshot_id = ?", [version])
        return (row[0] or "", row[1] or "") if row else ("", "")

    @contextmanager
    def _lock(self, timeout: float = 120.0) -> Iterator[None]:
        """The one writer of this lake (imports queue here, like on a snapshot folder's
        write.lock)."""
        if self.on_postgres:
            con = self._pg()
            try:
                key = int(hashlib.sha1(b"cockpit-lake").hexdigest()[:15], 16)
                con.execute(f"SET lock_timeout = {int(timeout * 1000)}")
                con.execute("SELECT pg_advisory_lock(%s)", [key])
                yield
            finally:
                con.close()   # the session lock goes with the session
            return
        from .locks import FileLock

        path = Path(self.catalog)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path.with_name(path.name + ".write.lock")).acquire(timeout)
        try:
            yield
        finally:
            lock.release()

    # -- copying a snapshot in -----------------------------------------------------------------
    def mirror(self, version: int, collect: bool = True) -> Manifest:
        """Make the local copy of one snapshot (if it is not there yet) and return its manifest.
        `collect=False` for a past snapshot (time travel): cleaning up would take it away again
        before it is opened."""
        cache = self.cache
        found = cache.manifest(version)
        if found is not None:
            return found
        note = self.info(version)[1] or "ducklake"
        try:
            with cache.writer(note=f"ducklake snapshot {version}: {note}"[:200],
                              version=version, collect=collect) as con:
                if cache.manifest(version) is not None:   # another process of this PC copied it
                    raise _AlreadyThere()
                load_extensions(con)
                try:
                    con.execute(self._attach_sql("src", read_only=True, version=version))
                except duckdb.Error as exc:
                    raise LakeUnavailable(f"无法读取 DuckLake {self.shown} 的快照 {version}"
                                          f"（{_first_line(exc)}）") from None
                for table in _tables(con, "src"):
                    quoted = _ident(table)
                    con.execute(f"CREATE TABLE main.{quoted} AS SELECT * FROM src.main.{quoted}")
                con.execute("DETACH src")
        except _AlreadyThere:
            pass
        found = cache.manifest(version)
        assert found is not None
        return found

    def open(self, as_of: date | None = None):
        """The snapshot to read (the newest, or the last of `as_of`), from its local copy."""
        from .store import open_manifest

        cache = self.cache
        try:
            version = self.snapshot_at(as_of) if as_of else self.latest()
        except LakeUnavailable:
            current = None if as_of else cache.current()
            if current is None:
                raise
            # The catalog is away: the copy of the snapshot last read is still good.
            return open_manifest(cache, current)
        if version is None or version == 0:
            when = f"在 {as_of.isoformat()} 及以前" if as_of else ""
            raise WarehouseError(f"DuckLake {self.shown} {when}还没有发布过快照"
                                 "（可先运行 cockpit warehouse export --to …）")
        return open_manifest(cache, self.mirror(version, collect=as_of is None))

    # -- publishing ----------------------------------------------------------------------------
    def publish_file(self, built: Path, note: str, create_at: str | None = None) -> int:
        """Make the tables of a finished DuckDB file the lake's next snapshot, in one DuckLake
        transaction; returns the new snapshot id. The caller holds the lock."""
        con = _connect()
        try:
            con.execute(f"ATTACH {_literal(built)} AS src (READ_ONLY)")
            try:
                con.execute(self._attach_sql("lake", read_only=False, create_at=create_at))
            except duckdb.Error as exc:
                raise LakeUnavailable(f"无法打开 DuckLake {self.shown} 写入"
                                      f"（{_first_line(exc)}）") from None
            con.execute("BEGIN")
            old = set(_tables(con, "lake"))
            for table in _tables(con, "src"):
                quoted = _ident(table)
                if table in old and _columns(con, "lake", table) == _columns(con, "src", table):
                    con.execute(f"DELETE FROM lake.main.{quoted}")
                    con.execute(f"INSERT INTO lake.main.{quoted} SELECT * FROM src.main.{quoted}")
                else:
                    if table in old:
                        con.execute(f"DROP TABLE lake.main.{quoted}")
                    con.execute(f"CREATE TABLE lake.main.{quoted} AS"
                                f" SELECT * FROM src.main.{quoted}")
                old.discard(table)
            for table in old:
                con.execute(f"DROP TABLE lake.main.{_ident(table)}")
            con.execute("CALL lake.set_commit_message('city-cockpit', ?)", [note[:500]])
            con.execute("COMMIT")
            return con.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')"
                               ).fetchone()[0]
        finally:
            con.close()

    def exists(self) -> bool:
        return bool(self.latest())


class _AlreadyThere(Exception):
    """Another process of this PC finished the same local copy first."""


def _tables(con, database: str) -> list[str]:
    return [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'"
        " AND NOT temporary ORDER BY table_name", [database]).fetchall()]


def _columns(con, database: str, table: str) -> list[tuple]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ?"
        " AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [database, table]).fetchall()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def lake_of(db) -> Lake | None:
    """The DuckLake `db` names (`ducklake:…`), with this PC's data path; None for a folder."""
    location = lake_location(db)
    if location is None:
        return None
    from ..core.settings import SettingsError, load
    from ..paths import home_dir

    try:
        data_path = load().data_path
    except SettingsError:
        data_path = None
    return Lake(location, data_path, home_dir())


class LakeStore:
    """A DuckLake seen through the interface the import code uses on a snapshot folder:
    `current()`, `snapshot_path()`, `writer()` (see publish.py)."""

    def __init__(self, lake: Lake):
        self.lake = lake
        self.root = lake.shown      # (messages only)
        self.cache = lake.cache

    def current(self) -> Manifest | None:
        version = self.lake.latest()
        return self.lake.mirror(version) if version else None

    def exists(self) -> bool:
        return self.current() is not None

    def snapshot_path(self, manifest: Manifest) -> Path:
        return self.cache.snapshot_path(manifest)

    @contextmanager
    def writer(self, note: str = "", timeout: float = 120.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """Build the next snapshot in a private local file, then publish it to the lake in one
        transaction and keep the file as this PC's copy of it. Nothing reaches the lake if the
        block fails or the process dies."""
        with self.lake._lock(timeout):
            # Not in snapshots/: a copy made meanwhile by another process of this PC cleans up
            # unfinished files there.
            folder = self.cache.root / "incoming"
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f"building-{uuid.uuid4().hex}.duckdb"
            con = duckdb.connect(str(tmp), config=WRITER_CONFIG)
            try:
                yield con
                con.execute("CHECKPOINT")
                con.close()
                con = None
                version = self.lake.publish_file(tmp, note)
                self.cache.adopt(tmp, version, f"ducklake snapshot {version}: {note}"[:200])
            finally:
                if con is not None:
                    con.close()
                for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                    leftover.unlink(missing_ok=True)


def warehouse_store(db):
    """The store an import writes to: a snapshot folder, or a DuckLake."""
    lake = lake_of(db)
    return LakeStore(lake) if lake is not None else SnapshotStore(db)


def export_folder(db: Path, to: str, data_path: str | None = None,
                  progress: Callable[[float, str], None] | None = None) -> str:
    """Publish a snapshot folder's current snapshot as a DuckLake's next snapshot (creating the
    lake, with its Parquet folder `data_path`, if it does not exist yet)."""
    progress = progress or (lambda fraction, label: None)
    lake = lake_of(to)
    if lake is None:
        raise WarehouseError(f"--to 应为 ducklake:postgresql://… 或 ducklake:文件.ducklake，"
                             f"而不是 “{to}”")
    source = SnapshotStore(db)
    manifest = source.current()
    if manifest is None:
        raise WarehouseError(f"{db} 中没有可用的数据快照")
    with lake._lock():
        create_at = None
        if not lake.exists():
            if not data_path:
                raise WarehouseError(f"DuckLake {lake.shown} 还不存在；新建时要用 --data-path 指定"
                                     "存放 Parquet 数据文件的共享目录")
            Path(data_path).mkdir(parents=True, exist_ok=True)
            create_at = str(Path(data_path).resolve()) + os.sep
        progress(0.1, "写入 Parquet")
        started = time.monotonic()
        version = lake.publish_file(source.snapshot_path(manifest),
                                    f"export {Path(db).resolve()} {manifest.label}",
                                    create_at=create_at)
    progress(1.0, "完成")
    return (f"已把 {db} 的快照 {manifest.label} 发布为 DuckLake {lake.shown} 的快照 {version}"
            f"（用时 {time.monotonic() - started:.1f} 秒）")


class LakeFollower:
    """In a thread of its own: every `interval` seconds, ask the catalog for a newer snapshot and
    copy it into this PC's cache, where the window's usual follower finds it. What keeps it
    from the catalog is kept in `problem` for the window's banner."""

    def __init__(self, lake: Lake, interval: float = 1.0):
        self.lake = lake
        self.interval = interval
        self.problem: str | None = None
        self.problem_en: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ducklake-follower", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pg = None     # one connection to a PostgreSQL catalog, kept while it works
        while not self._stop.wait(self.interval):
            try:
                if pg is None and self.lake.on_postgres:
                    pg = self.lake._pg()
                version = self.lake.latest(pg)
                current = self.lake.cache.current()
                if version and (current is None or version > current.version):
                    self.lake.mirror(version)
                self.problem = self.problem_en = None
            except Exception as exc:  # noqa: BLE001 - a wall keeps following whatever happens
                self.problem = str(exc) if isinstance(exc, WarehouseError) \
                    else " ".join(str(exc).split())[:200]
                self.problem_en = getattr(exc, "en", self.problem)
                if pg is not None:
                    pg.close()
                    pg = None
        if pg is not None:
            pg.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
