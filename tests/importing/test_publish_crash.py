"""A writer killed at any point of an import never leaves an unreadable or half-written current snapshot."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from cockpit.core.catalogue import DEMO_CATALOGUE
from cockpit.warehouse.demo import TOWNSHIP_CODES
from cockpit.warehouse.store import SnapshotStore, open_current

pytestmark = pytest.mark.heavy(20)

KILLS = 6


def facts(db):
    """(count, digest) of the observations; the snapshot must be whole to answer at all."""
    snap = open_current(db)
    try:
        cur = snap.cursor()
        tables = {name for (name,) in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh'").fetchall()}
        assert {"meta", "regions", "indicators", "observations", "events"} <= tables
        return cur.execute("SELECT count(*), sum(hash(indicator, period, region, value, prev_value,"
                           " yoy_value)) FROM observations").fetchone()
    finally:
        snap.close()


def write_history(path):
    """Five years (2015–2019) of every monthly township indicator: about 37,000 rows, long enough
    to kill in each of its steps."""
    monthly = [i for i in DEMO_CATALOGUE if i.frequency == "month" and not i.county_only]
    lines = ["region,indicator,period,value"]
    for ind in monthly:
        for k, code in enumerate(TOWNSHIP_CODES.values()):
            for year in range(2015, 2020):
                for month in range(1, 13):
                    lines.append(f"{code},{ind.code},{year}-{month:02d},{50 + k + month / 10:.1f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def start_import(csv, db):
    return subprocess.Popen([sys.executable, "-m", "cockpit", "import", str(csv), "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.skipif(os.name == "nt", reason="uses SIGKILL")
def test_killing_an_import_at_random_moments_leaves_old_or_new_snapshot_whole(make_warehouse,
                                                                             tmp_path):
    csv = tmp_path / "history.csv"
    rows = write_history(csv)
    # Calibrate on one copy: how long a whole import takes, and what it leaves behind.
    reference = make_warehouse(tmp_path / "reference")
    old = facts(reference)
    started = time.monotonic()
    assert start_import(csv, reference).wait(120) == 0
    duration = time.monotonic() - started
    new = facts(reference)
    # Every township-only month also gives the county a figure derived from them.
    assert new[0] == old[0] + rows + rows // len(TOWNSHIP_CODES)

    db = make_warehouse(tmp_path / "victim")
    rng = random.Random(20251231)
    seen = set()
    for k in range(KILLS):
        # One kill in each sixth of the import's duration: reading, checking, copying, publishing.
        delay = duration * (k + rng.random()) / KILLS
        proc = start_import(csv, db)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        state = facts(db)  # opens, and every table is there
        assert state in (old, new), f"kill after {delay:.2f}s left {state}"
        seen.add("new" if state == new else "old")
        manifest = SnapshotStore(db).current()
        assert manifest is not None and (db / "snapshots" / manifest.file).is_file()
    assert "old" in seen  # at least one kill landed before the switch
    # The dead writers' lock died with them: a last import goes through and cleans up.
    assert start_import(csv, db).wait(120) == 0
    assert facts(db) == new
    leftovers = [p.name for p in (db / "snapshots").iterdir() if p.name.startswith("building-")]
    assert leftovers == []
