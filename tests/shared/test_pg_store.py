"""The operations store in a real PostgreSQL: the SQLite store's semantics, several processes at
once, change notices, and moving a PC's SQLite store in."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime

import pytest

from cockpit.alerts.engine import Alert, Evaluation, alert_id
from cockpit.alerts.pgstore import PgAlertStore
from cockpit.alerts.store import AlertStateError, AlertStore, StoreUnavailable

RULE = "t.load"


def alerts_for(scope: str, n: int) -> list[Alert]:
    return [Alert(alert_id(RULE, f"99{k:04d}", "gov_events_closed", date(2025, 12, 1)), RULE,
                  "测试", "threshold", "橙", f"99{k:04d}", f"乡镇{k}", "gov_events_closed",
                  "事件处置完成率", None, date(2025, 12, 1), "2025年12月", 80.0, 90.0, 90.0,
                  80.0, "%", f"乡镇{k} 事件处置完成率低于 90% 的预警线",
                  f"Township {k}: events closed below 90%") for k in range(n)]


def seed(store, scope: str, n: int, version: int = 1) -> list[str]:
    alerts = alerts_for(scope, n)
    store.sync(Evaluation(version, scope, date(2025, 12, 1), alerts,
                          {RULE: {"gov_events_closed": date(2026, 1, 1)}}))
    return [a.id for a in alerts]


def test_the_lifecycle_on_postgresql_is_the_lifecycle_on_sqlite(pg_db, tmp_path):
    clock = lambda: datetime(2026, 1, 10, 9, 30)  # noqa: E731
    pg, lite = PgAlertStore(pg_db, clock=clock), AlertStore(tmp_path / "ops.sqlite", clock=clock)
    for store in (pg, lite):
        ids = seed(store, "990000", 3)
        store.ack(ids[0], "甲")
        store.assign(ids[0], "甲", "县应急管理局", "2026-02-01")
        store.close(ids[0], "乙", "已整改")
        store.ignore(ids[1][:6], "甲", "2026-03-01", "口径调整")
        with pytest.raises(AlertStateError) as refused:
            store.ack(ids[0], "丙")
        assert "当前状态为 已办结" in str(refused.value)
        # The next evaluation no longer finds the third: auto-cleared, with its audit row.
        store.sync(Evaluation(2, "990000", date(2025, 12, 1), alerts_for("990000", 2),
                              {RULE: {"gov_events_closed": date(2025, 12, 1)}}))
    assert [a.as_dict() for a in pg.list()] == [a.as_dict() for a in lite.list()]
    for i in ids:
        strip = lambda entries: [(e.action, e.from_status, e.to_status, e.actor, e.detail)  # noqa
                                 for e in entries]
        assert strip(pg.history(i)) == strip(lite.history(i))
    assert pg.get(ids[0]).message_en == "Township 0: events closed below 90%"
    assert pg.counts_by_severity(scope="990000") == lite.counts_by_severity(scope="990000")


def test_two_counties_sharing_one_database_keep_their_own_alert_of_the_same_id(pg_db):
    store = PgAlertStore(pg_db)
    county, city = seed(store, "330723", 2), seed(store, "330700", 2)
    assert county == city   # the same rule about the same township and month
    store.ack(county[0], "县值班员", scope="330723")
    assert store.get(county[0], "330723").status == "已签收"
    assert store.get(city[0], "330700").status == "新预警"
    with pytest.raises(AlertStateError, match="多个地区"):
        store.ack(county[0], "不知哪里")


RACER = r"""
import sys, time, pathlib
from cockpit.alerts.pgstore import PgAlertStore
from cockpit.alerts.store import AlertStateError
url, who, barrier, ids = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]), sys.argv[4].split(",")
store = PgAlertStore(url)
(barrier / f"ready-{who}").touch()
while not (barrier / "go").exists():
    time.sleep(0.002)
for i in ids:
    try:
        store.ack(i, who, scope="990000")
        print("done", i, flush=True)
    except AlertStateError as exc:
        print("refused", i, exc, flush=True)
"""


def test_two_processes_racing_500_acknowledgements_each_alert_acknowledged_once(pg_db, tmp_path):
    store = PgAlertStore(pg_db)
    ids = seed(store, "990000", 500)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = {who: subprocess.Popen([sys.executable, "-c", RACER, pg_db, who, str(barrier),
                                    ",".join(ids)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for who in ("甲", "乙")}
    deadline = time.monotonic() + 60
    while not all((barrier / f"ready-{who}").exists() for who in procs):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs.values())
        time.sleep(0.01)
    (barrier / "go").touch()
    lines = []
    for proc in procs.values():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        lines += out.splitlines()
    done = sorted(line.split()[1] for line in lines if line.startswith("done"))
    refused = [line for line in lines if line.startswith("refused")]
    assert done == sorted(ids)            # none lost, none doubled
    assert len(refused) == 500 and all("不能签收" in line for line in refused)
    winners = {a.id: a.acked_by for a in store.list()}
    assert set(winners.values()) <= {"甲", "乙"}
    audit = store.changes_since(0, limit=5000)
    acks = [e for e in audit if e.action == "ack"]
    assert sorted(e.alert_id for e in acks) == sorted(ids)
    assert all(winners[e.alert_id] == e.actor for e in acks)
    assert [e.seq for e in audit] == sorted(e.seq for e in audit)


def test_a_change_committed_elsewhere_is_heard_at_once(pg_db):
    store = PgAlertStore(pg_db)
    ids = seed(store, "990000", 1)
    heard, states, stop = threading.Event(), [], threading.Event()
    listener = PgAlertStore(pg_db, busy_timeout=0.25)
    thread = threading.Thread(target=listener.listen, args=(heard.set, lambda up, why:
                                                            states.append(up), stop))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not states and time.monotonic() < deadline:
            time.sleep(0.01)
        subprocess.run([sys.executable, "-c", "import sys; from cockpit.alerts.pgstore import "
                        "PgAlertStore; PgAlertStore(sys.argv[1]).ack(sys.argv[2], '乙')",
                        pg_db, ids[0]], check=True, timeout=30)
        assert heard.wait(2.0)
        assert states == [True]
    finally:
        stop.set()
        thread.join(5)


def test_an_unreachable_server_is_one_clear_error_and_a_lazy_store_waits_for_it():
    url = "postgresql://cockpit@127.0.0.1:9/cockpit"   # nothing listens on port 9
    # An install without the shared extra is told what to install instead.
    says = ("无法连接 PostgreSQL" if importlib.util.find_spec("psycopg")
            else r'pip install "city-cockpit\[shared\]"')
    with pytest.raises(StoreUnavailable, match=says):
        PgAlertStore(url)
    store = PgAlertStore(url, busy_timeout=0.25, lazy=True)
    started = time.monotonic()
    for _ in range(5):   # held: failing again costs nothing
        with pytest.raises(OSError):
            store.list()
    assert time.monotonic() - started < 1.0
    assert store.location == "postgresql://cockpit@127.0.0.1:9/cockpit"


def cockpit(*args, home, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "COCKPIT_HOME": str(home), **(env or {})})


def test_migrating_a_pcs_sqlite_store_copies_every_alert_and_its_history(pg_db, tmp_path):
    home = tmp_path / "pc"
    lite = AlertStore(home / "state" / "operations.sqlite")
    ids = seed(lite, "990000", 5)
    lite.ack(ids[0], "甲")
    lite.close(ids[0], "甲", "已处理")
    run = cockpit("ops", "migrate", "--to", pg_db, home=home)
    assert run.returncode == 0, run.stderr
    assert "预警 5 条，处置记录 7 条" in run.stdout
    assert (home / "settings.toml").read_text(encoding="utf-8").count(pg_db) == 1
    pg = PgAlertStore(pg_db)
    assert [a.as_dict() for a in pg.list()] == [a.as_dict() for a in lite.list()]
    assert [e.as_dict() for e in pg.history(ids[0])] == [e.as_dict() for e in lite.history(ids[0])]
    pg.ack(ids[1], "乙")   # numbering goes on after the copied audit rows
    assert pg.history(ids[1])[-1].seq > max(e.seq for e in lite.changes_since(0))
    # This PC now uses PostgreSQL without being told again.
    listed = cockpit("alerts", "list", "--json", "--db", str(tmp_path / "none"), home=home)
    assert listed.returncode == 0, listed.stderr
    assert {a["id"]: a["status"] for a in json.loads(listed.stdout)}[ids[1]] == "已签收"
    again = cockpit("ops", "migrate", "--to", pg_db, home=home)
    assert again.returncode == 2 and "只能迁移到空库" in again.stderr
    assert again.stderr.count("\n") == 1
