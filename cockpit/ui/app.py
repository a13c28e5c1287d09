"""Starting the cockpit: the application object, the window on the right screen, offscreen snapshots,
and following the warehouse to each newly published snapshot."""
from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

from ..core.selection import Selection, SelectionState
from ..warehouse.queries import Queries
from ..warehouse.store import Snapshot, SnapshotStore, open_current


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
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background=None, foreground=theme.TEXT_DIM)
    return app


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform warns about window size hints it cannot honour, once per window;
    that is noise on a snapshot's or a test's stderr. Everything else still gets through."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if "propagateSizeHints" in message:
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
    period = q.as_of or q.months[-1]
    return SelectionState(region=q.county.code, indicator=indicator, period=period,
                          domain="overview")


class LiveWarehouse:
    """The snapshot the window reads, and the switch to a newer one when a writer publishes."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.store = SnapshotStore(self.root)
        self.snapshot: Snapshot = open_current(self.root)
        self.queries = Queries(self.snapshot)

    def newer_available(self) -> bool:
        current = self.store.current()
        return current is not None and current.version != self.snapshot.version

    def reopen(self) -> Queries:
        old = self.snapshot
        self.snapshot = open_current(self.root)
        self.queries = Queries(self.snapshot)
        old.close()
        self.store.collect_garbage()
        return self.queries

    def close(self) -> None:
        self.snapshot.close()


def _state_with(q: Queries, state: SelectionState, township=None, indicator=None,
                period=None, domain=None) -> SelectionState:
    from ..core.catalogue import DOMAINS

    changes = {}
    if township:
        match = [r for r in [q.county, *q.townships] if township in (r.name, r.name_en, r.code)]
        if not match:
            names = "、".join(r.name for r in q.townships)
            raise CockpitUsageError(f"没有名为“{township}”的乡镇（街道）；可选：{names}")
        changes["region"] = match[0].code
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
                 evaluate: bool = True):
    """The cockpit window on a warehouse; alerts are evaluated in the background unless
    `evaluate` is False (then the caller evaluates, e.g. synchronously for a snapshot)."""
    from ..alerts.store import AlertService
    from .context import CockpitContext
    from .main_window import CockpitWindow

    q = warehouse.queries
    selection = Selection(state or initial_state(q))
    hidden = [i.code for i in q.indicators if i.sensitivity == "internal"] if public_mode else []
    ctx = CockpitContext(q, selection, lang=lang, public_mode=public_mode,
                         alerts=AlertService(warehouse.root, scope=q.meta.get("county_code"),
                                             hidden_indicators=hidden))
    window = CockpitWindow(ctx, sound=sound)
    if evaluate:
        window.watcher.request()
    return window


def _watch(window, warehouse: LiveWarehouse, interval_ms: int = 1000) -> None:
    """Poll for a newly published snapshot (a directory listing: cheap) and switch to it."""
    from PySide6.QtCore import QTimer

    def check() -> None:
        try:
            if not warehouse.newer_available():
                return
            q = warehouse.reopen()
        except Exception as exc:  # a half-visible or broken snapshot: keep the current one
            window.statusBar().showMessage(f"新数据快照暂不可用：{exc}", 10_000)
            return
        state = window.ctx.state
        # Keep the user's selection where the new snapshot still has it.
        fixes = {}
        if state.region not in q.region_by_code:
            fixes["region"] = q.county.code
        if state.indicator not in q.indicator_by_code:
            fixes["indicator"] = initial_state(q).indicator
        window.ctx.queries = q
        if fixes:
            window.ctx.selection.update(record=False, **fixes)
        window.ctx.set_queries(q)
        window.watcher.request()  # every new snapshot is evaluated for alerts

    timer = QTimer(window)
    timer.timeout.connect(check)
    timer.start(interval_ms)
    window._snapshot_timer = timer


def run_gui(args) -> int:
    from .. import cli

    started = time.perf_counter()
    try:
        warehouse = LiveWarehouse(args.db)
        app = _application()
        state = initial_state(warehouse.queries)
        window = build_window(warehouse, state, lang=args.lang or "zh_CN",
                              sound=getattr(args, "sound", False))
    except CockpitUsageError as exc:
        raise cli.UsageError(str(exc))
    screens = app.screens()
    if args.screen is not None:
        if not 0 <= args.screen < len(screens):
            raise cli.UsageError(f"没有第 {args.screen} 块屏幕（共 {len(screens)} 块，从 0 起）")
        window.setGeometry(screens[args.screen].geometry())
    if args.size:
        window.resize(*args.size)
    elif args.screen is None:
        avail = app.primaryScreen().availableGeometry()
        window.resize(min(1920, avail.width()), min(1080, avail.height()))
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
        print(f"first paint {1000 * (time.perf_counter() - started):.0f} ms", file=sys.stderr,
              flush=True)
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
    from .. import cli

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise cli.UsageError(f"输出文件应为 .png：{out}")
    warehouse = LiveWarehouse(args.db)
    try:
        app = _application(offscreen=True)
        q = warehouse.queries
        try:
            state = _state_with(q, initial_state(q), args.township, args.indicator, args.period,
                                args.domain)
        except CockpitUsageError as exc:
            raise cli.UsageError(str(exc))
        window = build_window(warehouse, state, lang=args.lang or "zh_CN", evaluate=False)
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
            raise cli.UsageError(f"无法写入 {out}")
        window.close()
        window.deleteLater()
        app.processEvents()
    finally:
        warehouse.close()
    print(f"已保存 {out}（{args.size[0]}×{args.size[1]}）")
    return 0


def grab(window, app):
    """Let layouts, the scale timer and deferred repaints settle, then grab the window."""
    for _ in range(3):
        app.processEvents()
    window._apply_scale()
    for _ in range(3):
        app.processEvents()
    return window.grab().toImage()
