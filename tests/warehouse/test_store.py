"""Snapshot store: readers never see a half-built snapshot, writers never disturb readers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cockpit.warehouse.store import SnapshotStore, WarehouseError, open_current


def publish(root, value: int, note: str = ""):
    store = SnapshotStore(root)
    with store.writer(note=note) as con:
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('marker', ?)", [str(value)])
    return store.current()


def marker(snapshot) -> str:
    return snapshot.cursor().execute("SELECT value FROM meta WHERE key='marker'").fetchone()[0]


def test_publish_makes_a_new_current_version(tmp_path):
    assert SnapshotStore(tmp_path).current() is None
    m1 = publish(tmp_path, 1)
    m2 = publish(tmp_path, 2)
    assert (m1.version, m2.version) == (1, 2)
    snap = open_current(tmp_path)
    assert marker(snap) == "2"
    snap.close()


def test_reader_keeps_its_snapshot_while_a_writer_publishes_and_gc_waits_for_it(tmp_path):
    publish(tmp_path, 1)
    reader = open_current(tmp_path)
    publish(tmp_path, 2)
    publish(tmp_path, 3)
    store = SnapshotStore(tmp_path)
    assert marker(reader) == "1"  # still readable, untouched
    names = sorted(p.name for p in store.snapshots.iterdir())
    assert names == ["000001.duckdb", "000003.duckdb"]  # 2 was never read: collected
    reader.close()
    assert store.collect_garbage()
    assert sorted(p.name for p in store.snapshots.iterdir()) == ["000003.duckdb"]


def test_a_failed_build_leaves_the_current_snapshot_and_no_debris(tmp_path):
    publish(tmp_path, 1)
    store = SnapshotStore(tmp_path)
    with pytest.raises(RuntimeError):
        with store.writer() as con:
            con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
            raise RuntimeError("import failed half-way")
    assert store.current().version == 1
    assert sorted(p.name for p in store.snapshots.iterdir()) == ["000001.duckdb"]


WRITER = textwrap.dedent("""
    import sys, time
    from cockpit.warehouse.store import SnapshotStore
    store = SnapshotStore(sys.argv[1])
    with store.writer() as con:
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
        con.execute("INSERT INTO meta VALUES ('schema_version', '1'), ('marker', 'killed')")
        con.execute("CREATE TABLE big AS SELECT range AS i FROM range(3000000)")
        print("building", flush=True)
        time.sleep(30)
""")


@pytest.mark.skipif(os.name == "nt", reason="uses SIGKILL")
def test_a_killed_writer_leaves_the_previous_snapshot_readable(tmp_path):
    publish(tmp_path, 1)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "building"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    snap = open_current(tmp_path)
    assert marker(snap) == "1"
    snap.close()
    # The dead writer's lock died with it: the next writer proceeds and cleans the debris.
    m = publish(tmp_path, 2)
    assert m.version == 2
    leftovers = [p.name for p in SnapshotStore(tmp_path).snapshots.iterdir()
                 if p.name.startswith("building-")]
    assert leftovers == []


READER = textwrap.dedent("""
    import sys, time
    from cockpit.warehouse.store import open_current, SnapshotStore
    root = sys.argv[1]
    snap = open_current(root)
    seen = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        current = SnapshotStore(root).current()
        if current.version != snap.version:
            snap.close()
            snap = open_current(root)
        seen.add(snap.cursor().execute("SELECT value FROM meta WHERE key='marker'").fetchone()[0])
        if "5" in seen:
            break
    print(",".join(sorted(seen)))
""")


def test_another_process_reads_continuously_while_versions_are_published(tmp_path):
    publish(tmp_path, 0)
    proc = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    for value in range(1, 6):
        publish(tmp_path, value)
        time.sleep(0.1)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "5" in out.strip().split(",")


@pytest.mark.parametrize("moment", ["after listing the versions", "before leasing the newest"])
def test_a_writer_publishing_and_collecting_while_a_reader_opens_never_leaves_it_without_one(
        tmp_path, monkeypatch, moment):
    # A reader lists the versions, reads the newest manifest, then leases its file. A writer that
    # publishes (and collects what no one leases) at either moment must not leave it with
    # "no snapshot" or "cannot open": the newer version is there to open.
    from cockpit.warehouse import store as store_module

    publish(tmp_path, 1)
    publish(tmp_path, 2)
    interleaved = []

    def writer_acts():
        if not interleaved:          # once, and not again from inside the writer's own calls
            interleaved.append("writing")
            interleaved[0] = publish(tmp_path, 3).version

    if moment == "after listing the versions":
        versions = SnapshotStore.versions

        def listing_then_writer(self):
            listed = versions(self)
            writer_acts()
            return listed
        monkeypatch.setattr(SnapshotStore, "versions", listing_then_writer)
    else:
        opening = store_module.open_manifest

        def writer_then_open(store, manifest):
            writer_acts()
            return opening(store, manifest)
        monkeypatch.setattr(store_module, "open_manifest", writer_then_open)
    snap = open_current(tmp_path)
    assert interleaved == [3] and marker(snap) == "3"
    assert not (tmp_path / "snapshots" / "000002.duckdb").exists()   # it was collected meanwhile
    snap.close()


def test_missing_or_broken_warehouses_give_one_line_errors(tmp_path):
    with pytest.raises(WarehouseError, match="不存在"):
        open_current(tmp_path / "nowhere")
    tmp_path.joinpath("empty").mkdir()
    with pytest.raises(WarehouseError, match="没有可用的数据快照"):
        open_current(tmp_path / "empty")
    broken = tmp_path / "broken"
    (broken / "snapshots").mkdir(parents=True)
    (broken / "manifests").mkdir()
    (broken / "snapshots" / "000001.duckdb").write_bytes(b"not a database at all" * 100)
    (broken / "manifests" / "000001.json").write_text(
        '{"version": 1, "file": "000001.duckdb", "created_at": "x", "note": ""}')
    with pytest.raises(WarehouseError):
        open_current(broken)
