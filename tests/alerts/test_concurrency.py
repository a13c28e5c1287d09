"""Several processes changing alerts at once, and processes killed in the middle of a write."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date

import pytest

from cockpit.alerts.engine import Alert, Evaluation, alert_id
from cockpit.alerts.store import AlertStore

RULE, SCOPE = "t.load", "990000"

# A worker: waits at a barrier, then applies transitions and prints each one once committed.
WORKER = r"""
import sys, time, pathlib
from cockpit.alerts.store import AlertStore, AlertStateError
path, who, barrier, plan = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3]), sys.argv[4]
store = AlertStore(path)
(barrier / f"ready-{who}").touch()
while not (barrier / "go").exists():
    time.sleep(0.002)
for step in plan.split(","):
    action, alert = step.split(":")
    try:
        if action == "ack":
            store.ack(alert, who)
        elif action == "assign":
            store.assign(alert, who, "县应急管理局", "2099-01-01")
        elif action == "close":
            store.close(alert, who, who + " 办结")
        elif action == "sync":
            from cockpit.alerts.engine import Alert, Evaluation
            old = store.list()
            alerts = [Alert(a.id, a.rule_id, a.rule_name, a.kind, a.severity, a.region,
                            a.region_name, a.indicator, a.indicator_name, a.category,
                            a.period_date, a.period_label, a.observed, a.expected,
                            a.limit_value, a.measure, a.unit, a.message) for a in old]
            cover = {a.rule_id: {a.subject: a.period_date} for a in old}
            store.sync(Evaluation(int(alert), old[0].scope, None, alerts, cover))
    except AlertStateError as exc:
        print("refused", step, exc, flush=True)
        continue
    print("done", step, flush=True)
"""


def seed(store: AlertStore, n: int, version: int = 1, offset: int = 0) -> list[str]:
    alerts = []
    for k in range(offset, offset + n):
        region = f"99{k:04d}"
        alerts.append(Alert(
            alert_id(RULE, region, "gov_events_closed", date(2025, 12, 1)), RULE, "测试",
            "threshold", "橙", region, f"乡镇{k}", "gov_events_closed", "事件处置完成率", None,
            date(2025, 12, 1), "2025年12月", 80.0, 90.0, 90.0, 80.0, "%",
            f"乡镇{k} 事件处置完成率 2025年12月为 80.0%，低于 90% 的预警线"))
    store.sync(Evaluation(version, SCOPE, date(2025, 12, 1), alerts,
                          {RULE: {"gov_events_closed": date(2026, 1, 1)}}))
    return [a.id for a in alerts]


def run_together(tmp_path, state, plans: dict[str, list[str]]) -> dict[str, list[str]]:
    """Start one process per plan, release them at the same moment, return their output."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = {who: subprocess.Popen([sys.executable, "-c", WORKER, str(state), who, str(barrier),
                                    ",".join(plan)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
             for who, plan in plans.items()}
    deadline = time.monotonic() + 60
    while not all((barrier / f"ready-{who}").exists() for who in plans):
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs.values()), "a worker died while starting"
        time.sleep(0.01)
    (barrier / "go").touch()
    out = {}
    for who, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        out[who] = stdout.splitlines()
    return out


def test_two_processes_changing_different_alerts_at_once_lose_no_change(tmp_path):
    state = tmp_path / "operations.sqlite"
    ids = seed(AlertStore(state), 40)
    plans = {who: [f"{action}:{i}" for i in mine for action in ("ack", "assign", "close")]
             for who, mine in (("甲", ids[:20]), ("乙", ids[20:]))}
    out = run_together(tmp_path, state, plans)
    assert all(line.startswith("done") for lines in out.values() for line in lines)
    store = AlertStore(state)
    closed = {a.id: a for a in store.list(status="已办结")}
    assert set(closed) == set(ids)
    assert all(closed[i].closed_by == "甲" for i in ids[:20])
    assert all(closed[i].closed_by == "乙" and closed[i].note == "乙 办结" for i in ids[20:])
    for i in ids:
        assert [e.action for e in store.history(i)] == ["raise", "ack", "assign", "close"]


def test_two_processes_racing_for_the_same_alerts_each_win_some_and_nothing_is_doubled(
        tmp_path):
    state = tmp_path / "operations.sqlite"
    ids = seed(AlertStore(state), 30)
    out = run_together(tmp_path, state, {who: [f"ack:{i}" for i in ids] for who in ("甲", "乙")})
    done = [line.split()[1].split(":")[1] for lines in out.values() for line in lines
            if line.startswith("done")]
    refused = [line for lines in out.values() for line in lines if line.startswith("refused")]
    assert sorted(done) == sorted(ids)  # every alert acknowledged exactly once
    assert len(refused) == 30 and all("不能签收" in line for line in refused)
    store = AlertStore(state)
    for i in ids:
        assert [e.action for e in store.history(i)].count("ack") == 1


def test_an_evaluation_applied_while_an_operator_works_does_not_undo_the_operator(tmp_path):
    state = tmp_path / "operations.sqlite"
    ids = seed(AlertStore(state), 20)
    plans = {"值班员": [f"{a}:{i}" for i in ids for a in ("ack", "assign")],
             "引擎": [f"sync:{v}" for v in range(2, 22)]}
    run_together(tmp_path, state, plans)
    store = AlertStore(state)
    assert {a.status for a in store.list()} == {"处置中"}
    assert all(a.department == "县应急管理局" and a.acked_by == "值班员" for a in store.list())


def _integrity(state) -> str:
    with sqlite3.connect(state) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_a_process_killed_mid_write_loses_no_committed_transition(tmp_path):
    state = tmp_path / "operations.sqlite"
    ids = seed(AlertStore(state), 400)
    rng = random.Random(4)
    acked: list[str] = []
    for round_ in range(3):
        barrier = tmp_path / f"barrier{round_}"
        barrier.mkdir()
        todo = [i for i in ids if i not in acked]
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(state), f"w{round_}",
                                 str(barrier), ",".join(f"ack:{i}" for i in todo)],
                                stdout=subprocess.PIPE, text=True)
        while not (barrier / f"ready-w{round_}").exists():
            time.sleep(0.01)
        (barrier / "go").touch()
        target = rng.randint(5, 60)
        for _ in range(target):  # let it commit a few, then kill it in the middle of the next
            acked.append(proc.stdout.readline().split()[1].split(":")[1])
        time.sleep(rng.uniform(0, 0.005))
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()  # lines it printed before dying were committed too
        proc.wait()
        acked += [line.split()[1].split(":")[1] for line in rest.splitlines()]
        assert proc.returncode == -signal.SIGKILL
    assert _integrity(state) == "ok"
    store = AlertStore(state)
    status = {a.id: a for a in store.list()}
    assert all(status[i].status == "已签收" for i in acked)
    # Nothing half-done: a state change always comes with its audit row and vice versa.
    with sqlite3.connect(state) as con:
        audited = {r[0] for r in con.execute("SELECT alert_id FROM audit WHERE action = 'ack'")}
    assert audited == {i for i, a in status.items() if a.status == "已签收"}
    assert len(audited) >= len(acked)
    store.ack(next(i for i in ids if i not in audited), by="恢复后")  # still writable


# Applies evaluation after evaluation, each raising 500 new alerts, and says when each committed.
SYNC_WORKER = r"""
import sys
from datetime import date
from cockpit.alerts.engine import Alert, Evaluation
from cockpit.alerts.store import AlertStore
store = AlertStore(sys.argv[1])
for k in range(50):
    alerts = [Alert(f"{k:04d}{n:08d}", "t.load", "测试", "threshold", "橙", f"99{n:04d}", "乡镇",
                    "gov_events_closed", "事件处置完成率", None, date(2025, 12, 1), "2025年12月",
                    80.0, 90.0, 90.0, 80.0, "%", "乡镇 事件处置完成率低于 90% 的预警线")
              for n in range(500)]
    store.sync(Evaluation(k + 1, "990000", date(2025, 12, 1), alerts, {}))
    print(k, flush=True)
"""


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_a_process_killed_while_applying_an_evaluation_leaves_all_or_nothing(tmp_path):
    state = tmp_path / "operations.sqlite"
    AlertStore(state)
    proc = subprocess.Popen([sys.executable, "-c", SYNC_WORKER, str(state)],
                            stdout=subprocess.PIPE, text=True)
    committed = int(proc.stdout.readline()) + 1
    time.sleep(random.Random(9).uniform(0.01, 0.05))
    proc.send_signal(signal.SIGKILL)
    committed += len(proc.stdout.read().splitlines())
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _integrity(state) == "ok"
    with sqlite3.connect(state) as con:
        n_alerts = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
        n_raised = con.execute("SELECT count(*) FROM audit WHERE action = 'raise'").fetchone()[0]
        n_evaluations = con.execute("SELECT count(*) FROM evaluations").fetchone()[0]
    assert n_alerts % 500 == 0 and n_alerts >= 500 * committed
    assert n_raised == n_alerts and n_evaluations == n_alerts // 500
