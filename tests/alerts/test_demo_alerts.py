"""The default rules on the demo warehouse, ending at 2025-12 and at 2026-11: every injected
anomaly is found in the latest months, and nothing else."""
from __future__ import annotations

import json
from datetime import date

import pytest

from cockpit.alerts.engine import evaluate
from cockpit.alerts.rules import load_rules
from cockpit.warehouse.demo import COUNTY_CODE, TOWNSHIP_CODES, anomalies
from cockpit.warehouse.store import open_current

# Which alert kinds count as finding each kind of injected anomaly.
KINDS_FOR = {
    "spike": {"anomaly", "change", "threshold"},
    "seasonal_spike": {"anomaly"},
    "drop": {"change", "threshold", "anomaly"},
    "drift": {"threshold", "change", "anomaly", "target_lag"},
    "missing": {"missing"},
    "target_lag": {"target_lag"},
    "event_burst": {"events"},
}


ENDS = {"demo_db": date(2025, 12, 1), "later_demo_db": date(2026, 11, 1)}


@pytest.fixture(scope="module", params=list(ENDS))
def demo(request):
    """(the evaluation, the injected anomalies, the end) of each demo build."""
    snap = open_current(request.getfixturevalue(request.param))
    try:
        return evaluate(snap, load_rules()), anomalies(ENDS[request.param]), ENDS[request.param]
    finally:
        snap.close()


def explains(anomaly, alert) -> bool:
    region = TOWNSHIP_CODES[anomaly.township] if anomaly.township else COUNTY_CODE
    return (alert.kind in KINDS_FOR[anomaly.kind] and alert.region == region
            and alert.indicator == anomaly.indicator
            and alert.period.strftime("%Y-%m") in anomaly.periods)


def test_every_injected_anomaly_raises_an_alert_of_the_right_kind_region_indicator_and_period(
        demo):
    evaluation, injected, _ = demo
    assert [a for a in injected if not any(explains(a, x) for x in evaluation.alerts)] == []


def test_the_demo_raises_few_enough_alerts_for_one_operator_and_no_noise(demo):
    evaluation, injected, _ = demo
    assert 10 <= len(evaluation.alerts) <= 30
    noise = [a.message for a in evaluation.alerts if not any(explains(x, a) for x in injected)]
    assert noise == []
    assert evaluation.warnings == []


def test_winter_pm25_is_not_an_anomaly_but_the_august_spike_in_tongqin_is(demo):
    evaluation, _, end = demo
    pm25 = [a for a in evaluation.alerts if a.indicator == "env_pm25"]
    assert [(a.region_name, a.period.strftime("%Y-%m"), a.kind) for a in pm25] == [
        ("桐琴镇", f"{end.year}-08", "anomaly")]


def test_the_liucheng_drop_reads_as_the_issue_describes_it(demo):
    evaluation, _, end = demo
    threshold = next(a for a in evaluation.alerts
                     if a.kind == "threshold" and a.region_name == "柳城畲族镇")
    assert threshold.message == (f"柳城畲族镇 事件处置完成率 {end.year}年{end.month}月为 78.2%，"
                                 "低于 90% 的预警线，环比下降 9.1 个百分点")
    assert threshold.severity == "红"


def test_a_missed_2025_target_stays_the_same_alert_once_2025_is_over(demo_db, later_demo_db):
    def target_alerts(db):
        snap = open_current(db)
        try:
            return {a.id: a for a in evaluate(snap, load_rules()).alerts if a.kind == "target_lag"}
        finally:
            snap.close()

    during, after = target_alerts(demo_db), target_alerts(later_demo_db)
    assert set(after) == set(during) and len(after) == 2  # the same ids: the lifecycle goes on
    shared = next(a for a in after.values() if a.indicator == "ops_data_shared")
    assert shared.message == ("武义县 数据共享率 2025年12月为 76.0%，按近 24 个月的趋势，2025年末为 76.3%，"
                              "低于 2025 年目标 90% 13.7 个百分点，目标未完成")
    assert "目标将落空" in during[shared.id].message


def test_cli_evaluate_list_ack_close_on_the_demo(demo_db, cockpit_cmd):
    def run(*args):
        return cockpit_cmd("alerts", *args)

    db = ["--db", str(demo_db)]
    out = run("evaluate", *db, "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["found"] == len(first["raised"]) >= 10 and first["as_of"] == "2025-12"
    assert sum(first["open_by_severity"].values()) == first["found"]
    listed = json.loads(run("list", "--status", "open", "--json").stdout)
    assert len(listed) == first["found"]
    target = next(a for a in listed if a["region_name"] == "柳城畲族镇")
    out = run("ack", target["id"][:6], "--by", "张三")
    assert out.returncode == 0 and "已签收" in out.stdout
    out = run("close", target["id"], "--by", "张三", "--note", "已约谈柳城畲族镇，积压事件本周清零")
    assert out.returncode == 0 and "已办结" in out.stdout
    again = json.loads(run("evaluate", *db, "--json").stdout)
    assert again["raised"] == [] and again["reopened"] == [] and again["cleared"] == []
    closed = json.loads(run("list", "--status", "已办结", "--json").stdout)
    assert [(a["id"], a["closed_by"]) for a in closed] == [(target["id"], "张三")]
    text = run("list", "--region", "柳城畲族镇").stdout
    assert "[红]" in text and "办结：张三" in text
    history = run("history", target["id"]).stdout.splitlines()
    assert [line.split()[3] for line in history] == ["触发", "签收", "办结"]


def test_cli_refuses_an_impossible_transition_in_one_line(demo_db, cockpit_cmd):
    def run(*args):
        return cockpit_cmd("alerts", *args)

    run("evaluate", "--db", str(demo_db))
    alert = json.loads(run("list", "--json").stdout)[0]
    out = run("close", alert["id"], "--by", "张三", "--note", "x")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == (f"cockpit: 预警 {alert['id']} 当前状态为 新预警，不能办结，请先签收")
