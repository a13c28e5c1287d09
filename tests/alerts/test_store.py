"""The alert lifecycle: transitions, the audit trail, auto-clear and reopen, ignore and overdue."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

import pytest

from cockpit.alerts.engine import Alert, Evaluation, alert_id
from cockpit.alerts.store import AlertService, AlertStateError, AlertStore

RULE, INDICATOR, SCOPE = "t.closed", "gov_events_closed", "990000"
DEC, NOV = date(2025, 12, 1), date(2025, 11, 1)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def make_alert(region="990001", period=DEC, severity="橙", value=85.0) -> Alert:
    return Alert(
        id=alert_id(RULE, region, INDICATOR, period), rule_id=RULE, rule_name="事件处置完成率低于预警线",
        kind="threshold", severity=severity, region=region, region_name="甲镇",
        indicator=INDICATOR, indicator_name="事件处置完成率", category=None, period=period,
        period_label=f"{period.year}年{period.month}月", observed=value, expected=90.0,
        limit=90.0, measure=value, unit="%",
        message=f"甲镇 事件处置完成率 {period.year}年{period.month}月为 {value}%，低于 90% 的预警线")


def evaluation(version: int, alerts: list[Alert], examined_from: date = DEC) -> Evaluation:
    """An evaluation that examined the rule's periods from `examined_from` on."""
    return Evaluation(snapshot_version=version, scope=SCOPE, as_of=DEC, alerts=alerts,
                      coverage={RULE: {INDICATOR: examined_from}})


@pytest.fixture
def clock():
    return Clock(datetime(2026, 1, 5, 9, 30))


@pytest.fixture
def store(tmp_path, clock):
    return AlertStore(tmp_path / "state" / "operations.sqlite", clock=clock)


def actions(store, alert) -> list[str]:
    return [e.action for e in store.history(alert.id)]


def test_a_new_alert_is_raised_once_and_found_again_without_a_duplicate(store):
    alert = make_alert()
    first = store.sync(evaluation(1, [alert]))
    again = store.sync(evaluation(2, [make_alert(value=84.0)]))
    assert first.raised == [alert.id] and again.raised == []
    [record] = store.list()
    assert record.id == alert.id and record.status == "新预警"
    assert record.observed == 84.0 and record.first_version == 1 and record.last_version == 2
    assert actions(store, alert) == ["raise"]


def test_ack_assign_close_record_who_and_when_with_one_audit_row_each(store, clock):
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    acked = store.ack(alert.id[:6], by="张三")
    assert (acked.status, acked.acked_by, acked.acked_at) == ("已签收", "张三", "2026-01-05T09:30:00")
    clock.advance(minutes=5)
    assigned = store.assign(alert.id, by="张三", department="县社会治理中心", deadline="2026-01-12")
    assert (assigned.status, assigned.department, assigned.deadline) == (
        "处置中", "县社会治理中心", "2026-01-12")
    clock.advance(days=2)
    closed = store.close(alert.id, by="李四", note="已督促柳城畲族镇补办积压事件")
    assert (closed.status, closed.closed_by, closed.note) == (
        "已办结", "李四", "已督促柳城畲族镇补办积压事件")
    history = store.history(alert.id)
    assert [(e.actor, e.action_label, e.from_status, e.to_status) for e in history] == [
        ("系统", "触发", None, "新预警"), ("张三", "签收", "新预警", "已签收"),
        ("张三", "交办", "已签收", "处置中"), ("李四", "办结", "处置中", "已办结")]
    assert history[2].detail == {"department": "县社会治理中心", "deadline": "2026-01-12"}
    assert history[3].at == "2026-01-07T09:35:00"


def test_transitions_out_of_order_are_refused_and_change_nothing(store):
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    with pytest.raises(AlertStateError, match="当前状态为 新预警，不能办结，请先签收"):
        store.close(alert.id, by="张三", note="x")
    store.ack(alert.id, by="张三")
    with pytest.raises(AlertStateError, match=r"当前状态为 已签收（张三 于 2026-01-05 09:30:00），不能签收"):
        store.ack(alert.id, by="李四")
    with pytest.raises(AlertStateError, match="已经过去"):
        store.assign(alert.id, by="张三", department="县应急管理局", deadline="2026-01-01")
    with pytest.raises(AlertStateError, match="年-月-日"):
        store.assign(alert.id, by="张三", department="县应急管理局", deadline="下周五")
    with pytest.raises(AlertStateError, match="办结说明"):
        store.close(alert.id, by="张三", note="  ")
    with pytest.raises(AlertStateError, match="没有编号为 ffffffff 的预警"):
        store.ack("ffffffff", by="张三")
    assert store.get(alert.id).status == "已签收"
    assert actions(store, alert) == ["raise", "ack"]


def test_a_cleared_condition_is_auto_cleared_and_reopened_as_the_same_alert_when_it_returns(
        store):
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    store.ack(alert.id, by="张三")
    cleared = store.sync(evaluation(2, []))
    assert cleared.cleared == [alert.id]
    record = store.get(alert.id)
    assert record.status == "自动解除" and record.cleared_at is not None
    back = store.sync(evaluation(3, [alert]))
    assert back.reopened == [alert.id] and back.raised == []
    assert [a.id for a in back.new_alerts] == [alert.id]  # a returning alert flashes again
    [record] = store.list()
    assert record.status == "新预警" and record.reopen_count == 1 and record.cleared_at is None
    assert record.acked_by == "张三"  # what people did before is kept
    assert actions(store, alert) == ["raise", "ack", "auto_clear", "reopen"]


def test_an_alert_the_evaluation_did_not_examine_again_stays_open(store):
    november = make_alert(period=NOV)
    store.sync(evaluation(1, [november], examined_from=NOV))
    # The next snapshot's rule looks at December only: November's condition was not re-judged.
    result = store.sync(evaluation(2, [], examined_from=DEC))
    assert result.cleared == [] and store.get(november.id).status == "新预警"


def test_closed_alerts_stay_closed_when_the_same_condition_is_found_again(store):
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    store.ack(alert.id, by="张三")
    store.close(alert.id, by="张三", note="已处理")
    result = store.sync(evaluation(2, [alert]))
    assert result.raised == result.reopened == []
    assert [r.status for r in store.list()] == ["已办结"]


def test_an_ignored_alert_comes_back_after_its_until_date_if_the_condition_persists(
        store, clock):
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    ignored = store.ignore(alert.id, by="张三", until="2026-01-10", reason="统计口径调整，待核实")
    assert (ignored.status, ignored.ignored_until) == ("已忽略", "2026-01-10")
    clock.advance(days=3)
    store.sync(evaluation(2, [alert]))
    assert store.get(alert.id).status == "已忽略"
    clock.advance(days=4)  # 2026-01-12: past the date
    result = store.sync(evaluation(3, [alert]))
    assert result.reopened == [alert.id] and store.get(alert.id).status == "新预警"
    assert actions(store, alert) == ["raise", "ignore", "ignore_expired"]
    with pytest.raises(AlertStateError, match="应晚于今天"):
        store.ignore(alert.id, by="张三", until="2026-01-12", reason="x")


def test_in_progress_alerts_past_their_deadline_are_flagged_overdue(store, clock):
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    store.assign(alert.id, by="张三", department="县应急管理局", deadline="2026-01-07")
    assert store.get(alert.id).acked_by == "张三"  # handing it over means it was seen
    clock.advance(days=2)
    assert store.get(alert.id).overdue is False  # the deadline day itself is still in time
    clock.advance(days=1)
    assert store.get(alert.id).overdue is True
    assert [a.id for a in store.list(status="处置中") if a.overdue] == [alert.id]


def test_a_worsening_alert_escalates_its_severity_with_an_audit_row(store):
    store.sync(evaluation(1, [make_alert(severity="橙")]))
    result = store.sync(evaluation(2, [make_alert(severity="红", value=78.0)]))
    record = store.list()[0]
    assert result.escalated == [record.id] and record.severity == "红"
    assert store.history(record.id)[-1].detail["from_severity"] == "橙"


def test_an_evaluation_of_an_older_snapshot_changes_nothing(store):
    alert = make_alert()
    store.sync(evaluation(5, [alert]))
    stale = store.sync(evaluation(4, []))
    assert stale.stale and stale.cleared == []
    assert store.get(alert.id).status == "新预警"


def test_counts_and_lists_filter_by_township_status_and_severity(store):
    towns = ["990001", "990002", "990002"]
    alerts = [make_alert(region=r, period=p, severity=s) for r, p, s in
              zip(towns, (DEC, DEC, NOV), ("红", "橙", "橙"))]
    store.sync(Evaluation(1, SCOPE, DEC, alerts, {RULE: {INDICATOR: NOV}}))
    store.ack(alerts[1].id, by="张三")
    store.ack(alerts[2].id, by="张三")
    store.close(alerts[2].id, by="张三", note="已处理")
    assert store.counts_by_severity() == {"红": 1, "橙": 1, "黄": 0}
    assert store.counts_by_severity(region="990002") == {"红": 0, "橙": 1, "黄": 0}
    assert store.counts_by_region() == {"990001": {"红": 1, "橙": 0, "黄": 0},
                                        "990002": {"红": 0, "橙": 1, "黄": 0}}
    assert [a.id for a in store.list(open_only=True)] == [alerts[0].id, alerts[1].id]
    assert [a.id for a in store.list(status="已办结")] == [alerts[2].id]
    assert [a.status for a in store.list(region="990002")] == ["已签收", "已办结"]
    with pytest.raises(AlertStateError, match="状态 “done” 不存在"):
        store.list(status="done")


def test_lists_page_and_count_in_the_store_and_take_several_regions_at_once(store):
    towns = ["990001", "990002", "990003", "990003"]
    alerts = [make_alert(region=r, period=p, severity=s) for r, p, s in
              zip(towns, (DEC, DEC, DEC, NOV), ("黄", "红", "橙", "橙"))]
    store.sync(Evaluation(1, SCOPE, DEC, alerts, {RULE: {INDICATOR: NOV}}))
    first_two = store.list(open_only=True, limit=2)
    assert [a.id for a in first_two] == [alerts[1].id, alerts[2].id]   # most severe, newest
    assert store.count(open_only=True) == 4
    county = ["990002", "990003"]                   # a county: its townships' alerts together
    assert {a.region for a in store.list(regions=county)} == set(county)
    assert store.count(regions=county) == 3
    assert store.counts_by_severity(regions=county) == {"红": 1, "橙": 2, "黄": 0}
    assert store.list(regions=[]) == [] and store.count(regions=[]) == 0


def test_a_place_s_list_and_its_counts_read_together_are_what_each_read_gives(store):
    towns = ["990001", "990002", "990003", "990003"]
    alerts = [make_alert(region=r, period=p, severity=s) for r, p, s in
              zip(towns, (DEC, DEC, DEC, NOV), ("黄", "红", "橙", "橙"))]
    store.sync(Evaluation(1, SCOPE, DEC, alerts, {RULE: {INDICATOR: NOV}}))
    store.ack(alerts[3].id, by="张三")
    store.close(alerts[3].id, by="张三", note="已处理")   # listed, not counted (not open)
    county = ["990002", "990003"]
    for status, regions, limit in ((None, county, None), ("已办结", county, None),
                                   (None, None, 2), (None, [], None)):
        listed, counts = store.list_and_counts(status=status, regions=regions, limit=limit)
        assert [a.id for a in listed] == [a.id for a in store.list(status=status,
                                                                     regions=regions,
                                                                     limit=limit)]
        assert counts == store.counts_by_severity(regions=regions)
    listed, counts = store.list_and_counts(regions=county)
    assert len(listed) == 3 and counts == {"红": 1, "橙": 1, "黄": 0}


def test_a_township_s_alerts_are_found_through_an_index_not_a_scan(store):
    store.sync(Evaluation(1, SCOPE, DEC, [make_alert()], {RULE: {INDICATOR: DEC}}))
    with sqlite3.connect(store.path) as con:
        plan = " ".join(str(row) for row in con.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE scope = ? AND region IN (?)",
            [SCOPE, "990001"]))
    assert "alerts_scope_region (scope=? AND region=?)" in plan


def test_other_windows_notice_changes_through_the_audit_sequence(store, tmp_path, clock):
    other = AlertStore(store.path, clock=clock)  # a second window on the same state file
    alert = make_alert()
    store.sync(evaluation(1, [alert]))
    seen = other.latest_seq()
    store.ack(alert.id, by="张三")
    changes = other.changes_since(seen)
    assert [(c.alert_id, c.action) for c in changes] == [(alert.id, "ack")]


def test_the_news_since_a_look_are_the_open_alerts_raised_or_reopened_after_it(store):
    """The ticker asks which critical alerts were raised since its last look: the store
    answers from the audit, in one query, whatever else happened before or after."""
    red, orange, closed = (make_alert("990001", severity="红"), make_alert("990002"),
                           make_alert("990003", severity="红"))
    store.sync(evaluation(1, [orange]))
    look = store.latest_seq()
    store.sync(evaluation(2, [red, orange, closed]))
    evaluated = store.latest_seq()
    store.ack(closed.id, by="张三")
    store.close(closed.id, by="张三", note="已处置")
    now = store.latest_seq()
    raising = ("raise", "reopen", "ignore_expired")
    assert store.raised_since(evaluated, now, raising) == []   # acted upon, nothing raised
    assert [a.id for a in store.raised_since(look, now, raising)] == [red.id]
    assert [a.id for a in store.raised_since(0, now, raising)] == [red.id, orange.id]
    assert store.raised_since(0, now, raising, severity="橙", scope=SCOPE)[0].id == orange.id
    assert store.raised_since(now, now, raising) == []
    assert store.raised_since(0, look, raising) == [store.get(orange.id)]


def test_the_state_file_is_sqlite_in_wal_mode_under_cockpit_home(tmp_path):
    store = AlertStore()
    assert store.path == tmp_path / "home" / "state" / "operations.sqlite"
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_operator_work_survives_a_new_warehouse_snapshot_and_clears_with_the_data(
        tmp_path, tiny):
    """End to end: evaluate a warehouse, acknowledge, publish a corrected snapshot, evaluate."""
    ind = tiny.indicator("gov_events_closed")
    root = tmp_path / "wh"
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "t.closed"\nkind = "threshold"\nseverity = "橙"\n'
                     'indicators = ["gov_events_closed"]\nbelow = 90\n', encoding="utf-8")
    months = tiny.months("2025-01", "2025-12")
    tiny.build(root, [ind], [(ind.code, p, "990001", 80.0 if p.month == 12 else 95.0)
                             for p in months])
    service = AlertService(root, state_path=tmp_path / "ops.sqlite", rules_path=rules)
    first = service.evaluate()
    [alert] = service.list()
    service.ack(alert.id, by="张三")
    # The department corrects its figure: a new snapshot replaces the warehouse.
    tiny.build(root, [ind], [(ind.code, p, "990001", 95.0) for p in months])
    second = service.evaluate()
    assert (first.snapshot_version, second.snapshot_version) == (1, 2)
    assert second.cleared == [alert.id]
    record = service.get(alert.id)
    assert record.status == "自动解除" and record.acked_by == "张三"
    assert [e.action_label for e in service.history(alert.id)] == ["触发", "签收", "自动解除"]


# The schema every store had before versions were kept (version 1), abridged to what it held.
_V1 = """
CREATE TABLE alerts (id TEXT PRIMARY KEY, scope TEXT NOT NULL, rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL, region TEXT NOT NULL,
    region_name TEXT NOT NULL, indicator TEXT, indicator_name TEXT, category TEXT,
    subject TEXT NOT NULL, period TEXT NOT NULL, period_label TEXT NOT NULL, observed REAL,
    expected REAL, limit_value REAL, measure REAL, unit TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL, status TEXT NOT NULL, first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL, first_version INTEGER, last_version INTEGER, cleared_at TEXT,
    reopen_count INTEGER NOT NULL DEFAULT 0, acked_by TEXT, acked_at TEXT, department TEXT,
    deadline TEXT, assigned_by TEXT, assigned_at TEXT, closed_by TEXT, closed_at TEXT,
    note TEXT, ignored_by TEXT, ignored_at TEXT, ignored_until TEXT, ignore_reason TEXT,
    updated_at TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1);
CREATE INDEX alerts_status ON alerts (status);
CREATE INDEX alerts_scope ON alerts (scope, rule_id);
CREATE TABLE audit (seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL REFERENCES alerts (id), at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, detail TEXT,
    snapshot_version INTEGER, pid INTEGER);
CREATE INDEX audit_alert ON audit (alert_id, seq);
CREATE TABLE evaluations (seq INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,
    warehouse TEXT NOT NULL, snapshot_version INTEGER NOT NULL, as_of TEXT, at TEXT NOT NULL,
    found INTEGER NOT NULL, raised INTEGER NOT NULL, reopened INTEGER NOT NULL,
    cleared INTEGER NOT NULL, seconds REAL);
INSERT INTO alerts (id, scope, rule_id, rule_name, kind, severity, region, region_name,
    subject, period, period_label, message, status, first_seen_at, last_seen_at, acked_by,
    acked_at, updated_at, revision)
VALUES ('abcdef123456', '990000', 'r', '规则', 'threshold', '红', '990001', '甲镇', 'x',
        '2025-12', '2025年12月', '甲镇 超限', '已签收', '2026-01-01T08:00:00',
        '2026-01-01T08:00:00', '老值班员', '2026-01-01T09:00:00', '2026-01-01T09:00:00', 2);
INSERT INTO audit (alert_id, at, actor, action, from_status, to_status, detail)
VALUES ('abcdef123456', '2026-01-01T08:00:00', '系统', 'raise', NULL, '新预警', '{}'),
       ('abcdef123456', '2026-01-01T09:00:00', '老值班员', 'ack', '新预警', '已签收', '{}');
"""


def test_a_store_from_before_schema_versions_is_migrated_when_opened(tmp_path):
    path = tmp_path / "operations.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(_V1)
    store = AlertStore(path)
    alert = store.get("abcdef")
    assert (alert.status, alert.acked_by, alert.message_en) == ("已签收", "老值班员", "")
    assert [(e.seq, e.scope, e.action) for e in store.history("abcdef")] == [
        (1, "990000", "raise"), (2, "990000", "ack")]
    store.close("abcdef", "新值班员", "已处理")
    assert store.history("abcdef")[-1].seq == 3
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() \
            == ("2",)
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_store_written_by_a_newer_cockpit_is_refused_in_one_line(tmp_path):
    path = tmp_path / "operations.sqlite"
    AlertStore(path)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(AlertStateError, match="更新版本的驾驶舱创建（结构版本 9"):
        AlertStore(path)
