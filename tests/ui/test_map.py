"""The township map: colours, click to select, recolour without new paths, holes, legend, pixels."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import date

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QImage
from shapely.geometry import MultiPolygon, Polygon, box

from cockpit.core.selection import Selection, SelectionState
from cockpit.geo.index import RegionIndex
from cockpit.ui.map import items as map_module
from cockpit.ui import theme
from cockpit.ui.context import CockpitContext
from cockpit.core.ranking import ranks
from cockpit.ui.map import ChoroplethItem, MapPanel, classify
from tests.scene_render import render_item
from cockpit.warehouse.demo import build_demo
from cockpit.warehouse.queries import Queries
from cockpit.warehouse.store import open_current

DECEMBER = date(2025, 12, 1)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("map") / "wh"
    build_demo(path, end=date(2025, 12, 1))
    return path


@pytest.fixture(scope="module")
def queries(warehouse) -> Queries:
    return Queries(open_current(warehouse))


@pytest.fixture
def ctx(queries):
    selection = Selection(SelectionState(region=queries.county.code, indicator="env_pm25",
                                         period=DECEMBER, domain="overview"))
    context = CockpitContext(queries, selection)
    yield context
    context.close()


@pytest.fixture
def panel(ctx, qtbot):
    widget = MapPanel(ctx)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close()
    widget.deleteLater()
    qtbot.wait(1)


def code_of(queries: Queries, name: str) -> str:
    return next(r.code for r in queries.townships if r.name == name)


def click(qtbot, panel: MapPanel, pos: QPoint, double: bool = False) -> None:
    target = panel.childAt(pos) or panel
    action = qtbot.mouseDClick if double else qtbot.mouseClick
    action(target, Qt.MouseButton.LeftButton, pos=target.mapFrom(panel, pos))


def pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def near(rgb: np.ndarray, hex_: str, tol: int = 40) -> np.ndarray:
    c = QColor(hex_)
    target = np.array([c.red(), c.green(), c.blue()])
    return np.abs(rgb.astype(int) - target).max(axis=-1) <= tol


# ------------------------------------------------------------------------------ drawing
def test_the_map_shows_all_18_townships_in_class_colours(panel):
    colors = panel.colors
    assert len(colors) == 18
    palette = set(theme.CLASS_COLORS_GOOD_HIGH)
    assert set(colors.values()) <= palette
    assert len(set(colors.values())) == 5


def test_every_township_has_a_label_and_the_title_names_indicator_and_month(panel, queries):
    assert panel.title_text() == "PM2.5平均浓度 · 2025年12月"
    labels = panel.labels_selected
    assert set(labels) == {r.code for r in queries.townships}
    assert not any(labels.values())


def test_the_schematic_note_is_shown_for_the_demo_boundaries(panel):
    assert panel.schematic_note_visible


# ------------------------------------------------------------------------------ selection
def test_clicking_a_township_selects_it_and_moves_the_highlight(panel, ctx, queries, qtbot):
    yuyuan = code_of(queries, "俞源乡")
    click(qtbot, panel, panel.widget_pos_of(yuyuan))
    assert ctx.state.region == yuyuan
    assert panel.highlighted_region == yuyuan
    assert panel.highlight.isVisible()
    assert panel.highlight.path is panel.choropleth.path(yuyuan)
    assert panel.labels_selected[yuyuan]


def test_clicking_outside_the_county_selects_the_county(panel, ctx, queries, qtbot):
    ctx.select(region=code_of(queries, "桃溪镇"))
    corner = panel.map_widget.mapTo(panel, QPoint(3, 3))
    assert panel.region_at(corner) is None
    click(qtbot, panel, corner)
    assert ctx.state.region == ctx.county_code
    assert panel.highlighted_region is None
    assert not panel.highlight.isVisible()


def test_double_click_asks_for_the_township_detail(panel, ctx, queries, qtbot):
    tongqin = code_of(queries, "桐琴镇")
    with qtbot.waitSignal(ctx.detail_requested, timeout=1000) as blocker:
        click(qtbot, panel, panel.widget_pos_of(tongqin), double=True)
    assert blocker.args == [tongqin]


def test_selection_from_elsewhere_moves_only_the_highlight(panel, ctx, queries, monkeypatch):
    calls = []
    monkeypatch.setattr(panel.choropleth, "set_colors", lambda *a: calls.append(a))
    taoxi = code_of(queries, "桃溪镇")
    ctx.select(region=taoxi)
    assert panel.highlighted_region == taoxi
    assert calls == []


def test_region_at_finds_every_township_at_its_widget_point(panel, queries, monkeypatch):
    located = []
    original = panel.index.locate
    monkeypatch.setattr(panel.index, "locate", lambda x, y: located.append(1) or original(x, y))
    for township in queries.townships:
        assert panel.region_at(panel.widget_pos_of(township.code)) == township.code
    assert len(located) == 18


# ------------------------------------------------------------------------------ recolour
def test_changing_the_indicator_recolours_without_rebuilding_paths(panel, ctx, monkeypatch):
    paths = dict(panel.choropleth.paths)
    before = panel.colors
    built = []
    monkeypatch.setattr(map_module, "rings_to_path",
                        lambda rings: built.append(rings) or pytest.fail("path rebuilt"))
    ctx.select(indicator="env_aqi_good")
    assert panel.colors != before
    assert built == []
    after = panel.choropleth.paths
    assert after.keys() == paths.keys()
    assert all(after[code] is paths[code] for code in paths)
    assert "空气质量优良" in panel.title_text() or "AQI" in panel.title_text()


def test_changing_the_period_updates_title_and_colours(panel, ctx):
    ctx.select(period=date(2025, 6, 1))
    assert "2025年6月" in panel.title_text()
    assert len(panel.colors) == 18


def test_recolour_regroups_by_colour_and_keeps_one_group_per_colour(panel, ctx, qtbot):
    ctx.select(indicator="env_aqi_good")
    panel.map_widget.repaint()
    groups = panel.choropleth.paint_groups
    assert groups is not None
    assert len(groups) == len(set(panel.colors.values()))
    assert sum(n for _, n in groups) == 18


def test_an_indicator_without_township_figures_shows_no_data(panel, ctx):
    ctx.select(indicator="eco_project_progress")   # reported for the county only
    assert set(panel.colors.values()) == {theme.NO_DATA}
    assert panel.legend_entries == [("无数据", theme.NO_DATA)]


# ------------------------------------------------------------------------------ legend
def test_legend_for_lower_is_better_gives_the_lowest_class_the_best_colour(panel, ctx):
    entries = panel.legend_entries                  # top to bottom: highest values first
    assert entries[-1][0].startswith("<")
    assert entries[-1][1] == theme.CLASS_COLORS_GOOD_HIGH[-1]
    assert entries[0][0].startswith("≥")
    assert entries[0][1] == theme.CLASS_COLORS_GOOD_HIGH[0]
    tv = ctx.queries.township_values("env_pm25", DECEMBER)
    cleanest = tv.regions[int(np.argmin(tv.values))]
    dirtiest = tv.regions[int(np.argmax(tv.values))]
    assert panel.colors[cleanest] == theme.CLASS_COLORS_GOOD_HIGH[-1]
    assert panel.colors[dirtiest] == theme.CLASS_COLORS_GOOD_HIGH[0]


def test_legend_for_higher_is_better_gives_the_highest_class_the_best_colour(panel, ctx):
    ctx.select(indicator="env_aqi_good")
    entries = panel.legend_entries
    assert entries[0][0].startswith("≥")
    assert entries[0][1] == theme.CLASS_COLORS_GOOD_HIGH[-1]
    assert entries[-1][1] == theme.CLASS_COLORS_GOOD_HIGH[0]


def test_legend_for_a_neutral_indicator_uses_light_for_high(panel, ctx):
    ctx.select(indicator="gov_events_received")
    entries = panel.legend_entries
    assert entries[0][1] == theme.CLASS_COLORS_NEUTRAL[-1]
    assert entries[-1][1] == theme.CLASS_COLORS_NEUTRAL[0]


def test_classify_rounds_breaks_and_keeps_every_class_populated():
    values = np.array([25.5, 29.5, 29.7, 31.0, 32.3, 32.7, 34.1, 34.9, 35.3, 35.5, 36.2, 36.6,
                       36.9, 37.0, 37.1, 38.7, 38.8, 41.1, np.nan])
    classes = classify(values, "lower")
    assert len(classes.colors) == 5
    assert all(float(b).is_integer() for b in classes.breaks)
    counts = np.bincount([classes.class_of(v) for v in values[np.isfinite(values)]], minlength=5)
    assert (counts > 0).all()
    assert classes.color_of(np.nan) == theme.NO_DATA
    assert classify([3.0, 3.0], "higher").labels == ("3",)
    assert classify([np.nan], "higher").colors == ()
    tied = classify([0, 0, 0, 0, 0, 0, 0, 5], "lower")   # quantiles all at the minimum
    assert len(tied.colors) == 2 and tied.class_of(0) == 0 and tied.class_of(5) == 1


def test_ranks_follow_polarity_share_ties_and_skip_missing():
    values = [3.0, 1.0, 2.0, 2.0, np.nan]
    assert list(ranks(values, "lower")) == [4, 1, 2, 2, 0]
    assert list(ranks(values, "higher")) == [1, 4, 2, 2, 0]
    assert list(ranks(values, "neutral")) == [1, 4, 2, 2, 0]   # by value, largest first


# ------------------------------------------------------------------------------ hover, events
def test_hover_text_gives_value_rank_and_year_on_year_change(panel, ctx, queries):
    tv = queries.township_values("env_pm25", DECEMBER)
    cleanest = tv.regions[int(np.argmin(tv.values))]
    text = panel.hover_text(cleanest)
    assert queries.region_by_code[cleanest].name in text
    assert "μg/m³" in text
    assert "第1/18名" in text
    assert "同比" in text


def test_moving_the_mouse_over_a_township_shows_its_card(panel, queries, qtbot):
    taoxi = code_of(queries, "桃溪镇")
    pos = panel.widget_pos_of(taoxi)
    qtbot.mouseMove(panel.map_widget, panel.map_widget.mapFrom(panel, pos))
    qtbot.waitUntil(lambda: panel.hover_card[0] == taoxi, timeout=1000)
    assert "桃溪镇" in panel.hover_card[1]


def test_event_points_layer_shows_the_selected_months_events(panel, ctx, queries):
    assert not panel.events_visible
    panel.set_events_visible(True)
    assert panel.events_visible
    points = queries.event_points(DECEMBER, date(2026, 1, 1))
    assert sum(panel.event_point_counts.values()) == len(points["lon"])
    ctx.select(period=date(2025, 11, 1))
    november = queries.event_points(date(2025, 11, 1), DECEMBER)
    assert sum(panel.event_point_counts.values()) == len(november["lon"])
    panel.set_events_visible(False)
    assert not panel.events_visible


# ------------------------------------------------------------------------------ holes
def test_a_township_with_a_hole_keeps_its_hole_and_parts_stay_apart(qapp):
    ring = Polygon([(0, 0), (0.1, 0), (0.1, 0.1), (0, 0.1)],
                   holes=[[(0.03, 0.03), (0.07, 0.03), (0.07, 0.07), (0.03, 0.07)]])
    islands = MultiPolygon([box(0.12, 0.0, 0.2, 0.03), box(0.12, 0.07, 0.2, 0.1)])
    index = RegionIndex({"ring": ring, "islands": islands}, origin=(0.1, 0.05))
    item = ChoroplethItem()
    item.set_geometry({code: index.rings(code) for code in index.codes})
    item.set_colors({"ring": "#ff0000", "islands": "#00ff00"})
    bounds = item.boundingRect()
    square = QRectF(bounds.center().x() - bounds.width() / 2,
                    bounds.center().y() - bounds.width() / 2, bounds.width(), bounds.width())
    image = render_item(item, square)

    def pixel_at(lon: float, lat: float) -> str:
        x, y = index.project(lon, lat)
        px = (x - square.left()) / square.width() * image.width()
        py = (-y - square.top()) / square.height() * image.height()
        return image.pixelColor(int(px), int(py)).name()

    assert pixel_at(0.05, 0.05) == "#000000"      # the hole's centre is background
    assert pixel_at(0.015, 0.05) == "#ff0000"     # the ring around it is filled
    assert pixel_at(0.16, 0.015) == "#00ff00"     # both parts are drawn ...
    assert pixel_at(0.16, 0.085) == "#00ff00"
    assert pixel_at(0.16, 0.05) == "#000000"      # ... and the gap between them is not


# ------------------------------------------------------------------------------ pixels
def test_rendered_map_shows_the_highlight_on_the_selected_border_and_is_not_blank(
        panel, ctx, queries, qtbot):
    taoxi = code_of(queries, "桃溪镇")
    ctx.select(region=taoxi)
    qtbot.wait(10)
    rgb = pixels(panel.grab().toImage())

    # not blank: the class colours are all there, with many shades in between
    flat = rgb.reshape(-1, 3)
    assert len(np.unique(flat, axis=0)) > 200
    for hex_ in set(panel.colors.values()):
        assert near(rgb, hex_, tol=6).sum() > 200, hex_

    # the highlight colour sits on 桃溪镇's border and nowhere near another township's
    def border_hits(code: str) -> float:
        exterior = panel.index.rings(code)[0][0][::3]
        hits = 0
        for x, y in exterior:
            viewport = panel.map_widget_pos(x, y)
            p = panel.map_widget.mapTo(panel, viewport)
            patch = rgb[max(0, p.y() - 2): p.y() + 3, max(0, p.x() - 2): p.x() + 3]
            hits += bool(near(patch, theme.HIGHLIGHT, tol=12).any())
        return hits / len(exterior)

    assert border_hits(taoxi) > 0.8
    assert border_hits(code_of(queries, "桐琴镇")) < 0.1


# ------------------------------------------------------------------------------ lifetime
def test_reload_rebuilds_geometry_for_the_new_snapshot(panel, ctx, warehouse):
    old = dict(panel.choropleth.paths)
    ctx.set_queries(Queries(open_current(warehouse)))
    new = panel.choropleth.paths
    assert new.keys() == old.keys()
    assert all(new[code] is not old[code] for code in old)
    assert len(panel.colors) == 18


def test_a_closed_panel_stops_following_the_selection(ctx, queries, qtbot):
    widget = MapPanel(ctx)
    qtbot.addWidget(widget)
    widget.show()
    widget.close()
    ctx.select(region=code_of(queries, "桃溪镇"))
    assert widget.highlighted_region is None
    widget.deleteLater()
    qtbot.wait(1)
    ctx.select(region=ctx.county_code)   # a deleted panel must not be called
