"""Wall mode: the cockpit running a command-centre video wall unattended — kiosk, playlist carousel,
red-alert interrupts, legible type, and offscreen previews of every page of a playlist.

One window spans every screen of the wall (a wall controller usually presents its screens as one
desktop anyway): one process, one selection, one rotation; the window's layout puts panel edges on
the screens' edges (see `main_window.layout_for`), so no panel is cut by a bezel.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QCursor, QPainter
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QWidget

from ..errors import UsageError
from ..core.playlist import (Carousel, Catalogue, Page, Playlist, Step, default_playlist_path,
                             load_playlist)
from ..core.ranking import best_first
from . import theme
from .context import OVERVIEW

_TEXT = {
    "zh_CN": {"now": "正在展示", "next": "下一页", "in": "{s} 秒后", "paused": "已暂停轮播（操作中）",
              "resume": "{s} 秒无操作后继续", "alert": "红色预警", "back": "{s} 秒后回到轮播",
              "alerts": "预警中心", "detail": "乡镇详情", "plan": "规划目标",
              "exit_confirm": "再按一次 {keys} 退出大屏模式（{s} 秒内有效）",
              "no_close": "大屏模式不能直接关闭：连按两次 {keys} 退出",
              "failed": "轮播出错：{e}",
              "status": "{now}：{current}　　{next}：{upcoming}（{due}）",
              "focus_status": "{current} · {back} · {next}：{upcoming}", "position": "（{k}/{n}）"},
    "en": {"now": "Now", "next": "Next", "in": "in {s} s", "paused": "Rotation paused (operator)",
           "resume": "resumes after {s} s idle", "alert": "Critical alert",
           "back": "back to the rotation in {s} s", "alerts": "Alert centre",
           "detail": "Township details", "plan": "Plan targets",
           "exit_confirm": "Press {keys} again to leave wall mode (within {s} s)",
           "no_close": "Wall mode cannot be closed directly: press {keys} twice",
           "failed": "Rotation failed: {e}",
           "status": "{now}: {current}    {next}: {upcoming} ({due})",
           "focus_status": "{current} · {back} · {next}: {upcoming}", "position": " ({k}/{n})"},
}

EXIT_KEYS = "Ctrl+Shift+Q"


def playlist_catalogue(queries, public: bool) -> Catalogue:
    """What a playlist is checked against: this warehouse's regions and indicators."""
    names: dict[str, str] = {}
    shared: set[str] = set()
    for region in [queries.county, *queries.townships]:
        for name in (region.code, region.name, region.name_en):
            if name and names.setdefault(name, region.code) != region.code:
                shared.add(name)
    # A name several places share (two 城东街道 of a city) is decided by a path
    # (金华市/武义县/桃溪镇) or a code, through the hierarchy.
    names = {n: c for n, c in names.items() if n not in shared}
    return Catalogue(county=queries.county.code, regions=names,
                     township_codes=tuple(r.code for r in queries.townships),
                     indicators=queries.indicator_by_code, public=public,
                     find=queries.hierarchy.resolve)


def read_playlist(path: Path | str | None, queries, public: bool) -> Playlist:
    """The playlist at `path` (default: the bundled one), checked against the warehouse."""
    return load_playlist(path or default_playlist_path(), playlist_catalogue(queries, public))


class WallProgress(QWidget):
    """A thin line that fills as the page's time runs out, and one line saying what comes next."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("wallProgress")
        self.fraction = 0.0
        self.colour = theme.ACCENT
        self.label = QLabel(self, objectName="wallNext")
        self._layout = QHBoxLayout(self)
        self._layout.addWidget(self.label, 1)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._line = 4

    def set_scale(self, scale: float) -> None:
        self._line = max(3, round(4 * scale))
        self._layout.setContentsMargins(12, self._line + round(3 * scale), 12, round(4 * scale))

    def line_height(self) -> int:
        return self._line

    def set_state(self, fraction: float, text: str, colour: str) -> None:
        changed = text != self.label.text()
        if changed:
            self.label.setText(text)
        # Repaint the line only when it moves by a pixel: a wall ticks for months.
        if (changed or colour != self.colour
                or int(fraction * self.width()) != int(self.fraction * self.width())):
            self.fraction, self.colour = fraction, colour
            self.update(QRect(0, 0, self.width(), self.line_height() + 1))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.BG))
        h = self.line_height()
        p.fillRect(QRectF(0, 0, self.width(), h), theme.blend(theme.PANEL_EDGE, 255, theme.BG))
        p.fillRect(QRectF(0, 0, self.width() * self.fraction, h), QColor(self.colour))
        p.end()


class WallController(QObject):
    """Drives a CockpitWindow as a wall: the carousel, touches, alerts, kiosk and leaving it."""

    TICK_MS = 250
    IDLE_CURSOR_S = 5.0
    EXIT_WINDOW_S = 6.0

    def __init__(self, window, playlist: Playlist, clock=time.monotonic, kiosk: bool = True):
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        self.playlist = playlist
        self.clock = clock
        self.kiosk = kiosk
        self._t = _TEXT["en" if self.ctx.lang == "en" else "zh_CN"]
        self.exiting = False
        self._exit_armed_until: float | None = None
        self._last_activity = clock()
        self._cursor_hidden = False
        self._last_mouse: QPointF | None = None
        self.last_error: str | None = None
        self.steps_shown = 0

        window.wall = self
        window.text_floor_share = 0.01
        window.header.set_wall(True)
        window.period_bar.hide()
        window.alerts.set_wall(True)
        window.ticker.set_wall(True, playlist.alert_focus + playlist.alert_cooldown)
        self.progress = WallProgress(window)
        window._central_layout.addWidget(self.progress)
        window.panels.append(self.progress)   # follows the window's scale
        self.notice = QLabel(window, objectName="wallNotice")
        self.notice.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.notice.hide()
        self._notice_timer = QTimer(self, singleShot=True)
        self._notice_timer.timeout.connect(self.notice.hide)

        self._seen_red = self._open_red()
        self.carousel = Carousel(playlist, self._township_order, clock())
        self.ctx.alerts_changed.connect(self._on_alerts_changed)
        self._timer = QTimer(self, interval=self.TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        QApplication.instance().installEventFilter(self)
        window._apply_scale()
        self._apply(self.carousel.current)

    # -- the rotation -------------------------------------------------------------------------
    def tick(self) -> None:
        """Advance the carousel to now; called by the timer (and by tests with a fake clock)."""
        now = self.clock()
        try:
            step = self.carousel.tick(now)
            if step is not None:
                self._apply(step)
        except Exception as exc:   # a wall never stops for one bad page: say so, carry on
            self.last_error = self._t["failed"].format(e=exc)
            self._report(self.last_error)
        self._update_progress(now)
        if (not self._cursor_hidden and self.kiosk
                and now - self._last_activity >= self.IDLE_CURSOR_S):
            QApplication.setOverrideCursor(QCursor(Qt.CursorShape.BlankCursor))
            self._cursor_hidden = True

    def jump(self, index: int) -> None:
        """Show page `index` of the playlist now (previews, an operator's choice)."""
        now = self.clock()
        self._apply(self.carousel.jump(index, now))
        self._update_progress(now)

    def next_page(self) -> None:
        """Turn to the next page now (the soak turns pages as fast as the window answers)."""
        self.jump(self.carousel.page_index + 1)

    def pause_rotation(self) -> None:
        """Stop the clock (previews step through the pages themselves)."""
        self._timer.stop()

    def _apply(self, step: Step) -> None:
        ctx, window, q = self.ctx, self.window, self.ctx.queries
        changes: dict = {"period": q.as_of or ctx.state.period}
        kind = step.kind
        if kind in ("domain", "township", "townships"):
            indicator = step.indicator
            domain = step.domain
            if domain is None:
                domain = q.indicator_by_code[indicator].domain if indicator else OVERVIEW
            if indicator is None or not self._visible(indicator):
                shown = ctx.domain_indicators(domain)
                indicator = shown[0].code if shown else ctx.state.indicator
            changes.update(region=step.region or ctx.county_code, domain=domain,
                           indicator=indicator)
            if step.alert_id:
                alert_period = self._alert_period(step.alert_id)
                if alert_period is not None:
                    changes["period"] = alert_period
        elif kind == "detail":
            changes["region"] = step.region or self._attention_township()
        else:   # alerts, plan: the whole county, no domain in particular
            changes.update(region=ctx.county_code, domain=OVERVIEW)
        ctx.select(record=False, **changes)
        if kind == "alerts":
            window.show_alert_centre()
        elif kind == "detail":
            window.pages.setCurrentWidget(window.detail)
        elif kind == "plan":
            window.show_plan()
        else:
            window.show_cockpit()
        # Pages have buttons to leave them and controls to act; on a wall nobody clicks, and
        # the rotation leaves.
        page = window.pages.currentWidget()
        for name in ("close_button", "county_button"):
            button = getattr(page, name, None)
            if button is not None:
                button.hide()
        if hasattr(page, "set_wall"):
            page.set_wall(True)
        self.steps_shown += 1

    def _visible(self, code: str) -> bool:
        ind = self.ctx.queries.indicator_by_code.get(code)
        return ind is not None and not (self.ctx.public_mode and ind.sensitivity == "internal")

    def _township_order(self, page: Page) -> list[str]:
        """A townships page's order: by the indicator, best first (unreported last), or as
        listed in the warehouse."""
        ctx, q = self.ctx, self.ctx.queries
        listed = [r.code for r in q.townships]
        if page.order == "list":
            return listed
        indicator = page.indicator
        if indicator is None:
            shown = ctx.domain_indicators(page.domain or OVERVIEW)
            indicator = shown[0].code if shown else None
        if indicator is None:
            return listed
        ind = q.indicator_by_code[indicator]
        values = q.township_values(indicator, q.as_of or ctx.state.period)
        ranked = best_first(list(values.regions), values.values, ind.polarity)
        return ranked + [c for c in listed if c not in set(ranked)]

    def _attention_township(self) -> str:
        """The township most in need of attention: most open red, then orange alerts."""
        service = self.ctx.alerts
        townships = [r.code for r in self.ctx.queries.townships]
        try:
            counts = service.counts_by_region() if service is not None else {}
        except Exception:
            counts = {}
        scored = [(-counts.get(c, {}).get("红", 0), -counts.get(c, {}).get("橙", 0), k, c)
                  for k, c in enumerate(townships)]
        return min(scored)[3] if scored else self.ctx.county_code

    # -- alerts -----------------------------------------------------------------------------------
    def _open_red(self) -> dict[tuple[str, int], object]:
        service = self.ctx.alerts
        if service is None:
            return {}
        try:
            return {(a.id, a.reopen_count): a
                    for a in service.list(open_only=True, severity="红")}
        except Exception:   # the operations store is away: nothing new to interrupt for
            return dict(getattr(self, "_seen_red", {}))

    def _on_alerts_changed(self) -> None:
        now = self.clock()
        current = self._open_red()
        fresh = [a for key, a in current.items() if key not in self._seen_red]
        for key in set(self._seen_red) - set(current):
            self.carousel.forget_alert(key[0])
        self._seen_red = current
        # The newest of a batch (the store lists the newest period first) takes the wall; the
        # rest of the batch are in the ticker and the alert list, not a string of turns.
        fresh = [a for a in fresh if a.region in self.ctx.queries.region_by_code]
        if fresh:
            alert = fresh[0]
            indicator = alert.indicator if alert.indicator and self._visible(
                alert.indicator) else None
            if self.carousel.alert(alert.id, alert.region, indicator, now):
                self._apply(self.carousel.current)
        self._update_progress(now)

    def _alert_period(self, alert_id: str):
        try:
            period = self.ctx.alerts.get(alert_id).period_date
        except Exception:
            return None
        return period if period in self.ctx.queries.months else None

    # -- what the progress line says ---------------------------------------------------------------
    def describe(self, step: Step) -> str:
        t, ctx = self._t, self.ctx
        page = self.playlist.pages[step.page_index] if step.alert_id is None else None
        if step.alert_id is not None:
            return f"{t['alert']} · {ctx.region_name(step.region)}"
        if step.kind == "alerts":
            label = t["alerts"]
        elif step.kind == "plan":
            label = t["plan"]
        elif step.kind == "detail":
            region = step.region or self._attention_township()
            label = f"{t['detail']} · {ctx.region_name(region)}"
        else:
            domain = ctx.domain_name(step.domain or OVERVIEW)
            if step.region and step.region != ctx.county_code:
                where = ctx.region_name(step.region)
                if step.position:
                    where += t["position"].format(k=step.position[0], n=step.position[1])
                label = f"{where} · {domain}"
            else:
                label = domain
        if page is not None and page.title:
            label = f"{page.title} · {label}"
        return label

    def status_text(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        t, c = self._t, self.carousel
        seconds = int(round(c.remaining(now)))
        if c.paused:
            return f"{t['paused']} · {t['resume'].format(s=seconds)}"
        if c.in_alert_focus:
            return t["focus_status"].format(current=self.describe(c.current),
                                            back=t["back"].format(s=seconds), next=t["next"],
                                            upcoming=self.describe(c.upcoming()))
        return t["status"].format(now=t["now"], current=self.describe(c.current), next=t["next"],
                                  upcoming=self.describe(c.upcoming()),
                                  due=t["in"].format(s=seconds))

    def _update_progress(self, now: float) -> None:
        c = self.carousel
        colour = (theme.SEVERITY["红"] if c.in_alert_focus
                  else theme.TEXT_DIM if c.paused else theme.ACCENT)
        self.progress.set_state(c.progress(now), self.status_text(now), colour)

    # -- the operator ------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress:
            if self._is_exit_chord(event):
                self._on_exit_chord()
                return True
            if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F11) or (
                    event.key() == Qt.Key.Key_F4
                    and event.modifiers() & Qt.KeyboardModifier.AltModifier):
                return True   # a kiosk: no leaving full screen or closing by a stray key
            self.touch()
        elif kind in (QEvent.Type.MouseButtonPress, QEvent.Type.Wheel, QEvent.Type.TouchBegin):
            self.touch()
        elif kind == QEvent.Type.MouseMove:
            pos = event.globalPosition()
            if self._last_mouse is None or (pos - self._last_mouse).manhattanLength() > 2:
                self._last_mouse = QPointF(pos)
                self.touch()
        return False

    def touch(self) -> None:
        """An operator is here: hold the rotation, show the cursor."""
        now = self.clock()
        self._last_activity = now
        was_paused = self.carousel.paused
        self.carousel.touch(now)
        if not was_paused:
            self._update_progress(now)
        if self._cursor_hidden:
            QApplication.restoreOverrideCursor()
            self._cursor_hidden = False

    @staticmethod
    def _is_exit_chord(event) -> bool:
        mods = event.modifiers()
        return (event.key() == Qt.Key.Key_Q and mods & Qt.KeyboardModifier.ControlModifier
                and mods & Qt.KeyboardModifier.ShiftModifier)

    def _on_exit_chord(self) -> None:
        now = self.clock()
        if self._exit_armed_until is not None and now <= self._exit_armed_until:
            self.exit()
            return
        self._exit_armed_until = now + self.EXIT_WINDOW_S
        self.show_notice(self._t["exit_confirm"].format(keys=EXIT_KEYS,
                                                        s=int(self.EXIT_WINDOW_S)),
                         self.EXIT_WINDOW_S)

    def refuse_close(self) -> None:
        self.show_notice(self._t["no_close"].format(keys=EXIT_KEYS), 5.0)

    def show_notice(self, text: str, seconds: float) -> None:
        """A message in the middle of the wall that goes away by itself (never a modal dialog)."""
        self.notice.setText(text)
        self.notice.adjustSize()
        self.notice.move((self.window.width() - self.notice.width()) // 2,
                         self.window.height() // 3)
        self.notice.raise_()
        self.notice.show()
        self._notice_timer.start(int(seconds * 1000))

    def _report(self, text: str) -> None:
        banner = getattr(self.window, "banner", None)
        if banner is not None:
            banner.report("wall", text)
        else:
            self.show_notice(text, 10.0)

    def exit(self) -> None:
        self.exiting = True
        self.stop()
        self.window.close()

    def stop(self) -> None:
        self._timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        if self._cursor_hidden:
            QApplication.restoreOverrideCursor()
            self._cursor_hidden = False
        theme.set_text_floor(0)

    # -- kiosk ---------------------------------------------------------------------------------------
    def show_kiosk(self, screens: list[int] | None, size: tuple[int, int] | None) -> None:
        """Frameless on the chosen screens (one window spanning them), or at `size` for a try."""
        window = self.window
        window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        app = QApplication.instance()
        available = app.screens()
        chosen = [available[i] for i in (screens or [0])]
        if size is not None:
            window.resize(*size)
            window.move(chosen[0].geometry().topLeft())
            window.show()
            return
        area = chosen[0].geometry()
        for screen in chosen[1:]:
            area = area.united(screen.geometry())
        window.setGeometry(area)
        if len(chosen) == 1:
            window.showFullScreen()
        else:
            window.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
            window.show()


# --- the `cockpit wall` command -----------------------------------------------------------------
def _open(args, offscreen: bool):
    """The warehouse, application, playlist and window of a wall (usage errors in one line)."""
    from ..core.playlist import PlaylistError
    from .app import CockpitUsageError, LiveWarehouse, _application, build_window, initial_state

    warehouse = LiveWarehouse(args.db)
    try:
        app = _application(offscreen=offscreen)
        q = warehouse.queries
        public = args.profile == "public"
        try:
            playlist = read_playlist(args.playlist, q, public)
        except PlaylistError as exc:
            raise UsageError(str(exc)) from None
        try:
            window = build_window(warehouse, initial_state(q, public), lang=args.lang or "zh_CN",
                                  public_mode=public, sound=getattr(args, "sound", False),
                                  evaluate=not offscreen)
        except CockpitUsageError as exc:
            raise UsageError(str(exc)) from None
    except BaseException:
        warehouse.close()
        raise
    return warehouse, app, playlist, window


def run_wall(args) -> int:
    from .app import _watch

    warehouse, app, playlist, window = _open(args, offscreen=False)
    screens = args.screens
    count = len(app.screens())
    bad = [i for i in (screens or []) if not 0 <= i < count]
    if bad:
        warehouse.close()
        raise UsageError(f"没有第 {bad[0]} 块屏幕（共 {count} 块，从 0 起）")
    controller = WallController(window, playlist)
    _watch(window, warehouse)
    controller.show_kiosk(screens, args.size)
    print(f"大屏模式：{playlist.name or Path(playlist.source).name}，{len(playlist.pages)} 页；"
          f"连按两次 {EXIT_KEYS} 退出", file=sys.stderr, flush=True)
    code = app.exec()
    window.watcher.stop(wait_s=600)
    warehouse.close()
    return code


def render_preview(args) -> int:
    """Every page of the playlist rendered offscreen to DIR/NN-kind.png, as the wall shows it."""
    from .app import grab

    out = Path(args.preview)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"无法创建预览目录 {out}：{exc.strerror or exc}") from None
    warehouse, app, playlist, window = _open(args, offscreen=True)
    written = []
    try:
        try:
            window.ctx.alerts.evaluate(warehouse.snapshot)
        except Exception as exc:   # alerts are part of the picture, but not worth no picture
            print(f"cockpit: 预警评估失败：{exc}", file=sys.stderr)
        controller = WallController(window, playlist, kiosk=False)
        controller.pause_rotation()
        window.ctx.alerts_changed.emit()
        window.resize(*(args.size or (1920, 1080)))
        window.show()
        for index, page in enumerate(playlist.pages):
            controller.jump(index)
            image = grab(window, app)
            name = page.kind + (f"-{page.domain}" if page.domain else "")
            path = out / f"{index + 1:02d}-{name}.png"
            if not image.save(str(path)):
                raise UsageError(f"无法写入 {path}")
            written.append(path)
        controller.exit()
        window.deleteLater()
        app.processEvents()
    finally:
        warehouse.close()
    size = args.size or (1920, 1080)
    print(f"已渲染 {len(written)} 页（{size[0]}×{size[1]}）→ {out}")
    for path in written:
        print(f"  {path.name}")
    return 0
