"""The snapshot store: immutable versioned DuckDB files, published atomically, read without blocking.

Layout of a warehouse directory::

    snapshots/000007.duckdb    immutable once published; never opened read-write again
    manifests/000007.json      its manifest; the highest-numbered manifest is the current snapshot
    leases/000007.<pid>.<id>   held (locked) by each reader of snapshot 7 while it reads
    write.lock                 held by the one writer building the next snapshot

Why this shape:
- DuckDB lets one process hold a file read-write and then nobody else may open it, so writers never
  touch a published file: they build a private file and publish it under a new name.
- Publishing is the appearance of a new manifest, created by renaming a finished temporary file to
  a name that did not exist. No file is ever renamed over another, so this works on Windows where
  an open file cannot be replaced, and a crash at any point leaves the previous manifest current.
- Readers attach a snapshot READ_ONLY into their own in-memory DuckDB instance, so reopening the
  same path never hands back a cached read-write instance, and switching is ATTACH new, DETACH old.
- A reader holds a locked lease file for the snapshot it reads; the OS drops the lock if the reader
  dies. Old snapshots are deleted once no live lease names them.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import duckdb

from .locks import FileLock, is_locked_by_someone


# Snapshots in DuckDB 1.5's storage format whichever DuckDB writes them: DuckDB 2.x's own format
# cannot be read by 1.5.5, the release the `shared` extra pins (DuckLake), and a command centre
# may run both.
WRITER_CONFIG = {"storage_compatibility_version": "v1.5.0"}


class WarehouseError(Exception):
    """A warehouse cannot be used; the message is written for the user, in one line."""


@dataclass(frozen=True)
class Manifest:
    version: int
    file: str
    created_at: str
    note: str

    @property
    def label(self) -> str:
        return f"{self.version:06d}"


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows; NTFS journals renames
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


class SnapshotStore:
    def __init__(self, root: Path | str, origin: str | None = None):
        self.root = Path(root)
        # The warehouse these snapshots belong to: this folder, or the DuckLake (`ducklake:…`)
        # whose snapshots it holds local copies of. Imports go there.
        self.origin = origin if origin is not None else self.root
        self.snapshots = self.root / "snapshots"
        self.manifests = self.root / "manifests"
        self.leases = self.root / "leases"

    # -- reading the pointer ----------------------------------------------------------------
    def exists(self) -> bool:
        return self.current() is not None

    def versions(self) -> list[int]:
        if not self.manifests.is_dir():
            return []
        out = []
        for p in self.manifests.glob("*.json"):
            if p.stem.isdigit():
                out.append(int(p.stem))
        return sorted(out)

    def published(self) -> list[int]:
        """The versions that have a manifest, oldest first. Unlike versions(), a folder that
        cannot be read (renamed away, a dropped network share, permissions lost) raises OSError
        instead of looking empty: a window reading it must tell "gone" from "nothing new"."""
        with os.scandir(self.manifests) as entries:
            return sorted(int(e.name[:-5]) for e in entries
                          if e.name.endswith(".json") and e.name[:-5].isdigit())

    def signature(self, version: int) -> tuple:
        """What identifies a version's files on disk now (inode, size, mtime of manifest and
        snapshot): a snapshot found unreadable is tried again only once this has changed."""
        out = []
        manifest = self.manifest(version)
        paths = [self.manifests / f"{version:06d}.json"]
        if manifest is not None:
            paths.append(self.snapshot_path(manifest))
        for path in paths:
            try:
                st = os.stat(path)
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append(None)
        return tuple(out)

    def manifest(self, version: int) -> Manifest | None:
        path = self.manifests / f"{version:06d}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            m = Manifest(int(data["version"]), str(data["file"]), str(data["created_at"]),
                         str(data.get("note", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if m.version != version or not (self.snapshots / m.file).is_file():
            return None
        return m

    def current(self) -> Manifest | None:
        # A writer may publish a newer version and collect the ones just listed while they are
        # read: none of those is there any more, but the newer one is. List again until the
        # listing holds still (a writer publishes at most a few times a second).
        listed = None
        for _ in range(20):
            versions = self.versions()
            if versions == listed:
                return None
            for version in reversed(versions):
                m = self.manifest(version)
                if m is not None:
                    return m
            listed = versions
        return None

    def snapshot_path(self, manifest: Manifest) -> Path:
        return self.snapshots / manifest.file

    # -- writing ----------------------------------------------------------------------------
    @contextmanager
    def writer(self, note: str = "", timeout: float = 60.0, version: int | None = None,
               collect: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """Build the next snapshot: yields a read-write connection to a private file.

        The snapshot is published when the block ends without an exception; otherwise the private
        file is deleted and the current snapshot stays what it was. `version`: publish under
        this number (a DuckLake snapshot's local copy) instead of the next one; `collect=False`
        leaves older snapshots where they are."""
        for d in (self.snapshots, self.manifests, self.leases):
            d.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.root / "write.lock").acquire(timeout)
        tmp = self.snapshots / f"building-{uuid.uuid4().hex}.duckdb"
        con = None
        try:
            con = duckdb.connect(str(tmp), config=WRITER_CONFIG)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            con = None
            self._publish(tmp, note, version)
        finally:
            if con is not None:
                con.close()
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)
            try:
                if collect:
                    self._collect_garbage()
            finally:
                lock.release()

    def adopt(self, built: Path, version: int, note: str, timeout: float = 60.0) -> Manifest:
        """Publish a finished file (closed, checkpointed) as `version`, moving it into place."""
        for d in (self.snapshots, self.manifests, self.leases):
            d.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.root / "write.lock").acquire(timeout)
        try:
            found = self.manifest(version)
            return found if found is not None else self._publish(built, note, version)
        finally:
            try:
                self._collect_garbage()
            finally:
                lock.release()

    def _publish(self, built: Path, note: str, version: int | None = None) -> Manifest:
        if version is None:
            version = max(self.versions(), default=0) + 1
        final = self.snapshots / f"{version:06d}.duckdb"
        _fsync_file(built)
        os.rename(built, final)  # `final` is a fresh name: never a rename over an existing file
        _fsync_dir(self.snapshots)
        manifest = Manifest(version, final.name, datetime.now().isoformat(timespec="seconds"),
                            note)
        tmp = self.manifests / f"{version:06d}.json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest.__dict__, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.manifests / f"{version:06d}.json")  # the atomic switch
        _fsync_dir(self.manifests)
        return manifest

    # -- garbage ----------------------------------------------------------------------------
    def _live_versions(self) -> set[int]:
        live = set()
        if not self.leases.is_dir():
            return live
        for lease in self.leases.iterdir():
            version = lease.name.split(".", 1)[0]
            if not version.isdigit():
                continue
            if is_locked_by_someone(lease):
                live.add(int(version))
            else:
                lease.unlink(missing_ok=True)  # its reader is gone
        return live

    def _collect_garbage(self) -> None:
        """Delete snapshots that are neither current nor read by anyone. Caller holds write.lock."""
        current = self.current()
        if current is None:
            return
        keep = self._live_versions() | {current.version}
        for path in list(self.snapshots.iterdir()):
            stem = path.name.split(".", 1)[0]
            if stem.isdigit() and int(stem) in keep:
                continue
            if stem.startswith("building-") or stem.isdigit():
                try:
                    path.unlink()
                except OSError:  # still open somewhere (Windows): try again next time
                    continue
        for version in self.versions():
            if version not in keep and not (self.snapshots / f"{version:06d}.duckdb").exists():
                (self.manifests / f"{version:06d}.json").unlink(missing_ok=True)
        for tmp in self.manifests.glob("*.tmp"):
            tmp.unlink(missing_ok=True)

    def collect_garbage(self) -> bool:
        """Clean up if no writer is busy; returns whether it ran."""
        if not self.manifests.is_dir():
            return False
        lock = FileLock(self.root / "write.lock")
        if not lock.try_acquire():
            return False
        try:
            self._collect_garbage()
        finally:
            lock.release()
        return True


def reader_config() -> dict[str, str]:
    """DuckDB settings for a reader: its memory bounded (default 512MB, COCKPIT_DUCKDB_MEMORY
    overrides), spilling to a temporary folder beyond that.

    Left to itself each DuckDB instance may take 80% of the machine's memory for its buffers,
    and a cockpit holds two (the window's, and the alert evaluation's in its worker thread):
    on the nation warehouse an evaluation then peaked at 1.4 GB; with 400MB, at 540 MB and
    ~1.5x the time."""
    spill = Path(tempfile.gettempdir()) / "city-cockpit-duckdb"
    return {"memory_limit": os.environ.get("COCKPIT_DUCKDB_MEMORY", "512MB"),
            "temp_directory": str(spill)}


class Snapshot:
    """One published snapshot, attached read-only in a private in-memory DuckDB instance."""

    ALIAS = "wh"

    def __init__(self, store: SnapshotStore, manifest: Manifest):
        self.store = store
        self.manifest = manifest
        store.leases.mkdir(parents=True, exist_ok=True)
        self._lease = FileLock(
            store.leases / f"{manifest.label}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        self._lease.acquire(timeout=5)
        path = store.snapshot_path(manifest)
        try:
            self._con = duckdb.connect(":memory:", config=reader_config())
            # ATTACH takes no bound parameters; the path is ours, quoted as a SQL literal.
            literal = "'" + str(path).replace("'", "''") + "'"
            self._con.execute(f"ATTACH {literal} AS {self.ALIAS} (READ_ONLY)")
            self._con.execute(f"USE {self.ALIAS}")
        except duckdb.Error as exc:
            self._release_lease()
            raise WarehouseError(f"无法打开快照 {path}：{exc}") from exc
        self._local = threading.local()
        self._meta: dict[str, str] | None = None

    @property
    def version(self) -> int:
        return self.manifest.version

    @property
    def warehouse(self) -> Path | str:
        """Where an import of what this snapshot shows goes (a folder, or `ducklake:…`)."""
        return self.store.origin

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            cur.execute(f"USE {self.ALIAS}")
            self._local.cursor = cur
        return cur

    def meta(self) -> dict[str, str]:
        if self._meta is None:
            self._meta = dict(self.cursor().execute("SELECT key, value FROM meta").fetchall())
        return self._meta

    def _release_lease(self) -> None:
        self._lease.release()
        self._lease.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._con is None:
            return
        self._con.close()
        self._con = None
        self._release_lease()


def open_current(root: Path | str, as_of: date | None = None) -> Snapshot:
    """Open the current snapshot of a warehouse directory or DuckLake (`ducklake:…`), or raise
    a one-line WarehouseError. `as_of`: the snapshot that was current when that day ended."""
    if lake_location(root) is not None:
        from .lake import lake_of

        return lake_of(root).open(as_of)
    store = SnapshotStore(root)
    if as_of is not None:
        return _open_as_of(store, as_of)
    if not store.root.is_dir():
        raise WarehouseError(f"数据仓库目录不存在：{store.root}（可先运行 cockpit demo build）")
    manifest = store.current()
    for _ in range(20):
        if manifest is None:
            raise WarehouseError(f"{store.root} 中没有可用的数据快照（可先运行 cockpit demo build）")
        try:
            return open_manifest(store, manifest)
        except WarehouseError:
            # A writer may have published and collected this one before our lease held it:
            # then the newer one is what to open. The same one again is really broken.
            newer = store.current()
            if newer is None or newer.version == manifest.version:
                raise
            manifest = newer
    return open_manifest(store, manifest)


def _open_as_of(store: SnapshotStore, day: date) -> Snapshot:
    """A snapshot folder keeps only the snapshots in use: the past is there if it still is."""
    end = datetime.combine(day, datetime.max.time()).isoformat(timespec="seconds")
    kept = [m for m in (store.manifest(v) for v in reversed(store.versions()))
            if m is not None and m.created_at <= end]
    if not kept:
        raise WarehouseError(f"{store.root} 中没有 {day.isoformat()} 及以前发布、至今仍保留的快照"
                             "（快照目录只保留当前快照；要回溯历史请使用 DuckLake 数据仓库）")
    return open_manifest(store, kept[0])


def open_manifest(store: SnapshotStore, manifest: Manifest) -> Snapshot:
    """Open one published snapshot and check that it is a readable cockpit warehouse."""
    try:
        snap = Snapshot(store, manifest)
    except OSError as exc:   # the leases folder cannot be written (a read-only or dropped share)
        raise WarehouseError(f"无法打开快照 {store.snapshot_path(manifest)}：{exc}") from exc
    try:
        schema = snap.meta().get("schema_version")
    except duckdb.Error as exc:
        snap.close()
        raise WarehouseError(f"快照 {store.snapshot_path(manifest)} 已损坏：{exc}") from exc
    if schema is None:
        snap.close()
        raise WarehouseError(f"快照 {store.snapshot_path(manifest)} 不是驾驶舱数据仓库")
    return snap


LAKE_PREFIX = "ducklake:"


def lake_location(db: Path | str) -> str | None:
    """`ducklake:<catalog>` as given (a PostgreSQL URL or a DuckDB file), or None for a snapshot
    folder. Tolerates having been through pathlib, which folds `postgresql://` into `:/`."""
    text = str(db)
    if not text.startswith(LAKE_PREFIX):
        return None
    catalog = text[len(LAKE_PREFIX):]
    for scheme in ("postgresql:", "postgres:"):
        if catalog.startswith(scheme) and not catalog.startswith(scheme + "//"):
            catalog = scheme + "//" + catalog[len(scheme):].lstrip("/")
    return LAKE_PREFIX + catalog


def warehouse_key(db: Path | str) -> str:
    """What names a warehouse in the operations store (which evaluations it has seen)."""
    lake = lake_location(db)
    if lake is not None:
        from ..core.settings import redact

        return redact(lake)
    return str(Path(db).resolve())
