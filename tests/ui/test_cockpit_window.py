"""The whole cockpit: every entry point selects a township everywhere, and the rendered window shows it."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import date, timedelta

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from cockpit.core import formatting as fmt
from cockpit.ui import theme
from cockpit.ui.app import _application, grab, initial_state
from cockpit.warehouse.demo import TOWNSHIP_CODES
from tests.windows import open_window

TAOXI = TOWNSHIP_CODES["桃溪镇"]
TONGQIN = TOWNSHIP_CODES["桐琴镇"]


@pytest.fixture(scope="module")
def shared_window(demo_db, tmp_path_factory):
    """One window for the module (built without alert evaluation: no test here is about
    alerts); each test gets it back as it first opened."""
    with open_window(demo_db, tmp_path_factory.mktemp("home")) as win:
        yield win


@pytest.fixture
def window(shared_window, qtbot):
    win = shared_window
    win.period_bar.play_button.setChecked(False)
    win.show_cockpit()
    win.ctx.selection.restart(initial_state(win.ctx.queries))
    qtbot.waitExposed(win)
    return win


def assert_everywhere(win, code: str) -> None:
    """Every panel's visible state shows the selected township."""
    name = win.ctx.region_name(code)
    assert win.ctx.state.region == code
    assert win.map.highlighted_region == code
    assert win.ranking.highlighted_region == code
    assert name in win.kpis.title_text()
    assert name in win.trend.series_names()
    assert win.events.region_filter == code
    assert set(win.events.row_regions()) <= {code}
    assert win.header.plain_breadcrumb().endswith(f"› {name}")


def test_starts_on_the_county_with_latest_month(window):
    state = window.ctx.state
    assert state.region == window.ctx.county_code
    assert state.period == date(2025, 12, 1)
    assert window.map.highlighted_region is None
    assert window.header.plain_breadcrumb() == "武义县"
    assert len(window.kpis.cards) >= 6


def test_map_click_selects_everywhere(window, qtbot):
    view = window.map
    pos = view.widget_pos_of(TAOXI)
    target = view.childAt(pos) or view
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(view, pos))
    assert_everywhere(window, TAOXI)


def test_ranking_bar_click_selects_everywhere(window, qtbot):
    pos = window.ranking.widget_pos_of(TONGQIN)
    target = window.ranking.childAt(pos) or window.ranking
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(window.ranking, pos))
    assert_everywhere(window, TONGQIN)


def test_kpi_card_click_sets_the_indicator_everywhere(window, qtbot):
    window.ctx.select(region=TAOXI)
    card = window.kpis.cards[1]
    code = card.indicator_code
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    assert window.ctx.state.indicator == code
    assert card.selected
    name = window.ctx.indicator(code).name
    assert name in window.trend.title_text
    assert_everywhere(window, TAOXI)


def test_search_box_selects_townships_and_indicators(window, qtbot):
    # Its completions are listed once the window has painted: every township and indicator.
    model = window.header.search.completer().model()
    qtbot.waitUntil(lambda: "桃溪镇" in model.stringList(), timeout=5000)
    assert "PM2.5平均浓度" in model.stringList()
    window.header.search.setText("桃溪")
    qtbot.keyClick(window.header.search, Qt.Key.Key_Return)
    assert_everywhere(window, TAOXI)
    window.header.search.setText("PM2.5")
    qtbot.keyClick(window.header.search, Qt.Key.Key_Return)
    assert window.ctx.state.indicator == "env_pm25"


def test_keyboard_steps_through_townships_and_escape_returns_to_county(window, qtbot):
    window.activateWindow()
    window.ctx.select(region=TAOXI)
    window.step_township(+1)
    following = [t.code for t in window.ctx.queries.townships]
    expected = following[following.index(TAOXI) + 1]
    assert_everywhere(window, expected)
    window.escape()
    assert window.ctx.state.region == window.ctx.county_code
    assert window.map.highlighted_region is None


def test_period_slider_moves_every_panel(window):
    months = window.ctx.queries.months
    window.period_bar.slider.setValue(months.index(date(2025, 6, 1)))
    assert window.ctx.state.period == date(2025, 6, 1)
    assert window.trend.marker_period == date(2025, 6, 1)
    assert "2025年6月" in window.period_bar.current_label.text()
    assert "2025年6月" in window.map.title_text()


def test_play_advances_months_without_filling_history(window):
    months = window.ctx.queries.months
    window.ctx.select(period=months[-3])
    window.period_bar.play_button.setChecked(True)
    window.period_bar.step()
    assert window.ctx.state.period == months[-2]
    window.period_bar.step()
    assert window.ctx.state.period == months[-1]
    assert not window.period_bar.playing
    # playback is not history: one step back undoes the user's own period choice
    assert window.ctx.selection.back()
    assert window.ctx.state.period == months[-1]
    assert not window.ctx.selection.can_go_back


def test_back_and_forward_like_a_browser(window):
    window.ctx.select(region=TAOXI)
    window.ctx.select(region=TONGQIN)
    window.header.back_button.click()
    assert_everywhere(window, TAOXI)
    window.header.forward_button.click()
    assert_everywhere(window, TONGQIN)


def test_domain_tab_shows_that_domains_indicators(window):
    window.header.tabs.setCurrentIndex(3)  # 生态环境
    assert window.ctx.state.domain == "environment"
    assert all(window.ctx.indicator(c.indicator_code).domain == "environment"
               for c in window.kpis.cards)
    assert window.ctx.indicator().domain == "environment"


def test_detail_page_opens_and_escape_returns(window):
    window.ctx.detail_requested.emit(TAOXI)
    assert window.showing_detail
    assert window.detail.region == TAOXI
    window.escape()
    assert not window.showing_detail


def _color_present(image: QImage, hex_: str, tolerance: int = 40) -> int:
    arr = _array(image)
    target = QColor(hex_)
    d = (np.abs(arr[..., 0].astype(int) - target.red()) + np.abs(arr[..., 1].astype(int)
         - target.green()) + np.abs(arr[..., 2].astype(int) - target.blue()))
    return int((d < tolerance).sum())


def _array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : w * 3].reshape(h, w, 3).copy()  # the converted image dies on return


def test_rendered_window_shows_the_highlight_a_real_map_and_real_glyphs(window):
    window.ctx.select(region=TAOXI, indicator="env_pm25", domain="environment")
    image = grab(window, _application())
    # the map is not blank: many distinct colours inside the map panel
    top_left = window.map.mapTo(window, QPoint(0, 0))
    map_img = image.copy(top_left.x(), top_left.y(), window.map.width(), window.map.height())
    colours = np.unique(_array(map_img).reshape(-1, 3), axis=0)
    assert len(colours) > 200
    # the highlight colour sits on 桃溪镇's border inside the map
    assert _color_present(map_img, theme.HIGHLIGHT) > 50
    # KPI text is real glyphs, not the font's missing-glyph box
    card = window.kpis.cards[0]
    name = window.ctx.indicator(card.indicator_code).name
    font = theme.font(32)
    missing = _glyph(font, "\U000F0000")
    for ch in name:
        assert not np.array_equal(_glyph(font, ch), missing), f"{ch!r} renders as a box"


def _glyph(font: QFont, ch: str) -> np.ndarray:
    img = QImage(48, 48, QImage.Format.Format_RGB888)
    img.fill(QColor("black"))
    p = QPainter(img)
    p.setFont(font)
    p.setPen(QColor("white"))
    p.drawText(4, 38, ch)
    p.end()
    return _array(img).copy()


def test_idle_read_ahead_leaves_first_selections_nothing_to_query(window, qtbot):
    """Left alone, the cockpit reads every township, every event and every indicator ahead;
    then a first click on any township, a new indicator and another month are answered
    without the warehouse, and the new indicator starts the read-ahead again."""
    qtbot.waitUntil(lambda: window.prewarmer.done, timeout=20000)
    q = window.ctx.queries
    reads = q.reads
    for code in TOWNSHIP_CODES.values():
        window.ctx.select(region=code)
        assert_everywhere(window, code)
    assert q.reads == reads
    others = [i for i in window.ctx.visible_indicators()
              if i.code != window.ctx.state.indicator and not i.county_only]
    window.ctx.select(indicator=others[-1].code)
    assert window.trend.title_text.startswith(others[-1].name)
    assert q.reads == reads, "an indicator change asked the warehouse"
    earlier = q.months[-7]
    window.ctx.select(period=earlier)
    assert window.events.period_window[1] <= earlier.replace(day=28) + timedelta(days=4)
    assert q.reads == reads, "a month's events were asked of the warehouse"
    assert not window.prewarmer.done
    qtbot.waitUntil(lambda: window.prewarmer.done, timeout=20000)


@pytest.mark.parametrize("resting_on", ["county", TAOXI])
def test_idle_read_ahead_draws_what_a_first_click_repaints(window, qtbot, resting_on):
    """Resting on the county or on a township, the cockpit also draws the event rows (in a
    township's columns), ranking rows and trend chart (against a township's axes) a click on
    another township repaints: first clicks then copy pictures, as repeats do."""
    app = _application()
    rest = window.ctx.view_code if resting_on == "county" else resting_on
    window.ctx.select(region=rest)
    grab(window, app)
    qtbot.waitUntil(lambda: window.prewarmer.done, timeout=20000)
    # townships two or more rows apart in the ranking, none visited yet
    order = [code for _, code, *_ in window.ranking.table_rows()]
    codes = [c for c in order[::3] if c != rest][:5]
    assert len(codes) == 5
    pictures = (window.events.view.pictures, window.ranking.chart.strips,
                window.trend.chart.pictures)
    before = [kept.drawn for kept in pictures]
    titles = (window.events.title, window.events.counts_label)
    laid_out = [title.laid_out for title in titles]
    for code in codes:
        window.ctx.select(region=code)
        app.sendPostedEvents()
        app.processEvents()
        assert window.events.region_filter == code
    assert [kept.drawn for kept in pictures] == before
    assert [title.laid_out for title in titles] == laid_out   # the events' title and counts
    # and what was drawn ahead is what drawing afresh gives
    page = window.pages.geometry().translated(window.body.mapTo(window, QPoint(0, 0)))
    on_screen = _array(app.primaryScreen().grabWindow(window.winId()).toImage().copy(page))
    for kept in pictures:
        kept.clear()
    afresh = _array(window.grab(page).toImage())
    drawn = [kept.drawn for kept in pictures]
    assert drawn[0] > before[0] and drawn[2] > before[2]   # (the ranking repaints whole)
    differ = np.abs(on_screen.astype(int) - afresh.astype(int)).max(axis=2) > 2
    assert differ.sum() == 0, np.argwhere(differ)[:5]


def test_idle_read_ahead_paints_the_cards_of_the_months_either_side(window, qtbot, monkeypatch):
    """Resting, the cockpit also paints the selected place's cards for the next month and the
    one before: a step with ▶ (or playback) or ◀ copies them rather than drawing six cards."""
    from cockpit.ui.kpi_panel import KpiCard

    app = _application()
    months = window.ctx.queries.months
    window.ctx.select(region=TAOXI, period=months[-3])
    grab(window, app)
    qtbot.waitUntil(lambda: window.prewarmer.done, timeout=20000)
    painted = []
    paint_figures = KpiCard._paint_figures
    monkeypatch.setattr(KpiCard, "_paint_figures", lambda card, *args: (
        painted.append(card.indicator_code), paint_figures(card, *args))[1])
    for month in (months[-2], months[-3], months[-4]):   # ▶, then ◀ twice
        window.ctx.select(period=month)
        app.sendPostedEvents()
        app.processEvents()
        card = window.kpis.cards[0]
        assert card.data.period <= month and card.isVisible()
        figure = window.ctx.queries.kpis(TAOXI, [card.indicator_code], month)
        assert card.data.value == figure[card.indicator_code].value
    assert painted == []


def test_a_selection_paints_the_window_once_and_leaves_what_a_full_repaint_draws(window):
    """One backing-store pass per selection (the scenes, tables and layouts no longer add
    passes of their own), and the partial repaints (two ranking rows, cached pills and axes)
    leave on screen exactly what painting the whole window draws."""
    from cockpit.bench.floor import PaintCounter

    app = _application()
    for code in (TAOXI, TONGQIN):   # first visits show what the county view hides (a second axis)
        window.ctx.select(region=code)
    grab(window, app)
    passes = []
    with PaintCounter(app, window) as counter:
        for code in (TAOXI, TONGQIN, TAOXI, TONGQIN):
            counter.reset()
            window.ctx.select(region=code)
            app.sendPostedEvents()
            app.processEvents()
            passes.append(counter.passes)
    assert passes == [1, 1, 1, 1]
    # The panels' grid (the header's caret blinks and the alert ticker scrolls on their own)
    page = window.pages.geometry().translated(window.body.mapTo(window, QPoint(0, 0)))
    on_screen = _array(app.primaryScreen().grabWindow(window.winId()).toImage().copy(page))
    repainted = _array(window.grab(page).toImage())
    differ = np.abs(on_screen.astype(int) - repainted.astype(int)).max(axis=2) > 2
    assert differ.sum() == 0, np.argwhere(differ)[:5]


def test_stepping_through_the_months_does_not_lay_the_window_out_again(window):
    """A month's new texts (the period bar's month, the ranking's period, the events' note)
    fit the room their labels keep: once the widest has been shown, a month step asks no
    layout of the window (a relayout reaches every panel's geometry), unless the events'
    note comes or goes (the list is a line shorter or longer)."""
    from PySide6.QtCore import QEvent, QObject

    app = _application()
    months = window.ctx.queries.months[-12:]
    for month in months:   # the labels meet their widest texts
        window.ctx.select(record=False, period=month)
    grab(window, app)
    requests, notes = [], []

    class Filter(QObject):
        def eventFilter(self, obj, event):   # noqa: N802 — Qt's name
            if event.type() == QEvent.Type.LayoutRequest and obj is window:
                requests.append(window.ctx.state.period)
            return False
    seen = Filter()
    app.installEventFilter(seen)
    try:
        for month in months:
            shown = window.events.note.isVisible()
            window.ctx.select(record=False, period=month)
            app.sendPostedEvents()
            app.processEvents()
            if window.events.note.isVisible() != shown:
                notes.append(month)
    finally:
        app.removeEventFilter(seen)
    assert len(notes) < len(months) and requests == notes
    # and every month's texts are shown where they were
    assert window.period_bar.current_label.text() == fmt.month_label(months[-1], "zh_CN")
    for month in months:
        window.ctx.select(record=False, period=month)
        note = window.events.note
        total = sum(window.events.counts.values())
        if total > window.events.model.rowCount():
            assert note.isVisible() and f"共 {total} 件" in note.text()


class _PaintsSeen:
    """The widgets of a window that received a paint event while installed."""

    def __init__(self, app, window):
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QWidget

        class Filter(QObject):
            def eventFilter(inner, obj, event):   # noqa: N805
                if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) \
                        and obj.window() is window:
                    self.painted.append(obj)
                return False
        self.app, self.painted, self._filter = app, [], Filter()

    def __enter__(self):
        self.app.installEventFilter(self._filter)
        return self

    def __exit__(self, *exc):
        self.app.removeEventFilter(self._filter)

    def any_in(self, widget) -> bool:
        return any(w is widget or widget.isAncestorOf(w) for w in self.painted)


def test_panel_titles_show_their_accent_bar_and_whole_text(window):
    """Titles paint their own ground (they are opaque): the style sheet's accent bar on the
    left and the text, not clipped, must still be there."""
    from cockpit.ui.panel import TitleLabel

    app = _application()
    window.ctx.select(region=window.ctx.queries.county.code)   # the widest event counts first
    grab(window, app)
    window.ctx.select(region=TAOXI)
    image = grab(window, app)
    # at 1920 px the events' title and its counts fit on one line: the title is not cut short
    # (a title cut short carries its whole text as a tooltip)
    assert window.events.title.toolTip() == "", window.events.title.toolTip()
    accent = QColor("#2fd0ff")
    for panel in (window.kpis, window.map, window.trend, window.ranking, window.events):
        title = panel.findChild(TitleLabel)
        middle = title.mapTo(window, QPoint(1, title.height() // 2))
        assert QColor(image.pixel(middle)).name() == accent.name(), type(panel).__name__
        # the text's ink lies inside the label, with ground above and below it
        top = title.mapTo(window, QPoint(0, 0))
        rows = [y for y in range(title.height())
                if any(QColor(image.pixel(top.x() + x, top.y() + y)).lightness() > 140
                       for x in range(12, min(title.width(), 200)))]
        assert rows and rows[0] > 0 and rows[-1] < title.height() - 1, type(panel).__name__


def test_what_the_window_shows_after_selections_is_what_it_would_paint_afresh(window):
    """Panels repaint only what changed, over their own ground (titles, the ranking's rows,
    the tables' viewports are opaque): after a run of selections the screen (the window's
    backing store) must hold exactly the picture a full repaint gives, nothing left over from
    a previous township. (Below the header, whose clock ticks between the two grabs.)"""
    app = _application()
    page = window.pages.currentWidget()
    area = page.geometry().translated(page.parentWidget().mapTo(window, QPoint(0, 0)))
    codes = [TAOXI, TONGQIN, TOWNSHIP_CODES["三港乡"], TAOXI, window.ctx.queries.county.code,
             TOWNSHIP_CODES["柳城畲族镇"]]
    for code in codes:
        window.ctx.select(region=code)
        app.sendPostedEvents()
        app.processEvents()
    shown = window.screen().grabWindow(window.winId()).toImage().copy(area)
    afresh = window.grab().toImage().copy(area)
    assert shown.size() == afresh.size() and not shown.isNull()
    assert shown.convertToFormat(QImage.Format.Format_RGB32) == \
        afresh.convertToFormat(QImage.Format.Format_RGB32)


def test_a_change_repaints_only_the_panels_it_changed_and_nothing_behind_them(window):
    """Panels paint their own ground, so the window's containers behind them are not
    repainted; a panel whose content did not change is not repainted at all: another
    indicator leaves the events and the alert list alone, and another township with the
    same (here: no) alerts leaves the alert table alone."""
    app = _application()
    window.ctx.select(region=TAOXI)
    grab(window, app)
    other = next(i.code for i in window.ctx.visible_indicators()
                 if i.code != window.ctx.state.indicator and not i.county_only)
    with _PaintsSeen(app, window) as seen:
        window.ctx.select(indicator=other)
        app.sendPostedEvents()
        app.processEvents()
    assert seen.any_in(window.map) and seen.any_in(window.trend)   # what the change shows
    assert not seen.any_in(window.events) and not seen.any_in(window.alerts)
    page = window.pages.currentWidget()
    assert page not in seen.painted and window not in seen.painted

    assert window.alerts.row_count() == 0   # (built without alert evaluation)
    with _PaintsSeen(app, window) as seen:
        window.ctx.select(region=TONGQIN)
        app.sendPostedEvents()
        app.processEvents()
    assert seen.any_in(window.events) and seen.any_in(window.kpis)
    assert not seen.any_in(window.alerts.table)
    # What changes inside them paints its own ground (a new title, the ranking's two rows, the
    # map): the panels' styled frames are not painted again behind it.
    assert seen.any_in(window.ranking) and seen.any_in(window.map)
    for panel in (window.kpis, window.ranking, window.map, window.trend):
        assert panel not in seen.painted, type(panel).__name__
    assert page not in seen.painted   # (the header's new breadcrumb repaints the window's top)
