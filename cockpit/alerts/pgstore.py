"""The alert lifecycle store in PostgreSQL: one operations store for a command centre's PCs, or a
city's centres, with exactly the SQLite store's semantics and a notice to every cockpit on change.

Why this shape:
- Same statements as the SQLite store (store.py); this class supplies connections,
  transactions and the schema. Placeholders are translated (`?` → `%s`).
- One writer at a time, like SQLite's BEGIN IMMEDIATE: every write transaction first takes one
  transaction-scoped advisory lock. A transition re-reads the alert under that lock, so two desks
  acknowledging at once queue, the second sees 已签收 and gets the same refusal as on SQLite;
  audit numbers are handed out in commit order, so a cockpit reading "changes since N" never
  skips a row committed late. A killed client's transaction is rolled back by the server.
- Every write ends with NOTIFY in its transaction, delivered on commit: each open cockpit's
  listener thread (LISTEN) hears it at once instead of polling the table.
- Connections are kept per thread (connecting costs milliseconds; the GUI thread asks often).
  A connection that fails is dropped; for `hold_s` after that calls fail at once instead of
  waiting for a server that is away, and while a listener watches the server, until it says the
  server is back: the GUI thread never waits on a dead network more than once.
- The GUI thread's store has short timeouts (connect 2 s, the floor libpq allows; lock wait
  `busy_timeout`; statements a few seconds).
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Callable, Iterator

from ..core.settings import pg_reason, redact
from .store import (SCHEMA_VERSION, AlertStateError, AlertStore, StoreUnavailable, _set_version,
                    schema_sql, ALERT_COLUMNS, AUDIT_COLUMNS, EVALUATION_COLUMNS,
                    REGION_INDEXES)

CHANNEL = "cockpit_alerts"
# The advisory lock every writer takes (any constant: the store owns its database).
WRITE_LOCK = 0x636F636B   # "cock"
DRIVER_MISSING = ("要使用 PostgreSQL 预警库，请安装驾驶舱的 shared 组件："
                  "pip install \"city-cockpit[shared]\"")
DRIVER_MISSING_EN = ("A PostgreSQL alert store needs the cockpit's shared extra: "
                     "pip install \"city-cockpit[shared]\"")


def _driver():
    try:
        import psycopg
    except ImportError:
        raise StoreUnavailable(DRIVER_MISSING, DRIVER_MISSING_EN) from None
    return psycopg


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Row:
    """A result row readable by position and by column name, like sqlite3.Row."""
    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values):
        self._index = index
        self._values = values

    def __getitem__(self, key):
        return self._values[self._index[key] if isinstance(key, str) else key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def keys(self):
        return list(self._index)


def _rows(cursor):
    index = {d.name: k for k, d in enumerate(cursor.description or ())}
    return lambda values: Row(index, values)


class _Connection:
    """A psycopg connection speaking the SQLite store's dialect (`?` placeholders)."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, params=None):
        if params:
            return self.conn.execute(_pg_sql(sql), list(params))
        return self.conn.execute(sql)




class PgAlertStore(AlertStore):
    """The alerts and their audit trail in one PostgreSQL database (see the module docstring)."""

    dialect = "postgresql"
    hold_s = 1.0

    def __init__(self, url: str, *, busy_timeout: float = 30.0,
                 clock: Callable[[], datetime] = datetime.now, lazy: bool = False):
        self.url = url
        self.path = redact(url)       # what banners and the command line show
        self.busy_timeout = busy_timeout
        self.clock = clock
        self._ready = False
        self._local = threading.local()
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down: StoreUnavailable | None = None
        self._watched = False          # a listener reports the server's state
        # Bumped when a listener saw the server come back: connections opened before are
        # presumed dead (a restarted server closed them) and are replaced before use.
        self._generation = 0
        try:
            with self._connect():
                pass
        except (StoreUnavailable, AlertStateError):
            if not lazy:
                raise

    @property
    def location(self) -> str:
        return self.path

    # -- connections -------------------------------------------------------------------------
    def _options(self) -> dict:
        # The GUI thread's store (a short busy timeout) must answer in seconds or give up.
        quick = self.busy_timeout < 5
        return {"autocommit": True, "connect_timeout": 2 if quick else 10,
                "application_name": f"city-cockpit {os.getpid()}",
                "options": (f"-c lock_timeout={int(self.busy_timeout * 1000)}"
                            f" -c statement_timeout={5000 if quick else 0}"
                            " -c idle_in_transaction_session_timeout=60000"),
                "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3,
                "keepalives_count": 3}

    def _open(self):
        psycopg = _driver()
        try:
            conn = psycopg.connect(self.url, **self._options())
        except psycopg.Error as exc:
            raise StoreUnavailable(f"无法连接 PostgreSQL：{pg_reason(exc)}",
                                   f"cannot connect to PostgreSQL: {pg_reason(exc, 'en')}") from None
        conn.row_factory = _rows
        return conn

    def _fail(self, exc: StoreUnavailable) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.hold_s
            self._down = exc

    def set_reachable(self, up: bool, why: StoreUnavailable | None = None) -> None:
        """What a listener found: while it says down, calls fail at once; up, they try again."""
        with self._lock:
            self._watched = True
            if up and self._down_until:
                self._generation += 1
            self._down_until = float("inf") if not up else 0.0
            self._down = why if not up else None

    @contextmanager
    def _connect(self, timeout: float | None = None) -> Iterator[_Connection]:
        psycopg = _driver()
        with self._lock:
            if time.monotonic() < self._down_until:
                down = self._down
                raise StoreUnavailable(str(down) if down else "PostgreSQL 暂时无法连接",
                                       down.en if down else "PostgreSQL unreachable for now")
        conn = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or self._local.generation != self._generation):
            conn.close()
            conn = None
        if conn is None:
            try:
                conn = self._local.conn = self._open()
                self._local.generation = self._generation
            except StoreUnavailable as exc:
                if not self._watched:
                    self._fail(exc)
                raise
        try:
            con = _Connection(conn)
            if not self._ready:
                self._create_schema(con)
            yield con
        except psycopg.errors.LockNotAvailable:
            raise StoreUnavailable("预警库被其他程序长时间占用（locked）",
                                   "held by another program (locked)") from None
        except psycopg.errors.QueryCanceled:
            raise StoreUnavailable("预警库长时间无响应（busy）", "not answering (busy)") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            # A deployment's mistake, not the window's: said like an unreachable server.
            raise StoreUnavailable(f"PostgreSQL 用户没有所需权限（{pg_reason(exc)}）",
                                   f"PostgreSQL permission denied ({pg_reason(exc, 'en')})") \
                from None
        except psycopg.OperationalError as exc:
            # The connection is gone (server restarted, network dropped): drop it; the next
            # call reconnects once the hold is over.
            self._local.conn = None
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass
            lost = StoreUnavailable(f"与 PostgreSQL 的连接中断：{pg_reason(exc)}",
                                    f"connection to PostgreSQL lost: {pg_reason(exc, 'en')}")
            if not self._watched:
                self._fail(lost)
            raise lost from None

    @contextmanager
    def _write(self, timeout: float | None = None) -> Iterator[_Connection]:
        with self._connect(timeout) as con, con.conn.transaction():
            if timeout is not None:
                # SET LOCAL takes no parameters; the value is our own number.
                con.execute(f"SET LOCAL lock_timeout = {int(timeout * 1000)}")
                con.execute("SET LOCAL statement_timeout = 0")
            con.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])
            yield con
            con.execute(f"NOTIFY {CHANNEL}")

    def _create_schema(self, con: _Connection) -> None:
        found = con.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()[0]
        if found and self._version(con) == SCHEMA_VERSION:
            if con.execute("SELECT to_regclass('alerts_scope_region') IS NULL").fetchone()[0]:
                with con.conn.transaction():   # a store made before the region indexes
                    for statement in REGION_INDEXES:
                        con.execute(statement)
            self._ready = True
            return
        with con.conn.transaction():
            con.execute("SELECT pg_advisory_xact_lock(?)", [WRITE_LOCK])
            tables = {r[0] for r in con.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
            self._check_version(con, tables)
            for statement in schema_sql("postgresql"):
                con.execute(statement)
            _set_version(con)
        self._ready = True

    def disconnect(self) -> None:
        """Close this thread's connection (the next call opens another)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- copying a store in (cockpit ops migrate) ---------------------------------------------
    def load(self, tables: dict[str, list[tuple]]) -> None:
        """Copy rows dumped from another store into this empty one, in one transaction, keeping
        audit and evaluation numbers; refuses (AlertStateError) if this store holds alerts."""
        with self._write(self.SYNC_TIMEOUT) as con:
            held = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
            if held:
                raise AlertStateError(f"目标预警库 {self.location} 已有 {held} 条预警，未复制"
                                      "（只能迁移到空库）")
            cur = con.conn.cursor()
            for table, columns in (("alerts", ALERT_COLUMNS), ("audit", AUDIT_COLUMNS),
                                   ("evaluations", EVALUATION_COLUMNS)):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in tables[table]:
                        copy.write_row(row)
                # Identity columns go on after the copied numbers.
                if "seq" in columns:
                    con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'),"
                                f" (SELECT coalesce(max(seq), 0) + 1 FROM {table}), false)")

    # -- listening -----------------------------------------------------------------------------
    def listen(self, on_change: Callable[[], None], on_state: Callable[[bool, str], None],
               stop: threading.Event, retry_s: float = 1.0) -> None:
        """Run until `stop` is set (in a thread of its own): call `on_change()` whenever another
        process commits a change, `on_state(False, why)` when the server cannot be reached and
        `on_state(True, "")` when it can again (the caller then catches up)."""
        psycopg = _driver()
        up = None
        while not stop.is_set():
            conn = None
            try:
                conn = psycopg.connect(self.url, **{**self._options(), "connect_timeout": 2})
                conn.execute(f"LISTEN {CHANNEL}")
                if up is not True:
                    up = True
                    self.set_reachable(True)
                    on_state(True, "")
                asked = time.monotonic()
                while not stop.is_set():
                    heard = False
                    for _ in conn.notifies(timeout=0.5):
                        heard = True
                    if heard:
                        on_change()
                    # Notices ride on the socket; a server that went away without a word is
                    # noticed by asking it something now and then.
                    if time.monotonic() - asked > 3:
                        conn.execute("SELECT 1")
                        asked = time.monotonic()
            except psycopg.Error as exc:
                why = StoreUnavailable(
                    f"与 PostgreSQL 的连接中断：{pg_reason(exc)}" if up
                    else f"无法连接 PostgreSQL：{pg_reason(exc)}",
                    f"connection to PostgreSQL lost: {pg_reason(exc, 'en')}" if up
                    else f"cannot connect to PostgreSQL: {pg_reason(exc, 'en')}")
                if up is not False:
                    up = False
                    self.set_reachable(False, why)
                    on_state(False, str(why))
                stop.wait(retry_s)
            finally:
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001 - a broken connection may not close cleanly
                        pass
