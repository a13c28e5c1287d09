"""Wall mode: the rotation drives the window, a touch pauses it, a red alert interrupts it, the
kiosk cannot be closed by accident, layouts fit 16:9 to 48:9 walls and a laptop, no text is
under 1 % of the screen height, and the public profile shows no internal indicator anywhere."""
from __future__ import annotations

import math
import os
from dataclasses import replace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QComboBox, QHeaderView,
                               QLabel, QLineEdit, QTabBar, QWidget)

from cockpit import cli
from cockpit.core.playlist import parse_playlist
from cockpit.ui import theme
from cockpit.ui.app import (LiveWarehouse, _application, build_window, grab, initial_state,
                            settle)
from cockpit.ui.main_window import layout_for
from cockpit.ui.wall import WallController, playlist_catalogue
from cockpit.warehouse.demo import TOWNSHIP_CODES

pytestmark = pytest.mark.heavy(60)

PLAYLIST = """
[playlist]
dwell = 10
resume_after = 30
alert_focus = 20
alert_cooldown = 120

[[page]]
kind = "domain"
domain = "经济运行"

[[page]]
kind = "townships"
domain = "社会治理"
indicator = "gov_events_closed"
order = "rank"
count = 3
dwell = 5

[[page]]
kind = "alerts"

[[page]]
kind = "detail"

[[page]]
kind = "township"
township = "桃溪镇"
domain = "生态环境"

[[page]]
kind = "plan"
"""


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wall(warehouse, public=False, evaluate=True, text=PLAYLIST, lang="zh_CN"):
    """A wall window on a made-up clock (alerts evaluated first unless told not to)."""
    q = warehouse.queries
    window = build_window(warehouse, initial_state(q, public), public_mode=public,
                          evaluate=False, lang=lang)
    if evaluate:
        window.ctx.alerts.evaluate(warehouse.snapshot)
    clock = Clock()
    playlist = parse_playlist(text, playlist_catalogue(q, public), "wall.toml")
    wall = WallController(window, playlist, clock=clock, kiosk=False)
    wall.pause_rotation()   # the test turns the clock
    window.ctx.alerts_changed.emit()
    return window, wall, clock


def _close(window):
    window.wall.exiting = True
    window.close()
    window.deleteLater()
    theme.set_text_floor(0)


@pytest.fixture(scope="module")
def wall(demo_db, tmp_path_factory):
    os.environ["COCKPIT_HOME"] = str(tmp_path_factory.mktemp("wallhome"))
    app = _application()
    warehouse = LiveWarehouse(demo_db)
    window, controller, clock = _wall(warehouse)
    window.resize(1920, 1080)
    window.show()
    grab(window, app)
    yield window, controller, clock
    _close(window)
    app.processEvents()
    warehouse.close()


def _advance(controller, clock, seconds):
    clock.now += seconds
    controller.tick()


def test_the_rotation_turns_pages_in_order_and_applies_them_everywhere(wall):
    window, controller, clock = wall
    controller.jump(0)
    state = window.ctx.state
    assert (state.domain, state.region, window.page_name) == ("economy", "330723", "cockpit")
    assert window.header.tabs.currentIndex() == 1      # 经济运行 is the tab shown
    assert "下一页" in controller.progress.label.text()
    _advance(controller, clock, 9)
    assert window.ctx.state.domain == "economy"          # dwell not over yet
    # the townships page: best first by 事件处置完成率, the first three only
    q = window.ctx.queries
    values = q.township_values("gov_events_closed", q.as_of)
    best = [str(c) for _, c in sorted(zip(-values.values, values.regions))][:3]
    shown = []
    for _ in range(3):
        _advance(controller, clock, 5.1 if shown else 1.1)
        shown.append(window.ctx.state.region)
        assert window.ctx.state.indicator == "gov_events_closed"
        assert window.ranking.highlighted_region == shown[-1]
    assert shown == best
    _advance(controller, clock, 5.1)
    assert window.page_name == "alerts" and window.ctx.state.region == "330723"
    assert window.alert_centre.counts()["红"] >= 1
    assert not window.alert_centre.list.status_filter.isVisible()   # nothing to click
    _advance(controller, clock, 10.1)
    # the detail page of the township most in need of attention (most open red alerts)
    counts = window.ctx.alerts.counts_by_region()
    worst = max(counts, key=lambda c: (counts[c].get("红", 0), counts[c].get("橙", 0)))
    assert window.page_name == "detail" and window.ctx.state.region == worst
    _advance(controller, clock, 10.1)
    assert window.page_name == "cockpit"
    assert window.ctx.state.region == TOWNSHIP_CODES["桃溪镇"]
    assert window.ctx.state.domain == "environment"
    _advance(controller, clock, 10.1)
    assert window.page_name == "plan" and not window.plan.close_button.isVisible()
    assert not window.ctx.selection.can_go_back         # the wall never fills the history


def test_a_touch_pauses_and_idle_time_resumes(wall, qtbot):
    window, controller, clock = wall
    controller.jump(0)
    qtbot.keyClick(window, Qt.Key.Key_Shift)             # any key is a touch
    assert controller.carousel.paused
    assert "已暂停轮播" in controller.progress.label.text()
    _advance(controller, clock, 25)
    assert window.ctx.state.domain == "economy"
    _advance(controller, clock, 6)                       # 31 s without a touch
    assert not controller.carousel.paused
    assert window.ctx.state.indicator == "gov_events_closed"


def test_the_kiosk_needs_the_exit_chord_twice(wall, qtbot):
    window, controller, clock = wall
    window.close()                                        # Alt+F4, a stray click
    assert window.isVisible() and controller.notice.isVisible()
    assert "Ctrl+Shift+Q" in controller.notice.text()
    qtbot.keyClick(window, Qt.Key.Key_Escape)             # no leaving full screen either
    assert window.isVisible()
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_Q, mods)
    assert window.isVisible() and "再按一次" in controller.notice.text()
    clock.now += controller.EXIT_WINDOW_S + 1                # too late: the chord starts over
    qtbot.keyClick(window, Qt.Key.Key_Q, mods)
    assert window.isVisible() and not controller.exiting


def test_an_english_wall_says_what_is_on_and_what_comes_next_in_english(demo_db):
    _application()
    warehouse = LiveWarehouse(demo_db)
    window, controller, clock = _wall(warehouse, evaluate=False, lang="en")
    try:
        controller.jump(1)                     # the townships page: the first of three
        text = controller.status_text()
        assert text.startswith("Now: ") and " (1/3) · Social governance" in text
        assert "    Next: " in text and text.endswith(" (in 5 s)")
        assert not any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)
    finally:
        _close(window)
        warehouse.close()


def test_a_new_red_alert_interrupts_the_rotation_then_it_goes_on(demo_db, qtbot):
    app = _application()
    warehouse = LiveWarehouse(demo_db)
    window, controller, clock = _wall(warehouse, evaluate=False)   # an empty alert store
    try:
        window.resize(1280, 720)
        window.show()
        controller.jump(0)
        assert window.ctx.state.domain == "economy"
        window.ctx.alerts.evaluate(warehouse.snapshot)    # red alerts appear
        window.ctx.alerts_changed.emit()
        reds = window.ctx.alerts.list(open_only=True, severity="红")
        first = reds[0]
        state = window.ctx.state
        assert controller.carousel.in_alert_focus
        assert state.region == first.region
        if first.indicator:
            assert state.indicator == first.indicator
        assert "红色预警" in controller.progress.label.text()
        turns = controller.carousel.turns
        window.ctx.alerts_changed.emit()                   # nothing new: no second turn
        assert controller.carousel.turns == turns
        _advance(controller, clock, 20.5)                  # the focus is over
        assert not controller.carousel.in_alert_focus
        assert window.ctx.state.domain == "economy"        # back where it was
        # the wall leaves with the chord pressed twice
        mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        qtbot.keyClick(window, Qt.Key.Key_Q, mods)
        qtbot.keyClick(window, Qt.Key.Key_Q, mods)
        assert not window.isVisible()
    finally:
        if window.isVisible():
            _close(window)
        theme.set_text_floor(0)
        app.processEvents()
        warehouse.close()


@pytest.mark.parametrize("size, mode", [
    ((1920, 1080), "16:9"), ((3840, 2160), "16:9"), ((1366, 768), "laptop"),
    ((3840, 1080), "32:9"), ((7680, 2160), "32:9"), ((5760, 1080), "48:9")])
def test_the_layout_follows_the_wall_shape(size, mode):
    assert layout_for(*size) == mode


# -- pictures: every page at every wall size ---------------------------------------------------
class FontRecorder:
    """Every font a painter is given while the window renders, and every string drawn."""

    def __init__(self, monkeypatch):
        self.sizes: list[tuple[int, str]] = []
        self.texts: list[str] = []
        set_font, draw_text = QPainter.setFont, QPainter.drawText
        recorder = self

        def record_font(painter, font):
            px = font.pixelSize() if font.pixelSize() > 0 else round(font.pointSizeF() * 4 / 3)
            recorder.sizes.append((px, type(painter.device()).__name__))
            return set_font(painter, font)

        def record_text(painter, *args):
            recorder.texts += [a for a in args if isinstance(a, str)]
            return draw_text(painter, *args)

        monkeypatch.setattr(QPainter, "setFont", record_font)
        monkeypatch.setattr(QPainter, "drawText", record_text)

    def clear(self):
        self.sizes.clear()
        self.texts.clear()


_TEXT_WIDGETS = (QLabel, QAbstractButton, QLineEdit, QComboBox, QTabBar, QHeaderView,
                 QAbstractItemView)


def _widget_fonts(window):
    """(pixel size, widget) of every visible widget that shows text."""
    out = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, _TEXT_WIDGETS) or not widget.isVisibleTo(window):
            continue
        if isinstance(widget, QLabel) and not widget.text():
            continue
        font = widget.font()
        px = font.pixelSize() if font.pixelSize() > 0 else round(font.pointSizeF() * 4 / 3)
        out.append((px, widget))
    return out


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (7680, 2160), (5760, 1080)])
def test_no_text_on_a_wall_is_under_one_percent_of_its_height(wall, size, monkeypatch):
    window, controller, clock = wall
    app = _application()
    window.resize(*size)
    grab(window, app)
    floor = math.ceil(size[1] / 100)
    fonts = FontRecorder(monkeypatch)
    try:
        for index in range(len(controller.playlist.pages)):
            controller.jump(index)
            settle(window, app)        # settle at this page, then record one clean render
            fonts.clear()
            window.grab()
            small = sorted({px for px, _ in fonts.sizes if px < floor})
            assert not small, f"page {index + 1} at {size}: painted text of {small} px"
            widgets = [(px, type(w).__name__, w.objectName()) for px, w in _widget_fonts(window)
                       if px < floor]
            assert not widgets, f"page {index + 1} at {size}: {widgets[:5]}"
            assert fonts.sizes, "nothing was painted: the check saw nothing"
        # wide walls put more panels side by side instead of stretching the 16:9 grid
        body = window.body.geometry()
        if layout_for(*size) in ("32:9", "48:9"):
            controller.jump(0)
            grab(window, app)
            def left(widget):
                return widget.mapTo(window, QPoint(0, 0)).x()

            assert left(window.alerts) >= left(window.ranking) + window.ranking.width()
            assert left(window.events) == left(window.alerts)
            assert window.alerts.height() + window.events.height() > 0.8 * body.height()
            assert window.map.width() < 2.2 * window.map.height()
    finally:
        window.resize(1920, 1080)
        grab(window, app)


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1366, 768)])
def test_the_events_and_alerts_tables_end_on_a_whole_row(wall, size):
    """No half-cut last event or alert at the bottom of its panel: the rows fill the table's
    height (at 1920x1080 with the red banner up, the third alert was cut in half)."""
    window, controller, clock = wall
    app = _application()
    controller.jump(0)
    window.resize(*size)
    try:
        settle(window, app)
        for name, view in (("events", window.events.view), ("alerts", window.alerts.table)):
            height = view.viewport().height()
            rows = [view.visualRect(view.model().index(r, 0))
                    for r in range(view.model().rowCount())]
            # a row of which more than a quarter shows must show whole; what is left under the
            # last whole row is less than a quarter of a row (the rows' rounding)
            shown = [r for r in rows if height - r.top() > r.height() / 4]
            assert len(shown) >= 2, (name, size)
            assert all(r.bottom() < height for r in shown), f"{name} {size}: a row is cut"
            if len(shown) < len(rows):     # more rows than fit: they fill the height
                assert height - 1 - shown[-1].bottom() < shown[-1].height() / 4, (name, size)
    finally:
        window.resize(1920, 1080)
        settle(window, app)


def test_under_the_last_whole_event_row_is_ground_not_a_sliver_of_the_next(demo_db, qtbot):
    """At 7680x2160 the rows' rounding leaves 6 px under the last whole event row: it showed
    the top of the next row's status pill (a cut row, from across the room)."""
    app = _application()
    warehouse = LiveWarehouse(demo_db)
    q = warehouse.queries
    state = replace(initial_state(q), region=TOWNSHIP_CODES["桃溪镇"])
    window = build_window(warehouse, state, evaluate=False, size=(7680, 2160))
    qtbot.addWidget(window)
    try:
        window.resize(7680, 2160)
        window.show()
        grab(window, app)
        view = window.events.view
        height, row = view.viewport().height(), view.verticalHeader().defaultSectionSize()
        assert view.model().rowCount() * row > height and height % row   # a sliver to look at
        image = view.viewport().grab().toImage()
        ratio = image.devicePixelRatio()
        below = {image.pixelColor(round(x * ratio), round(y * ratio)).name()
                 for x in range(view.viewport().width()) for y in range(height // row * row,
                                                                         height)}
        assert below == {theme.PANEL.lower()}, below
    finally:
        window.close()
        warehouse.close()


def test_a_laptop_shows_four_alerts_and_four_events(demo_db, qtbot):
    app = _application()
    warehouse = LiveWarehouse(demo_db)
    window = build_window(warehouse, evaluate=False)
    qtbot.addWidget(window)
    try:
        window.ctx.alerts.evaluate(warehouse.snapshot)
        window.ctx.alerts_changed.emit()
        window.resize(1366, 768)
        window.show()
        grab(window, app)
        assert window.layout_mode == "laptop"

        def whole_rows(view, rows):
            viewport = view.viewport().rect()
            return sum(viewport.contains(view.visualRect(view.model().index(r, 0)))
                       for r in range(rows))

        assert window.alerts.row_count() >= 4
        assert whole_rows(window.alerts.table, window.alerts.row_count()) >= 4
        assert whole_rows(window.events.view, window.events.row_count()) >= 4
    finally:
        window.close()
        warehouse.close()


def test_the_public_profile_shows_no_internal_indicator_anywhere(demo_db, monkeypatch):
    app = _application()
    warehouse = LiveWarehouse(demo_db)
    q = warehouse.queries
    internal = [i for i in q.indicators if i.sensitivity == "internal"]
    assert internal, "the demo catalogue has internal indicators to hide"
    text = PLAYLIST + "".join(f'\n[[page]]\nkind = "domain"\ndomain = "{d}"\n'
                              for d in ("总览", "市场监管", "生态环境", "公共服务", "政务运行"))
    window, controller, clock = _wall(warehouse, public=True, text=text)
    fonts = FontRecorder(monkeypatch)
    try:
        window.resize(1920, 1080)
        window.show()
        assert window.header.profile_label.isVisible()
        assert window.header.profile_label.text() == "公开版"
        for index in range(len(controller.playlist.pages)):
            controller.jump(index)
            settle(window, app)
            fonts.clear()
            window.grab()
            shown = list(fonts.texts) + _visible_texts(window)
            for ind in internal:
                hits = [s for s in shown if ind.name in s or ind.code in s]
                assert not hits, f"page {index + 1}: {ind.name} shown in {hits[:3]}"
        names = window.header.search.completer().model().stringList()
        assert not set(names) & {i.name for i in internal}
    finally:
        _close(window)
        app.processEvents()
        warehouse.close()


def _visible_texts(window) -> list[str]:
    """Labels, buttons, tooltips and the cells of every visible table."""
    out = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window):
            continue
        out.append(widget.toolTip())
        for getter in ("text", "placeholderText"):
            value = getattr(widget, getter, None)
            if callable(value):
                try:
                    result = value()
                except TypeError:
                    continue
                if isinstance(result, str):
                    out.append(result)
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for r in range(model.rowCount()):
                for c in range(model.columnCount()):
                    index = model.index(r, c)
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        value = model.data(index, role)
                        if isinstance(value, str):
                            out.append(value)
    return out


def test_preview_renders_every_page_of_a_playlist(demo_db, tmp_path, capsys):
    playlist = tmp_path / "wall.toml"
    playlist.write_text(PLAYLIST, encoding="utf-8")
    out = tmp_path / "preview"
    code = cli.main(["wall", "--db", str(demo_db), "--playlist", str(playlist),
                     "--preview", str(out), "--size", "1280x720"])
    assert code == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["01-domain-economy.png", "02-townships-governance.png", "03-alerts.png",
                    "04-detail.png", "05-township-environment.png", "06-plan.png"]
    from PySide6.QtGui import QImage

    image = QImage(str(out / pngs[0]))
    assert (image.width(), image.height()) == (1280, 720)
    assert theme.text_floor() == 0      # the wall's floor does not outlive it


def test_a_wrong_playlist_is_one_line_and_exit_2(demo_db, tmp_path, capsys):
    playlist = tmp_path / "wall.toml"
    playlist.write_text('[[page]]\nkind = "township"\ntownship = "桃溪"\n', encoding="utf-8")
    code = cli.main(["wall", "--db", str(demo_db), "--playlist", str(playlist),
                     "--preview", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert code == 2 and f"{playlist} 第 3 行" in err and "桃溪镇" in err
    assert len(err.strip().splitlines()) == 1
