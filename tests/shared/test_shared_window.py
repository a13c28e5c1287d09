"""Several PCs, one PostgreSQL: cockpits that see each other's acknowledgements, ride out the
server going away, follow a DuckLake that another PC imports into, and a DuckLake that a killed
import leaves as it was."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date

import pytest

from cockpit import cli
from cockpit.core import settings
from cockpit.ui.app import LiveWarehouse, _application, _watch, build_window
from cockpit.warehouse.demo import TOWNSHIP_CODES
from cockpit.warehouse.lake import Lake, export_folder
from cockpit.warehouse.publish import import_files
from cockpit.warehouse.store import open_current

TAOXI = TOWNSHIP_CODES["桃溪镇"]


def pc(tmp_path, name: str, **conf) -> dict:
    """Another PC: its own COCKPIT_HOME, with a settings file naming the shared services."""
    home = tmp_path / name
    settings.save(settings.Settings(**conf), home / settings.FILE_NAME)
    return {**os.environ, "COCKPIT_HOME": str(home)}


def cockpit(env, *args, timeout=120) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                         text=True, timeout=timeout, env=env)
    assert run.returncode == 0, run.stderr
    return run


@pytest.fixture
def desk(demo_db, tmp_path, pg_db, qtbot, monkeypatch):
    """PC 甲's window on a copy of the demo, its alerts in PostgreSQL (its settings file)."""
    home = tmp_path / "甲"
    monkeypatch.setenv("COCKPIT_HOME", str(home))
    settings.save(settings.Settings(ops=pg_db))
    _application()
    db = tmp_path / "wh"
    shutil.copytree(demo_db, db, ignore=shutil.ignore_patterns("leases"))
    warehouse = LiveWarehouse(db)
    win = build_window(warehouse, evaluate=False)
    win.ctx.alerts.evaluate(warehouse.snapshot)
    win.ctx.alerts_changed.emit()
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win, db, pg_db
    win.close()
    win.watcher.stop(wait_s=10)
    warehouse.close()


def status_in(win, alert_id: str) -> str | None:
    return next((a.status for a in win.alerts.shown_alerts() if a.id == alert_id), None)


def test_an_acknowledgement_at_one_pc_appears_on_the_others_within_two_seconds(desk, tmp_path,
                                                                              qtbot):
    win, db, url = desk
    assert win.ctx.alerts.store.dialect == "postgresql"
    first, second = win.alerts.alert_ids()[:2]
    other = pc(tmp_path, "乙", ops=url)
    cockpit(other, "alerts", "ack", first, "--by", "乙值班员", "--db", str(db))
    acked = time.monotonic()
    qtbot.waitUntil(lambda: status_in(win, first) == "已签收", timeout=2000)
    assert time.monotonic() - acked < 2.0
    # …and the other way round: this window acknowledges, the other PC lists it.
    assert win.alerts.perform("ack", second, by="甲值班员")
    listed = json.loads(cockpit(other, "alerts", "list", "--json", "--db", str(db)).stdout)
    by_id = {a["id"]: a for a in listed}
    assert (by_id[first]["acked_by"], by_id[second]["acked_by"]) == ("乙值班员", "甲值班员")


def test_postgresql_stopped_and_restarted_under_a_running_window(desk, tmp_path, qtbot,
                                                                  pg_ctl):
    win, db, url = desk
    ids = win.alerts.alert_ids()
    pg_ctl("stop")
    try:
        qtbot.waitUntil(lambda: "operations" in win.banner.problems(), timeout=5000)
        assert "PostgreSQL" in win.banner.text()
        started = time.perf_counter()
        assert not win.alerts.perform("ack", ids[0], by="甲值班员")   # said, not frozen
        win.ctx.select(region=TAOXI)
        win.ctx.alerts_changed.emit()
        assert time.perf_counter() - started < 1.0
        win.ctx.select(region=win.ctx.county_code)
        assert win.alerts.alert_ids() == ids                      # the last state is kept
    finally:
        pg_ctl("start")
    qtbot.waitUntil(lambda: "operations" not in win.banner.problems(), timeout=8000)
    # Caught up: what another PC does after the restart shows here.
    cockpit(pc(tmp_path, "乙", ops=url), "alerts", "ack", ids[1], "--by", "乙值班员",
            "--db", str(db))
    qtbot.waitUntil(lambda: status_in(win, ids[1]) == "已签收", timeout=2000)
    assert win.alerts.perform("ack", ids[0], by="甲值班员")


def history_csv(path, first_year: int, last_year: int, indicator="eco_industry_va") -> int:
    lines = ["region,indicator,period,value"]
    for k, code in enumerate(TOWNSHIP_CODES.values()):
        for year in range(first_year, last_year + 1):
            for month in range(1, 13):
                lines.append(f"{code},{indicator},{year}-{month:02d},{50 + k + month / 10:.1f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


@pytest.fixture
def lake(demo_db, tmp_path, pg_db, lake_extensions, monkeypatch):
    """A DuckLake with its catalog in PostgreSQL, holding the demo as its first snapshot."""
    monkeypatch.setenv("COCKPIT_HOME", str(tmp_path / "甲"))
    location = "ducklake:" + pg_db
    export_folder(demo_db, location, data_path=str(tmp_path / "share" / "lake"))
    return location


def test_an_import_into_the_ducklake_is_seen_by_a_second_running_window(lake, tmp_path,
                                                                          qtbot, pg_ctl):
    _application()
    warehouse = LiveWarehouse(lake)
    first = warehouse.snapshot.version
    win = build_window(warehouse, evaluate=False)
    _watch(win, warehouse, interval_ms=200)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    try:
        win.ctx.select(region=TAOXI, indicator="eco_industry_va")
        history_csv(tmp_path / "history.csv", 2015, 2016)
        cockpit(pc(tmp_path, "大数据中心"), "import", str(tmp_path / "history.csv"), "--db", lake)
        qtbot.waitUntil(lambda: warehouse.snapshot.version > first, timeout=10000)
        assert win.ctx.queries.months[0] == date(2015, 1, 1)       # the imported years
        assert (win.ctx.state.region, win.ctx.state.indicator) == (TAOXI, "eco_industry_va")
        assert "warehouse" not in win.banner.problems()
        # The catalog away: said on the banner, the snapshot copied here still shown.
        pg_ctl("stop")
        try:
            qtbot.waitUntil(lambda: "warehouse" in win.banner.problems(), timeout=5000)
            assert "DuckLake" in win.banner.text()
            win.ctx.select(region=TOWNSHIP_CODES["桐琴镇"])
            assert win.map.highlighted_region == TOWNSHIP_CODES["桐琴镇"]
        finally:
            pg_ctl("start")
        qtbot.waitUntil(lambda: "warehouse" not in win.banner.problems(), timeout=8000)
    finally:
        win.close()
        win.watcher.stop(wait_s=10)
        warehouse.close()


def test_a_client_killed_mid_import_leaves_the_catalog_at_the_previous_snapshot(lake, tmp_path):
    catalog = Lake(lake)
    before = catalog.latest()
    facts = open_current(lake)
    expected = facts.cursor().execute("SELECT count(*) FROM observations").fetchone()[0]
    facts.close()
    history_csv(tmp_path / "history.csv", 2000, 2019)
    data = tmp_path / "share" / "lake"
    written = {p for p in data.rglob("*.parquet")}
    env = pc(tmp_path, "乙")
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "import",
                             str(tmp_path / "history.csv"), "--db", lake], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The moment its first Parquet file lands, it is publishing: kill it there.
    deadline = time.monotonic() + 60
    while not (set(data.rglob("*.parquet")) - written):
        assert proc.poll() is None and time.monotonic() < deadline, "the import ended first"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert catalog.latest() == before
    shutil.rmtree(tmp_path / "甲" / "cache")     # read the lake afresh, not this PC's copy
    snap = open_current(lake)
    try:
        assert snap.version == before
        assert snap.cursor().execute("SELECT count(*) FROM observations").fetchone()[0] \
            == expected
    finally:
        snap.close()
    assert import_files([tmp_path / "history.csv"], lake).published   # it still takes one
    assert catalog.latest() > before


def test_a_briefing_as_of_a_past_day_reads_the_warehouse_as_it_was(lake, tmp_path, capsys):
    import psycopg

    history_csv(tmp_path / "history.csv", 2015, 2015)
    assert import_files([tmp_path / "history.csv"], lake).published
    # The export was "three days ago": move its commit back (days cannot pass in a test).
    with psycopg.connect(lake[len("ducklake:"):], autocommit=True) as con:
        con.execute("UPDATE ducklake_snapshot SET snapshot_time = snapshot_time"
                    " - INTERVAL '3 days' WHERE snapshot_id <= 1")
    day = date.fromordinal(date.today().toordinal() - 2)
    then = open_current(lake, as_of=day)
    now = open_current(lake)
    try:
        first = "SELECT min(period) FROM observations"
        assert then.cursor().execute(first).fetchone()[0] > date(2015, 1, 1)
        assert now.cursor().execute(first).fetchone()[0] == date(2015, 1, 1)
    finally:
        then.close()
        now.close()
    assert cli.main(["brief", "--county", "--db", lake, "--as-of", day.isoformat(),
                     "--out", str(tmp_path / "then.pdf")]) == 0
    assert "简报" in capsys.readouterr().out
    assert (tmp_path / "then.pdf").stat().st_size > 10_000
