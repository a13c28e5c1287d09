"""The alert lifecycle store: operational state kept apart from the warehouse, in SQLite.

An alert goes 新预警 → 已签收 (who, when) → 处置中 (department, deadline) → 已办结 (note), or to
已忽略 (until a date, with a reason). An evaluation that no longer finds an open alert's condition
marks it 自动解除; if the condition comes back the same alert is reopened (新预警 again), never
duplicated. 处置中 alerts past their deadline are flagged overdue.

Why SQLite and this shape:
- The warehouse is replaced snapshot by snapshot; what operators did must survive that, so it
  lives in its own file (`<COCKPIT_HOME>/state/operations.sqlite` by default).
- Several cockpit windows (processes) write at once: WAL mode, a busy timeout, and every change
  is one `BEGIN IMMEDIATE` transaction that re-reads the alert's state before changing it, so two
  writers queue rather than overwrite each other, and a transition that is no longer allowed (the
  other window got there first) fails with a clear message instead of silently winning.
- Every transition writes its audit row in the same transaction; `synchronous=FULL` makes a
  committed transition survive a killed process (or a power cut), and a killed transaction
  leaves nothing half-written.
- Each operation opens its own connection, so the store can be used from any thread.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .engine import Alert, Evaluation
from .rules import SEVERITIES, SEVERITY_RANK

NEW, ACKED, IN_PROGRESS, CLOSED, IGNORED, CLEARED = (
    "新预警", "已签收", "处置中", "已办结", "已忽略", "自动解除")
STATUSES = (NEW, ACKED, IN_PROGRESS, CLOSED, IGNORED, CLEARED)
OPEN_STATUSES = (NEW, ACKED, IN_PROGRESS)
SYSTEM_ACTOR = "系统"
ACTION_LABELS = {
    "raise": "触发", "reopen": "重新触发", "auto_clear": "自动解除", "escalate": "升级",
    "ack": "签收", "assign": "交办", "close": "办结", "ignore": "忽略",
    "ignore_expired": "忽略到期，重新触发",
}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS alerts (
    id             TEXT PRIMARY KEY,
    scope          TEXT NOT NULL,      -- the county (or city) code of the warehouse
    rule_id        TEXT NOT NULL,
    rule_name      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    region         TEXT NOT NULL,
    region_name    TEXT NOT NULL,
    indicator      TEXT,
    indicator_name TEXT,
    category       TEXT,
    subject        TEXT NOT NULL,      -- indicator code, or 'events'
    period         TEXT NOT NULL,      -- YYYY-MM
    period_label   TEXT NOT NULL,
    observed       REAL,
    expected       REAL,
    limit_value    REAL,
    measure        REAL,
    unit           TEXT NOT NULL DEFAULT '',
    message        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    first_version  INTEGER,
    last_version   INTEGER,
    cleared_at     TEXT,
    reopen_count   INTEGER NOT NULL DEFAULT 0,
    acked_by       TEXT,
    acked_at       TEXT,
    department     TEXT,
    deadline       TEXT,               -- YYYY-MM-DD, the last day allowed
    assigned_by    TEXT,
    assigned_at    TEXT,
    closed_by      TEXT,
    closed_at      TEXT,
    note           TEXT,
    ignored_by     TEXT,
    ignored_at     TEXT,
    ignored_until  TEXT,               -- YYYY-MM-DD
    ignore_reason  TEXT,
    updated_at     TEXT NOT NULL,
    revision       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (status);
CREATE INDEX IF NOT EXISTS alerts_scope ON alerts (scope, rule_id);
CREATE TABLE IF NOT EXISTS audit (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         TEXT NOT NULL REFERENCES alerts (id),
    at               TEXT NOT NULL,
    actor            TEXT NOT NULL,
    action           TEXT NOT NULL,
    from_status      TEXT,
    to_status        TEXT NOT NULL,
    detail           TEXT,             -- JSON
    snapshot_version INTEGER,
    pid              INTEGER
);
CREATE INDEX IF NOT EXISTS audit_alert ON audit (alert_id, seq);
CREATE TABLE IF NOT EXISTS evaluations (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    scope            TEXT NOT NULL,
    warehouse        TEXT NOT NULL,
    snapshot_version INTEGER NOT NULL,
    as_of            TEXT,
    at               TEXT NOT NULL,
    found            INTEGER NOT NULL,
    raised           INTEGER NOT NULL,
    reopened         INTEGER NOT NULL,
    cleared          INTEGER NOT NULL,
    seconds          REAL
);
"""


class AlertStateError(Exception):
    """An alert cannot be found or cannot make that transition; one line for the user.
    `option` names the field the user filled in wrong (the CLI adds its --flag to the line;
    the window does not, its users never saw a flag)."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


def default_state_path() -> Path:
    from ..paths import home_dir

    return home_dir() / "state" / "operations.sqlite"


@dataclass(frozen=True)
class AlertRecord:
    """An alert as the store knows it: what was found, and what people did about it."""
    id: str
    scope: str
    rule_id: str
    rule_name: str
    kind: str
    severity: str
    region: str
    region_name: str
    indicator: str | None
    indicator_name: str | None
    category: str | None
    subject: str
    period: str
    period_label: str
    observed: float | None
    expected: float | None
    limit_value: float | None
    measure: float | None
    unit: str
    message: str
    status: str
    first_seen_at: str
    last_seen_at: str
    first_version: int | None
    last_version: int | None
    cleared_at: str | None
    reopen_count: int
    acked_by: str | None
    acked_at: str | None
    department: str | None
    deadline: str | None
    assigned_by: str | None
    assigned_at: str | None
    closed_by: str | None
    closed_at: str | None
    note: str | None
    ignored_by: str | None
    ignored_at: str | None
    ignored_until: str | None
    ignore_reason: str | None
    updated_at: str
    revision: int
    overdue: bool = False      # 处置中 past its deadline

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def period_date(self) -> date:
        y, m = self.period.split("-")
        return date(int(y), int(m), 1)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["open"] = self.is_open
        return d


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    alert_id: str
    at: str
    actor: str
    action: str
    from_status: str | None
    to_status: str
    detail: dict
    snapshot_version: int | None

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["action_label"] = self.action_label
        return d


@dataclass
class SyncResult:
    """What applying one evaluation changed."""
    snapshot_version: int
    found: int = 0
    raised: list[str] = field(default_factory=list)      # new alert ids
    reopened: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    stale: bool = False        # a newer snapshot of this warehouse was already applied
    evaluation: Evaluation | None = None

    @property
    def new_alerts(self) -> list[Alert]:
        """Alerts raised or reopened by this evaluation, most severe first (the wall's flash)."""
        if self.evaluation is None:
            return []
        fresh = set(self.raised) | set(self.reopened)
        return [a for a in self.evaluation.alerts if a.id in fresh]

    def as_dict(self) -> dict:
        return {"snapshot_version": self.snapshot_version, "found": self.found,
                "raised": self.raised, "reopened": self.reopened, "cleared": self.cleared,
                "escalated": self.escalated, "stale": self.stale}


def _parse_day(value: str | date, what: str, option: str | None = None) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise AlertStateError(f"{what}应写成 年-月-日，例如 2026-01-15，而不是 “{value}”",
                              option) from None


def _required(text: str | None, what: str, option: str | None = None) -> str:
    if text is None or not str(text).strip():
        raise AlertStateError(f"{what}不能为空", option)
    return str(text).strip()


def _hiding(hidden: Iterable[str]) -> tuple[list[str], list]:
    """SQL conditions leaving out alerts about some indicators (a public wall's internal ones)."""
    hidden = sorted(set(hidden))
    if not hidden:
        return [], []
    return [f"(indicator IS NULL OR indicator NOT IN ({', '.join('?' * len(hidden))}))"], hidden


class AlertStore:
    """The alerts and their audit trail in one SQLite file; safe for several processes at once."""

    # Applying an evaluation waits this long for another writer whatever `busy_timeout` says:
    # it runs off the GUI thread, and giving up would drop an alert transition.
    SYNC_TIMEOUT = 30.0
    _TABLES = ("alerts", "audit", "evaluations")

    def __init__(self, path: Path | str | None = None, *, busy_timeout: float = 30.0,
                 clock: Callable[[], datetime] = datetime.now, lazy: bool = False):
        """`busy_timeout`: how long a call waits for another process's lock (a window's GUI
        thread passes a fraction of a second: a locked store must not freeze it). `lazy`: a
        store that cannot be opened now (locked, its folder gone) is set up by the first
        call that can, instead of failing here."""
        self.path = Path(path) if path is not None else default_state_path()
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._ready = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect():
                pass
        except (sqlite3.Error, OSError):
            if not lazy:
                raise

    # -- connections -------------------------------------------------------------------------
    @contextmanager
    def _connect(self, timeout: float | None = None) -> Iterator[sqlite3.Connection]:
        timeout = self.busy_timeout if timeout is None else timeout
        con = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA foreign_keys = ON")
            con.row_factory = sqlite3.Row
            if not self._ready:
                self._create_schema(con)
            yield con
        finally:
            con.close()

    def _create_schema(self, con: sqlite3.Connection) -> None:
        # Read first: a store that exists needs no write lock to be opened.
        found = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not set(self._TABLES) <= found:
            con.execute("PRAGMA journal_mode=WAL")
            with self._transaction(con):  # (executescript would commit on its own)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        con.execute(statement)
        self._ready = True

    @contextmanager
    def _transaction(self, con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: a deferred transaction that later upgrades
        # can fail with "database is locked" without waiting for the busy timeout.
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    @contextmanager
    def _write(self, timeout: float | None = None) -> Iterator[sqlite3.Connection]:
        with self._connect(timeout) as con, self._transaction(con):
            yield con

    def _now(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    def _today(self) -> date:
        return self.clock().date()

    # -- reading ------------------------------------------------------------------------------
    def _record(self, row: sqlite3.Row) -> AlertRecord:
        data = dict(row)
        overdue = (data["status"] == IN_PROGRESS and data["deadline"] is not None
                   and data["deadline"] < self._today().isoformat())
        return AlertRecord(**data, overdue=overdue)

    def resolve(self, alert_id: str) -> str:
        """The full id of an alert given its id or a unique prefix of at least 4 characters."""
        text = (alert_id or "").strip().lower()
        if len(text) < 4:
            raise AlertStateError(f"预警编号 “{alert_id}” 太短（至少写 4 位）")
        with self._connect() as con:
            rows = con.execute("SELECT id FROM alerts WHERE id = ? OR id LIKE ? ESCAPE '\\'"
                               " LIMIT 3", [text, _like_prefix(text)]).fetchall()
        ids = sorted({r["id"] for r in rows})
        if text in ids:
            return text
        if not ids:
            raise AlertStateError(f"没有编号为 {alert_id} 的预警（可用 cockpit alerts list 查看）")
        if len(ids) > 1:
            raise AlertStateError(f"编号 {alert_id} 对应多条预警（{', '.join(ids[:2])} …），请多写几位")
        return ids[0]

    def get(self, alert_id: str) -> AlertRecord:
        full = self.resolve(alert_id)
        with self._connect() as con:
            row = con.execute("SELECT * FROM alerts WHERE id = ?", [full]).fetchone()
        return self._record(row)

    def list(self, status: str | Iterable[str] | None = None, region: str | None = None,
             severity: str | None = None, scope: str | None = None, open_only: bool = False,
             limit: int | None = None, hidden: Iterable[str] = ()) -> list[AlertRecord]:
        """Alerts, most severe and newest first; `status` one status or several, `region` a
        code or a name; alerts about `hidden` indicators left out."""
        where, params = _hiding(hidden)
        statuses = [status] if isinstance(status, str) else (list(status) if status else [])
        if open_only:
            statuses = [s for s in statuses if s in OPEN_STATUSES] if statuses \
                else list(OPEN_STATUSES)
        if statuses:
            bad = [s for s in statuses if s not in STATUSES]
            if bad:
                raise AlertStateError(f"状态 “{bad[0]}” 不存在，可选：{' / '.join(STATUSES)}")
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        if region:
            where.append("(region = ? OR region_name = ?)")
            params += [region, region]
        if severity:
            where.append("severity = ?")
            params.append(severity)
        if scope:
            where.append("scope = ?")
            params.append(scope)
        sql = "SELECT * FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (" ORDER BY CASE severity WHEN '红' THEN 0 WHEN '橙' THEN 1 ELSE 2 END,"
                " period DESC, first_seen_at DESC, region_name, id")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._connect() as con:
            return [self._record(r) for r in con.execute(sql, params).fetchall()]

    def counts_by_severity(self, region: str | None = None, scope: str | None = None,
                           hidden: Iterable[str] = ()) -> dict[str, int]:
        """Open alerts (新预警, 已签收, 处置中) by severity, 红 / 橙 / 黄 always present."""
        where, params = _hiding(hidden)
        where.append(f"status IN ({', '.join('?' * len(OPEN_STATUSES))})")
        params += list(OPEN_STATUSES)
        if region:
            where.append("(region = ? OR region_name = ?)")
            params += [region, region]
        if scope:
            where.append("scope = ?")
            params.append(scope)
        with self._connect() as con:
            rows = con.execute("SELECT severity, count(*) FROM alerts WHERE "
                               + " AND ".join(where) + " GROUP BY severity", params).fetchall()
        counts = {s: 0 for s in SEVERITIES}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def counts_by_region(self, scope: str | None = None,
                         hidden: Iterable[str] = ()) -> dict[str, dict[str, int]]:
        """Open alerts per region code and severity: the map's badges."""
        where, params = _hiding(hidden)
        params += list(OPEN_STATUSES)
        sql = ("SELECT region, severity, count(*) FROM alerts WHERE "
               + "".join(w + " AND " for w in where)
               + f"status IN ({', '.join('?' * len(OPEN_STATUSES))})")
        if scope:
            sql += " AND scope = ?"
            params.append(scope)
        out: dict[str, dict[str, int]] = {}
        with self._connect() as con:
            for region, severity, n in con.execute(sql + " GROUP BY region, severity", params):
                out.setdefault(region, {s: 0 for s in SEVERITIES})[severity] = n
        return out

    def history(self, alert_id: str) -> list[AuditEntry]:
        full = self.resolve(alert_id)
        with self._connect() as con:
            rows = con.execute("SELECT * FROM audit WHERE alert_id = ? ORDER BY seq",
                               [full]).fetchall()
        return [_entry(r) for r in rows]

    def latest_seq(self) -> int:
        """The newest audit sequence number: poll it to notice changes made by other windows."""
        with self._connect() as con:
            return con.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]

    def changes_since(self, seq: int, limit: int = 1000) -> list[AuditEntry]:
        with self._connect() as con:
            rows = con.execute("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                               [seq, limit]).fetchall()
        return [_entry(r) for r in rows]

    # -- transitions ----------------------------------------------------------------------------
    def _transition(self, alert_id: str, actor: str, action: str, allowed: tuple[str, ...],
                    to_status: str, changes: Callable[[sqlite3.Row, str], dict],
                    detail: dict) -> AlertRecord:
        """One transition in one transaction: re-read the state, check, change, audit."""
        actor = _required(actor, "操作人", "by")
        full = self.resolve(alert_id)
        with self._write() as con:
            now = self._now()
            row = con.execute("SELECT * FROM alerts WHERE id = ?", [full]).fetchone()
            current = row["status"]
            if current not in allowed:
                raise AlertStateError(_refusal(row, ACTION_LABELS[action]))
            values = {**changes(row, now), "status": to_status, "updated_at": now}
            assignments = ", ".join(f"{k} = ?" for k in values)
            con.execute(f"UPDATE alerts SET {assignments}, revision = revision + 1 WHERE id = ?",
                        [*values.values(), full])
            _audit(con, full, now, actor, action, current, to_status, detail,
                   row["last_version"])
            row = con.execute("SELECT * FROM alerts WHERE id = ?", [full]).fetchone()
        return self._record(row)

    def ack(self, alert_id: str, by: str) -> AlertRecord:
        """新预警 → 已签收."""
        by = _required(by, "操作人", "by")
        return self._transition(alert_id, by, "ack", (NEW,), ACKED,
                                lambda row, now: {"acked_by": by, "acked_at": now}, {})

    def assign(self, alert_id: str, by: str, department: str,
               deadline: str | date) -> AlertRecord:
        """新预警 / 已签收 / 处置中 → 处置中, handed to a department with a deadline."""
        by = _required(by, "操作人", "by")
        department = _required(department, "承办部门", "department")
        day = _parse_day(deadline, "办理期限", "deadline")
        if day < self._today():
            raise AlertStateError(f"办理期限 {day.isoformat()} 已经过去，请填写今天或以后的日期")

        def changes(row, now):
            out = {"department": department, "deadline": day.isoformat(), "assigned_by": by,
                   "assigned_at": now}
            if row["status"] == NEW:  # handing it over implies having seen it
                out.update(acked_by=by, acked_at=now)
            return out

        return self._transition(alert_id, by, "assign", (NEW, ACKED, IN_PROGRESS), IN_PROGRESS,
                                changes, {"department": department,
                                          "deadline": day.isoformat()})

    def close(self, alert_id: str, by: str, note: str) -> AlertRecord:
        """已签收 / 处置中 / 自动解除 → 已办结, with a note on what was done."""
        by = _required(by, "操作人", "by")
        note = _required(note, "办结说明", "note")
        return self._transition(alert_id, by, "close", (ACKED, IN_PROGRESS, CLEARED), CLOSED,
                                lambda row, now: {"closed_by": by, "closed_at": now,
                                                  "note": note}, {"note": note})

    def ignore(self, alert_id: str, by: str, until: str | date, reason: str) -> AlertRecord:
        """新预警 / 已签收 / 处置中 / 自动解除 → 已忽略 until a date, with a reason. If the
        condition still holds after that date, the next evaluation raises it again."""
        by = _required(by, "操作人", "by")
        reason = _required(reason, "忽略理由", "reason")
        day = _parse_day(until, "忽略截止日期", "until")
        if day <= self._today():
            raise AlertStateError(f"忽略截止日期 {day.isoformat()} 应晚于今天")
        return self._transition(alert_id, by, "ignore", (NEW, ACKED, IN_PROGRESS, CLEARED),
                                IGNORED,
                                lambda row, now: {"ignored_by": by, "ignored_at": now,
                                                  "ignored_until": day.isoformat(),
                                                  "ignore_reason": reason},
                                {"until": day.isoformat(), "reason": reason})

    # -- applying an evaluation ------------------------------------------------------------------
    def sync(self, evaluation: Evaluation, snapshot_version: int | None = None,
             warehouse: str = "", replaced: bool = False) -> SyncResult:
        """Apply one evaluation in one transaction: raise new alerts, refresh found ones, reopen
        cleared ones that came back, auto-clear open ones whose period the rule re-examined
        without finding them. An evaluation of an older snapshot of the same warehouse than one
        already applied changes nothing (another window is behind).

        `replaced`: the warehouse's data were replaced as a whole (a demo rebuilt to a later
        month), so every open alert the evaluation does not find is auto-cleared, whatever its
        period; otherwise alerts quoting figures the warehouse no longer holds would stay open."""
        version = evaluation.snapshot_version if snapshot_version is None else snapshot_version
        result = SyncResult(snapshot_version=version, found=len(evaluation.alerts),
                            evaluation=evaluation)
        now = self._now()
        today = self._today().isoformat()
        with self._write(max(self.busy_timeout, self.SYNC_TIMEOUT)) as con:
            newest = con.execute(
                "SELECT max(snapshot_version) FROM evaluations WHERE scope = ? AND warehouse = ?",
                [evaluation.scope, warehouse]).fetchone()[0]
            if newest is not None and version < newest:
                result.stale = True
                return result
            known = {r["id"]: r for r in con.execute(
                "SELECT id, status, severity, rule_id, subject, period, ignored_until"
                " FROM alerts WHERE scope = ?", [evaluation.scope])}
            found_ids = set()
            for alert in evaluation.alerts:
                found_ids.add(alert.id)
                row = known.get(alert.id)
                facts = _facts(alert)
                if row is None:
                    con.execute(
                        f"INSERT INTO alerts ({', '.join(facts)}, id, scope, status,"
                        " first_seen_at, last_seen_at, first_version, last_version, updated_at)"
                        f" VALUES ({', '.join('?' * len(facts))}, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [*facts.values(), alert.id, evaluation.scope, NEW, now, now, version,
                         version, now])
                    _audit(con, alert.id, now, SYSTEM_ACTOR, "raise", None, NEW,
                           {"severity": alert.severity, "message": alert.message}, version)
                    result.raised.append(alert.id)
                    continue
                status = row["status"]
                action = None
                if status == CLEARED:
                    action = "reopen"
                elif status == IGNORED and (row["ignored_until"] or "") < today:
                    action = "ignore_expired"
                elif (status in OPEN_STATUSES
                      and SEVERITY_RANK[alert.severity] > SEVERITY_RANK[row["severity"]]):
                    action = "escalate"
                assignments = ", ".join(f"{k} = ?" for k in facts)
                extra = ""
                if action in ("reopen", "ignore_expired"):
                    extra = (", status = '新预警', cleared_at = NULL,"
                             " reopen_count = reopen_count + 1")
                con.execute(f"UPDATE alerts SET {assignments}, last_seen_at = ?,"
                            f" last_version = ?, updated_at = ?{extra} WHERE id = ?",
                            [*facts.values(), now, version, now, alert.id])
                if action is not None:
                    to_status = status if action == "escalate" else NEW
                    detail = {"severity": alert.severity, "message": alert.message}
                    if action == "escalate":
                        detail["from_severity"] = row["severity"]
                    _audit(con, alert.id, now, SYSTEM_ACTOR, action, status, to_status, detail,
                           version)
                    con.execute("UPDATE alerts SET revision = revision + 1 WHERE id = ?",
                                [alert.id])
                    {"reopen": result.reopened, "ignore_expired": result.reopened,
                     "escalate": result.escalated}[action].append(alert.id)
            for alert_id, row in known.items():
                if (alert_id in found_ids or row["status"] not in OPEN_STATUSES
                        or not (replaced or evaluation.covers(row["rule_id"], row["subject"],
                                                              _month_of(row["period"])))):
                    continue
                con.execute("UPDATE alerts SET status = ?, cleared_at = ?, updated_at = ?,"
                            " revision = revision + 1 WHERE id = ?",
                            [CLEARED, now, now, alert_id])
                _audit(con, alert_id, now, SYSTEM_ACTOR, "auto_clear", row["status"], CLEARED,
                       {}, version)
                result.cleared.append(alert_id)
            con.execute(
                "INSERT INTO evaluations (scope, warehouse, snapshot_version, as_of, at, found,"
                " raised, reopened, cleared, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [evaluation.scope, warehouse, version,
                 evaluation.as_of.strftime("%Y-%m") if evaluation.as_of else None, now,
                 result.found, len(result.raised), len(result.reopened), len(result.cleared),
                 evaluation.seconds])
        return result

    def last_evaluation(self, scope: str | None = None) -> dict | None:
        sql = "SELECT * FROM evaluations"
        params = []
        if scope:
            sql += " WHERE scope = ?"
            params.append(scope)
        with self._connect() as con:
            row = con.execute(sql + " ORDER BY seq DESC LIMIT 1", params).fetchone()
        return dict(row) if row else None


def _facts(alert: Alert) -> dict:
    """The columns an evaluation owns (refreshed every time the alert is found)."""
    return {
        "rule_id": alert.rule_id, "rule_name": alert.rule_name, "kind": alert.kind,
        "severity": alert.severity, "region": alert.region, "region_name": alert.region_name,
        "indicator": alert.indicator, "indicator_name": alert.indicator_name,
        "category": alert.category, "subject": alert.subject,
        "period": alert.period.strftime("%Y-%m"), "period_label": alert.period_label,
        "observed": alert.observed, "expected": alert.expected, "limit_value": alert.limit,
        "measure": alert.measure, "unit": alert.unit, "message": alert.message,
    }


def _audit(con, alert_id, at, actor, action, from_status, to_status, detail, version) -> None:
    con.execute("INSERT INTO audit (alert_id, at, actor, action, from_status, to_status, detail,"
                " snapshot_version, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [alert_id, at, actor, action, from_status, to_status,
                 json.dumps(detail, ensure_ascii=False), version, os.getpid()])


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(row["seq"], row["alert_id"], row["at"], row["actor"], row["action"],
                      row["from_status"], row["to_status"], json.loads(row["detail"] or "{}"),
                      row["snapshot_version"])


def _refusal(row: sqlite3.Row, action_label: str) -> str:
    status = row["status"]
    who = {ACKED: (row["acked_by"], row["acked_at"]),
           IN_PROGRESS: (row["assigned_by"], row["assigned_at"]),
           CLOSED: (row["closed_by"], row["closed_at"]),
           IGNORED: (row["ignored_by"], row["ignored_at"])}.get(status)
    by = f"（{who[0]} 于 {who[1].replace('T', ' ')}）" if who and who[0] and who[1] else ""
    hint = {NEW: "，请先签收", CLOSED: "，已办结的预警不能再变更"}.get(status, "")
    return f"预警 {row['id']} 当前状态为 {status}{by}，不能{action_label}{hint}"


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _month_of(period: str) -> date:
    y, m = period.split("-")
    return date(int(y), int(m), 1)


class AlertService:
    """What the cockpit and the command line use: evaluate a warehouse, list alerts, change them.

    Thread-safe: every call opens its own SQLite connection, and evaluation opens (or is given)
    a snapshot whose cursor belongs to the calling thread.
    """

    def __init__(self, db_dir: Path | str, state_path: Path | str | None = None,
                 rules_path: Path | str | None = None,
                 clock: Callable[[], datetime] = datetime.now, scope: str | None = None,
                 hidden_indicators: Iterable[str] = (), busy_timeout: float = 30.0,
                 lazy: bool = False):
        self.db_dir = Path(db_dir)
        # Indicators whose alerts this service never shows (internal ones on a public wall).
        self.hidden = frozenset(hidden_indicators)
        self.rules_path = Path(rules_path) if rules_path is not None else None
        self.store = AlertStore(state_path, clock=clock, busy_timeout=busy_timeout, lazy=lazy)
        # The warehouse's root region, when the caller has the warehouse open already (else
        # read from the current snapshot on first use).
        self._scope: str | None = scope

    def rules(self):
        from .rules import load_rules

        return load_rules(self.rules_path)

    def evaluate(self, snapshot=None, replaced: bool = False) -> SyncResult:
        """Evaluate the rules on a snapshot (default: the warehouse's current one) and apply
        the result to the store (`replaced`: see `AlertStore.sync`). Raises RuleError for a bad
        rules file and WarehouseError for a warehouse that cannot be opened."""
        from ..warehouse.store import open_current
        from .engine import evaluate

        rules = self.rules()
        own = snapshot is None
        if own:
            snapshot = open_current(self.db_dir)
        try:
            evaluation = evaluate(snapshot, rules)
        finally:
            if own:
                snapshot.close()
        self._scope = evaluation.scope
        return self.store.sync(evaluation, warehouse=str(self.db_dir.resolve()),
                               replaced=replaced)

    @property
    def scope(self) -> str | None:
        """The county (or city, province) this warehouse describes: the alerts it shows.

        One operations store may hold several warehouses' alerts (a county demo and a province
        benchmark under one COCKPIT_HOME); a cockpit lists only its own."""
        if self._scope is None:
            from ..warehouse.store import WarehouseError, open_current

            try:
                snapshot = open_current(self.db_dir)
            except WarehouseError:
                return None
            try:
                self._scope = snapshot.meta().get("county_code")
            finally:
                snapshot.close()
        return self._scope

    def list(self, status=None, region: str | None = None, severity: str | None = None,
             open_only: bool = False) -> list[AlertRecord]:
        return self.store.list(status=status, region=region, severity=severity,
                               open_only=open_only, scope=self.scope, hidden=self.hidden)

    def get(self, alert_id: str) -> AlertRecord:
        return self.store.get(alert_id)

    def ack(self, alert_id: str, by: str) -> AlertRecord:
        return self.store.ack(alert_id, by)

    def assign(self, alert_id: str, by: str, department: str, deadline) -> AlertRecord:
        return self.store.assign(alert_id, by, department, deadline)

    def close(self, alert_id: str, by: str, note: str) -> AlertRecord:
        return self.store.close(alert_id, by, note)

    def ignore(self, alert_id: str, by: str, until, reason: str) -> AlertRecord:
        return self.store.ignore(alert_id, by, until, reason)

    def counts_by_severity(self, region: str | None = None) -> dict[str, int]:
        return self.store.counts_by_severity(region, scope=self.scope, hidden=self.hidden)

    def counts_by_region(self) -> dict[str, dict[str, int]]:
        return self.store.counts_by_region(scope=self.scope, hidden=self.hidden)

    def history(self, alert_id: str) -> list[AuditEntry]:
        return self.store.history(alert_id)

    def latest_seq(self) -> int:
        return self.store.latest_seq()

    def changes_since(self, seq: int) -> list[AuditEntry]:
        return self.store.changes_since(seq)
