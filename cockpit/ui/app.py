"""Starting the cockpit: the application object, the window on the right screen, offscreen snapshots,
and following the warehouse to each newly published snapshot."""
from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import UsageError
from ..core.selection import Selection, SelectionState
from ..warehouse.queries import Queries
from ..warehouse.store import Snapshot, SnapshotStore, WarehouseError, open_current, open_manifest

GUI_BUSY_TIMEOUT = 0.25   # seconds


class CockpitUsageError(Exception):
    """Bad arguments for a GUI command (unknown township, indicator, period…)."""


def _application(offscreen: bool = False):
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    from ..paths import assets_dir
    from . import theme

    app = QApplication.instance()
    if app is None:
        _quiet_offscreen_warnings()
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("城市大脑驾驶舱")
        app.setApplicationDisplayName("城市大脑 · 数字驾驶舱")
        app.setOrganizationName("CityCockpit")
        icon = assets_dir() / "icons" / "cockpit.png"
        if icon.exists():
            app.setWindowIcon(QIcon(str(icon)))
    theme.apply(app)
    return app


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform warns about window size hints and raising windows, which it
    cannot honour; that is noise on a snapshot's or a test's stderr. Everything else still
    gets through."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if "propagateSizeHints" in message or "does not support raise()" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)


def initial_state(q: Queries, public: bool = False) -> SelectionState:
    overview = [i for i in q.indicators
                if i.headline and not (public and i.sensitivity == "internal")]
    indicator = overview[0].code if overview else q.indicators[0].code
    if q.as_of is None and not q.months:
        raise CockpitUsageError(
            f"{q.meta.get('county_name') or q.county.name}数据仓库中还没有指标数据："
            f"请先用 cockpit import 文件 --db 目录 导入（cockpit new 建立的仓库是空的）")
    period = q.as_of or q.months[-1]
    return SelectionState(region=q.county.code, indicator=indicator, period=period,
                          domain="overview")


@dataclass(frozen=True)
class Follow:
    """What one look at the warehouse folder found."""
    queries: Queries | None = None   # switched to another snapshot: reload once with these
    problem: str | None = None       # "unreachable", "empty", "unreadable", "newer_unreadable",
                                     # "catalog" (a DuckLake's catalog away)
    reason: str = ""                 # why, in one line
    version: int | None = None       # the newer snapshot that could not be opened
    reason_en: str = ""              # `reason` in English, where it is known


class LiveWarehouse:
    """The snapshot the window reads, the switch to a newer one when a writer publishes, and
    riding out a warehouse that cannot be read for a while.

    The folder may vanish (a network share dropped, the folder renamed away, permissions lost)
    or a snapshot may be unreadable (truncated, corrupt, a manifest pointing nowhere). The open
    snapshot keeps serving as long as its file handle does; `poll` reports the problem, and
    once the folder is back (or after the window's queries failed) reopens the newest snapshot
    that opens, so the window reloads once and is current again."""

    def __init__(self, root: Path | str, as_of: date | None = None):
        from ..warehouse.store import lake_location

        # A DuckLake (`ducklake:…`) is followed through this PC's local copies of its snapshots:
        # a thread copies each new one in, and the folder of copies is watched like any other.
        # (lake.py is imported only then: a folder's start-up does without it.)
        lake = None
        if lake_location(root) is not None:
            from ..warehouse.lake import lake_of

            lake = lake_of(root)
        self.root = Path(root) if lake is None else lake.location
        self.store = SnapshotStore(self.root) if lake is None else lake.cache
        self.snapshot: Snapshot = open_current(self.root, as_of)
        self.lake = None
        if lake is not None and not as_of:
            from ..warehouse.lake import LakeFollower

            self.lake = LakeFollower(lake)
        self.queries = Queries(self.snapshot)
        self.failure: str | None = None      # the open snapshot's queries fail (why)
        self._failures = 0                   # failures since it was opened
        self._unreachable = False
        # version -> (its files' signature, why) for snapshots that would not open: tried
        # again only once their files change, not every second.
        self._bad: dict[int, tuple[tuple, str]] = {}

    def mark_failed(self, reason: str) -> None:
        """The window's queries on the open snapshot failed. Reopening it is tried once (a
        file handle of a share that dropped and came back is useless); failing again, it
        counts as unreadable until its files change."""
        self.failure = reason
        self._failures += 1
        if self._failures >= 2:
            version = self.snapshot.version
            self._bad[version] = (self.store.signature(version), reason)

    def poll(self) -> Follow:
        """Look at the folder (a directory listing: cheap enough every second)."""
        try:
            versions = self.store.published()
        except OSError as exc:
            self._unreachable = True
            return Follow(problem="unreachable", reason=os_reason(exc))
        recovering = self._unreachable or self.failure is not None
        self._unreachable = False
        current = self.snapshot.version
        floor = current if recovering else current + 1
        refused: list[tuple[int, str]] = []
        for version in reversed(versions):
            if version < floor:
                break
            signature = self.store.signature(version)
            known = self._bad.get(version)
            if known is not None and known[0] == signature:
                refused.append((version, known[1]))
                continue
            manifest = self.store.manifest(version)
            try:
                if manifest is None:
                    raise WarehouseError(f"清单 {version:06d}.json 无法读取或指向不存在的快照文件")
                snapshot = open_manifest(self.store, manifest)
            except WarehouseError as exc:
                self._bad[version] = (signature, str(exc))
                refused.append((version, str(exc)))
                continue
            return Follow(queries=self._switch(snapshot))
        if self.failure is not None:
            return Follow(problem="unreadable", reason=self.failure)
        if self.lake is not None and self.lake.problem:
            return Follow(problem="catalog", reason=self.lake.problem,
                          reason_en=self.lake.problem_en or "")
        newer = [(v, why) for v, why in refused if v > current]
        if newer:
            return Follow(problem="newer_unreadable", reason=newer[0][1], version=newer[0][0])
        if not versions:
            return Follow(problem="empty")
        return Follow()

    def _switch(self, snapshot: Snapshot) -> Queries:
        old = self.snapshot
        self.snapshot = snapshot
        self.queries = Queries(snapshot)
        self.failure = None
        self._failures = 0
        old.close()
        try:
            self.store.collect_garbage()
        except OSError:   # cleaning up is for later; reading is what matters
            pass
        return self.queries

    def close(self) -> None:
        if self.lake is not None:
            self.lake.stop()
        self.snapshot.close()


def os_reason(exc: OSError) -> str:
    """An operating-system error as the few words a user needs."""
    import errno

    words = {errno.ENOENT: "目录不存在或已被移走", errno.EACCES: "没有访问权限",
             errno.EPERM: "没有访问权限", errno.ENOTDIR: "目录不存在或已被移走",
             errno.EIO: "读写出错（网络共享可能已断开）",
             getattr(errno, "ESTALE", -1): "网络共享已断开"}
    return words.get(exc.errno, exc.strerror or type(exc).__name__)


def valid_state(q: Queries, state: SelectionState) -> SelectionState:
    """The nearest selection a snapshot can show: a region and an indicator it has (else the
    county and the first headline indicator), a month it holds (else the nearest earlier one,
    else the month it is current to), a domain it has, with the indicator in that domain."""
    from dataclasses import replace

    from ..core.catalogue import DOMAINS

    default = initial_state(q)
    changes = {}
    if state.region not in q.region_by_code:
        changes["region"] = q.county.code
    months = q.months
    if months and state.period not in months:
        earlier = [m for m in months if m <= state.period]
        changes["period"] = earlier[-1] if earlier else default.period
    domains = {i.domain for i in q.indicators}
    domain = state.domain
    if domain != "overview" and (domain not in DOMAINS or domain not in domains):
        domain = changes["domain"] = "overview"
    indicator = q.indicator_by_code.get(state.indicator)
    if indicator is None or (domain != "overview" and indicator.domain != domain):
        members = [i for i in q.indicators if i.domain == domain]
        headline = [i for i in members if i.headline] or members
        changes["indicator"] = headline[0].code if domain != "overview" and headline \
            else default.indicator
    return replace(state, **changes) if changes else state


def find_region(q: Queries, text: str) -> str:
    """The region a user named (a code, a name, or a path such as 金华市/武义县/桃溪镇); a name
    no region or several regions have is a one-line CockpitUsageError listing candidates."""
    from ..core.levels import RegionLookupError

    try:
        return q.hierarchy.resolve(text)
    except RegionLookupError as exc:
        raise CockpitUsageError(str(exc)) from None


def _state_with(q: Queries, state: SelectionState, township=None, indicator=None,
                period=None, domain=None) -> SelectionState:
    from ..core.catalogue import DOMAINS

    changes = {}
    if township:
        changes["region"] = find_region(q, township)
    if indicator:
        if indicator not in q.indicator_by_code:
            raise CockpitUsageError(f"没有代码为“{indicator}”的指标（cockpit info 可查看指标）")
        changes["indicator"] = indicator
    if domain:
        found = [code for code, (zh, en) in DOMAINS.items() if domain in (code, zh, en)]
        if domain in ("总览", "overview", "Overview"):
            found = ["overview"]
        if not found:
            raise CockpitUsageError(
                f"没有名为“{domain}”的领域；可选：总览、" + "、".join(zh for zh, _ in DOMAINS.values()))
        changes["domain"] = found[0]
        if not indicator and found[0] != "overview":
            first = [i for i in q.indicators if i.domain == found[0] and i.headline]
            if first:
                changes["indicator"] = first[0].code
    if period:
        try:
            y, m = (int(x) for x in period.split("-")[:2])
            month = date(y, m, 1)
        except ValueError:
            raise CockpitUsageError(f"月份应写成 YYYY-MM，例如 2025-06，而不是“{period}”")
        if month not in q.months:
            raise CockpitUsageError(
                f"{period} 不在数据范围内（{q.months[0]:%Y-%m} 至 {q.months[-1]:%Y-%m}）")
        changes["period"] = month
    from dataclasses import replace

    return replace(state, **changes)


def build_window(warehouse: LiveWarehouse, state: SelectionState | None = None,
                 lang: str = "zh_CN", public_mode: bool = False, sound: bool = False,
                 evaluate: bool = True, state_path: Path | None = None,
                 size: tuple[int, int] | None = None):
    """The cockpit window on a warehouse; alerts are evaluated in the background once its
    first frame is painted, unless `evaluate` is False (then the caller evaluates, e.g.
    synchronously for a snapshot). `state_path`: another operations store than COCKPIT_HOME's
    (the benchmark's soak). `size`: what the window will be shown at (laid out once for it)."""
    from ..alerts.store import AlertService
    from .context import CockpitContext
    from .main_window import CockpitWindow

    q = warehouse.queries
    selection = Selection(state or initial_state(q))
    hidden = [i.code for i in q.indicators if i.sensitivity == "internal"] if public_mode else []
    # The GUI thread waits at most GUI_BUSY_TIMEOUT for another process's lock on the
    # operations store (applying an evaluation, in its worker thread, waits its own time).
    ctx = CockpitContext(q, selection, lang=lang, public_mode=public_mode,
                         alerts=AlertService(warehouse.root, state_path=state_path,
                                             scope=q.meta.get("county_code"),
                                             hidden_indicators=hidden,
                                             busy_timeout=GUI_BUSY_TIMEOUT, lazy=True))
    window = CockpitWindow(ctx, sound=sound, size=size)
    if evaluate:
        # A thread started now would compete with building and painting the first frame
        # for the CPU and the GIL.
        after_first_paint(window, window.watcher.request)
    return window


_PROBLEMS = {
    "zh_CN": {
        "unreachable": "数据仓库目录无法访问（{reason}）：{root}。仍显示快照 {label}（数据截至 {as_of}），"
                       "每秒重试",
        "empty": "数据仓库目录中没有可用的快照：{root}。仍显示快照 {label}（数据截至 {as_of}），每秒重试",
        "unreadable": "快照 {label} 读取失败（{reason}）。画面保持最后一次读取成功时的内容，每秒重试",
        "newer_unreadable": "新数据快照 {new} 无法打开（{reason}）。仍显示快照 {label}（数据截至 {as_of}）",
        "error": "检查数据仓库时出错（{reason}），每秒重试",
        "catalog": "{reason}。仍显示快照 {label}（数据截至 {as_of}），每秒重试",
    },
    "en": {
        "unreachable": "Warehouse folder unreachable ({reason}): {root}. Still showing snapshot "
                       "{label} (data as of {as_of}); retrying every second",
        "empty": "No usable snapshot in the warehouse folder {root}. Still showing snapshot "
                 "{label} (data as of {as_of}); retrying every second",
        "unreadable": "Snapshot {label} cannot be read ({reason}). The picture is kept as it "
                      "was last read; retrying every second",
        "newer_unreadable": "New snapshot {new} cannot be opened ({reason}). Still showing "
                            "snapshot {label} (data as of {as_of})",
        "error": "Checking the warehouse failed ({reason}); retrying every second",
        "catalog": "{reason}. Still showing snapshot {label} (data as of {as_of}); retrying "
                   "every second",
    },
}


class SnapshotFollower:
    """Every second: switch the window to a newly published snapshot in one state change,
    or say on the banner what keeps it from reading the warehouse, and recover by itself."""

    KEY = "warehouse"

    def __init__(self, window, warehouse: LiveWarehouse, interval_ms: int = 1000):
        from PySide6.QtCore import QTimer

        self.window = window
        self.warehouse = warehouse
        window.ctx.warehouse_failed.connect(self._on_failed)
        self.timer = QTimer(window)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        ctx = self.window.ctx
        try:
            follow = self.warehouse.poll()
        except Exception as exc:  # noqa: BLE001 - a wall keeps running whatever the folder does
            follow = Follow(problem="error", reason=" ".join(str(exc).split())[:200])
        if follow.queries is not None:
            q = follow.queries
            ctx.set_queries(q, lambda state: valid_state(q, state))
            self.window.watcher.request()  # every new snapshot is evaluated for alerts
        if follow.problem is None:
            ctx.clear_problem(self.KEY)
        else:
            ctx.report_problem(self.KEY, self._text(follow))

    def _on_failed(self, reason: str) -> None:
        self.warehouse.mark_failed(reason)
        self.window.ctx.hold()
        self.window.ctx.report_problem(self.KEY, self._text(Follow(problem="unreadable",
                                                                    reason=reason)))

    def _text(self, follow: Follow) -> str:
        from ..core.formatting import month_label

        lang = self.window.ctx.lang
        q = self.warehouse.queries
        try:
            as_of = month_label(q.as_of, lang) if q.as_of else "—"
        except Exception:  # noqa: BLE001 - the label is a courtesy; the problem is the message
            as_of = "—"
        texts = _PROBLEMS.get(lang, _PROBLEMS["zh_CN"])
        from ..core.settings import redact

        reason = follow.reason_en if lang == "en" and follow.reason_en else follow.reason
        return texts[follow.problem].format(
            reason=reason, root=redact(str(self.warehouse.root)), as_of=as_of,
            label=f"{self.warehouse.snapshot.version:06d}",
            new=f"{follow.version:06d}" if follow.version is not None else "")


def _watch(window, warehouse: LiveWarehouse, interval_ms: int = 1000) -> SnapshotFollower:
    """Follow the warehouse from this window (see SnapshotFollower)."""
    window.follower = SnapshotFollower(window, warehouse, interval_ms)
    return window.follower


class _Steps:
    """Start-up step by step, for `cockpit bench` (COCKPIT_TIMING): name=ms pairs."""

    def __init__(self):
        self._last = time.perf_counter()
        self.ms: dict[str, float] = {}

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.ms[name] = (now - self._last) * 1000
        self._last = now

    def __str__(self) -> str:
        return " ".join(f"{k}={v:.0f}" for k, v in self.ms.items())


def after_first_paint(window, call, fallback_ms: int = 3000) -> None:
    """Run `call` once, when `window` has painted for the first time (in the event loop's
    time), or after `fallback_ms` if it has not painted by then (a wall with its screen off)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    fired = []

    def once() -> None:
        if not fired:
            fired.append(True)
            call()

    class Once(QObject):
        def eventFilter(self, obj, event) -> bool:
            if event.type() in (QEvent.Type.UpdateRequest, QEvent.Type.Paint):
                obj.removeEventFilter(self)
                QTimer.singleShot(0, window, once)   # after the paint this event starts
                self.deleteLater()
            return False

    window.installEventFilter(Once(window))
    QTimer.singleShot(fallback_ms, window, once)


def _window_size(app, args) -> tuple[int, int]:
    """The size `run_gui` shows the window at: the screen's when full screen, else --size,
    else the chosen screen's, else the primary screen's available area up to 1920×1080."""
    screens = app.screens()
    screen = screens[args.screen] if args.screen is not None else app.primaryScreen()
    if args.fullscreen:
        return screen.geometry().width(), screen.geometry().height()
    if args.size:
        return tuple(args.size)
    if args.screen is not None:
        return screen.geometry().width(), screen.geometry().height()
    avail = app.primaryScreen().availableGeometry()
    return min(1920, avail.width()), min(1080, avail.height())


def run_gui(args) -> int:
    # No cyclic garbage collection until the first frame is up: start-up allocates much and
    # frees little, so the collector's passes (~60 ms) would only delay the first frame.
    gc.disable()
    try:
        return _run_gui(args)
    finally:
        gc.enable()   # if start-up ended before the first frame


def _run_gui(args) -> int:
    started = time.perf_counter()
    steps = _Steps()
    try:
        warehouse = LiveWarehouse(args.db)
        steps.done("warehouse")
        app = _application()
        steps.done("qt")
        state = initial_state(warehouse.queries)
        screens = app.screens()
        if args.screen is not None and not 0 <= args.screen < len(screens):
            raise UsageError(f"没有第 {args.screen} 块屏幕（共 {len(screens)} 块，从 0 起）")
        window = build_window(warehouse, state, lang=args.lang or "zh_CN",
                              sound=getattr(args, "sound", False),
                              size=_window_size(app, args))
        steps.done("window")
    except CockpitUsageError as exc:
        raise UsageError(str(exc))
    after_first_paint(window, gc.enable)
    if args.screen is not None:
        window.move(screens[args.screen].geometry().topLeft())
    _watch(window, warehouse)
    if args.fullscreen:
        # The whole screen even where no window manager honours "full screen" (a wall PC
        # running X alone, Xvfb): a 3840×2160 screen must not get a 1920×1080 window.
        screen = screens[args.screen] if args.screen is not None else app.primaryScreen()
        window.setGeometry(screen.geometry())
        window.showFullScreen()
    else:
        window.show()
    timing = os.environ.get("COCKPIT_TIMING")
    if timing:
        # `cockpit bench` launches the cockpit like a user does and times it to this line;
        # COCKPIT_TIMING=exit leaves right after the first full paint.
        app.sendPostedEvents()
        app.processEvents()
        steps.done("paint")
        print(f"first paint {1000 * (time.perf_counter() - started):.0f} ms; steps {steps}",
              file=sys.stderr, flush=True)
        if timing == "exit":
            window.close()
            window.watcher.stop(wait_s=600)
            warehouse.close()
            return 0
    code = app.exec()
    window.watcher.stop(wait_s=600)
    warehouse.close()
    return code


def render_snapshot(args) -> int:
    """Render the whole cockpit offscreen with the requested state and save it as a PNG."""

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"输出文件应为 .png：{out}")
    warehouse = LiveWarehouse(args.db)
    try:
        app = _application(offscreen=True)
        q = warehouse.queries
        try:
            state = _state_with(q, initial_state(q), args.township, args.indicator, args.period,
                                args.domain)
        except CockpitUsageError as exc:
            raise UsageError(str(exc))
        window = build_window(warehouse, state, lang=args.lang or "zh_CN", evaluate=False,
                              size=tuple(args.size))
        try:
            window.ctx.alerts.evaluate(warehouse.snapshot)
        except Exception as exc:  # alerts are part of the picture, but not worth no picture
            print(f"cockpit: 预警评估失败：{exc}", file=sys.stderr)
        window.ctx.alerts_changed.emit()
        window.resize(*args.size)
        window.show()
        image = grab(window, app)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):
            raise UsageError(f"无法写入 {out}")
        window.close()
        window.deleteLater()
        app.processEvents()
    finally:
        warehouse.close()
    print(f"已保存 {out}（{args.size[0]}×{args.size[1]}）")
    return 0


def settle(window, app) -> None:
    """Let layouts, the scale timer and deferred repaints settle."""
    for _ in range(3):
        app.processEvents()
    window._apply_scale()
    for _ in range(3):
        app.processEvents()


def grab(window, app, wait_s: float = 60.0):
    """Settle, wait for what the window still reads off the GUI thread (at scale a change's
    answers, the alert list and the map's badges: a picture said 正在读取… over an empty alert
    list), then grab the window. After `wait_s` it is grabbed as it is."""
    from .background import BackgroundReader

    settle(window, app)
    readers = window.findChildren(BackgroundReader)
    ctx = getattr(window, "ctx", None)
    deadline = time.monotonic() + wait_s
    while (getattr(ctx, "waiting", False) or any(r.busy for r in readers)) \
            and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    settle(window, app)
    return window.grab().toImage()
